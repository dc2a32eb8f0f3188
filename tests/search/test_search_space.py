"""Search spaces: the shipped YAML files, every kind of bad space, and sampling."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest

from automl.errors import ConfigError
from automl.search import SearchSpace, load_space
from automl.search._space import Range, suggest, suggest_all

SPACES = Path(__file__).resolve().parents[2] / "search_spaces"
SEG_PARAMS = ["segmenter", "window_size", "slide", "thr_column", "thr_mode", "thr_quantile",
              "thr_detection_window", "thr_lookback"]
MODEL_PARAMS = ["magnitude", "k", "n_layers", "units_l1", "units_l2", "units_l3", "dropout", "learning_rate",
                "quantization"]
BOXING_FAMILIES = ["family_Statistical", "family_Shape", "family_ColumnFusion", "family_Area",
                   "family_RateOfChange", "family_Frequency"]
POST_PARAMS = ["vote", "refractory", "unknown_threshold"]
PARAM_ORDER = SEG_PARAMS + BOXING_FAMILIES + MODEL_PARAMS + POST_PARAMS

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _r(low, high, step=None, log=False, integer=True) -> Range:
    return Range(low=low, high=high, step=step, log=log, integer=integer)


def test_boxing_space():
    s = load_space(SPACES / "boxing.yaml")
    assert isinstance(s, SearchSpace)
    assert s.name == "boxing"
    assert (s.data.background, s.data.test_glob, s.data.label_column) == (
        "NoActivity", "acc_gyr_experiment_all_*", "label")
    assert s.segmentation.window_size == _r(60, 240, step=20)
    assert s.objective == "event_f1"
    assert s.segmentation.kind == ["sliding", "threshold"]
    assert s.segmentation.slide == _r(10, 80, step=10)
    thr = s.segmentation.threshold
    assert (thr.column, thr.mode) == (["accMag", "gyrMag"], ["absolute", "std"])
    assert thr.quantile == _r(0.6, 0.98, integer=False)
    assert thr.detection_window == _r(5, 25, step=5) and thr.lookback == _r(0, 80, step=10)
    assert s.features.families == {"Statistical": True, "Shape": [True, False], "ColumnFusion": [True, False],
                                   "Area": [True, False], "RateOfChange": [True, False],
                                   "Frequency": [True, False]}
    assert s.features.frequency_bands == 4
    assert s.features.magnitude == [True, False]
    assert s.features.k == _r(4, 32)
    assert s.features.n_estimators == 100
    assert s.model.n_layers == _r(0, 3)  # 0: a linear softmax classifier
    assert s.model.units == _r(4, 32, log=True)
    assert s.model.dropout == _r(0.0, 0.3, integer=False)
    assert s.model.learning_rate == _r(0.001, 0.02, log=True, integer=False)
    assert (s.model.epochs, s.model.batch_size, s.model.patience) == (100, 64, 10)
    assert s.quantization == ["int8", "float32"]
    assert s.target == "cortex-m4f-80mhz"
    assert (s.search.cv_folds, s.search.population_size) == (4, 48)
    assert (s.search.sampler, s.search.cost_resolution) == ("nsga2", 0.01)
    assert (s.search.group_by, s.search.validation, s.search.seeds) == (["side", "speed"], "auto", 3)
    assert s.search.validation_rotation == 30.0  # each validation capture turned by up to 30 degrees
    assert s.data.name_metadata == "_(?P<side>left|right)(_(?P<speed>fast|slow))?$"
    assert s.postprocess.vote == [1, 3, 5, 7]
    assert s.postprocess.refractory == _r(0, 300, step=10)  # up to 3 s at 100 Hz: longer than any punch
    assert s.postprocess.unknown_threshold == _r(0.0, 0.8, integer=False)
    p = s.parameters()
    assert list(p) == PARAM_ORDER
    assert p["units_l1"] == p["units_l2"] == p["units_l3"] == _r(4, 32, log=True)


def test_basic_motions_space():
    s = load_space(SPACES / "basic-motions.yaml")
    assert s.name == "basic-motions"
    assert s.data.test_glob == "test_*"
    assert s.segmentation.window_size == _r(20, 100, step=10)
    assert s.segmentation.slide == _r(10, 50, step=10)
    assert s.features.k == _r(4, 24)
    assert s.features.n_estimators == 50
    assert s.model.n_layers == _r(0, 2)
    assert s.search.validation_rotation == 0.0  # the default: validation captures as recorded
    assert s.model.units == _r(4, 16, log=True)
    assert s.model.dropout == _r(0.0, 0.2, integer=False)
    assert s.model.learning_rate == _r(0.002, 0.02, log=True, integer=False)
    assert (s.model.epochs, s.model.batch_size, s.model.patience) == (60, 32, 8)
    assert (s.search.cv_folds, s.search.population_size) == (3, 8)
    assert s.objective == "window_f1"
    # At most 2 layers: no units_l3 parameter at all.
    assert list(s.parameters()) == SEG_PARAMS + ["family_Statistical", "family_Shape", "family_RateOfChange",
                                                 "family_Frequency"] + [p for p in MODEL_PARAMS if p != "units_l3"] \
        + POST_PARAMS


def test_minimal_space_defaults_and_name_from_stem(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("segmentation:\n  window_size: 100\n  slide: 50\n")
    s = load_space(path)
    assert s.name == "mine"
    assert s.parameters() == {
        "segmenter": "sliding", "window_size": 100, "slide": 50, "thr_column": "accMag", "thr_mode": "std",
        "thr_quantile": 0.9, "thr_detection_window": 10, "thr_lookback": 20, "family_Statistical": True,
        "magnitude": True, "k": 16, "n_layers": 2,
        "units_l1": 12, "units_l2": 12, "dropout": 0.1, "learning_rate": 3e-3,
        "quantization": "int8", "vote": 1, "refractory": 0, "unknown_threshold": 0.0,
    }
    assert s.fixed() == s.parameters()  # nothing is searched
    # The parameters a trial uses: the threshold's only with the threshold segmenter.
    assert list(s.complete({})) == ["segmenter", "window_size", "slide", "family_Statistical", "magnitude", "k",
                                    "n_layers", "units_l1", "units_l2", "dropout", "learning_rate", "quantization",
                                    "vote", "refractory", "unknown_threshold"]
    assert s.target == "cortex-m4f-80mhz" and s.search.cv_folds == 3


def test_range_kind_int_vs_float():
    assert Range(low=1, high=3).integer is True
    assert Range(low=1, high=3.5).integer is False
    assert Range(low=0.0, high=1.0).integer is False
    assert Range(low=1, high=3, integer=False).integer is False  # explicit wins


# -- bad spaces -------------------------------------------------------------

SEG = "segmentation:\n  window_size: 100\n  slide: 50\n"

BAD = {
    "unknown top-level key": (SEG + "epochs: 5\n", "epochs", "Extra inputs are not permitted"),
    "unknown nested key": (SEG + "features:\n  magnitudes: true\n", "features.magnitudes",
                           "Extra inputs are not permitted"),
    "missing segmentation": ("name: x\n", "segmentation", "Field required"),
    "epochs below 1": (SEG + "model:\n  epochs: 0\n", "model.epochs", "greater than or equal to 1"),
    "cv_folds below 2": (SEG + "search:\n  cv_folds: 1\n", "search.cv_folds", "greater than or equal to 2"),
    "validation rotation above 180": (SEG + "search:\n  validation_rotation: 200\n", "search.validation_rotation",
                                      "less than or equal to 180"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_space_names_file_and_key(tmp_path, case):
    text, key, what = BAD[case]
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_space(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: key '{key}': "), msg
    assert what in msg
    assert "\n" not in msg


RANGE_BAD = {
    "high below low": ("segmentation:\n  window_size: {low: 100, high: 20}\n  slide: 50\n",
                       "segmentation.window_size", "high (20.0) must be >= low (100.0)"),
    "log with low 0": (SEG + "model:\n  learning_rate: {low: 0.0, high: 0.1, log: true}\n",
                       "model.learning_rate", "a log range needs low > 0"),
    "log with negative low": (SEG + "model:\n  units: {low: -4, high: 32, log: true}\n",
                              "model.units", "a log range needs low > 0"),
    "step with log": (SEG + "model:\n  units: {low: 4, high: 32, step: 2, log: true}\n",
                      "model.units", "a range cannot have both step and log"),
    "unknown range key": ("segmentation:\n  window_size: {low: 1, high: 2, stepp: 1}\n  slide: 50\n",
                          "segmentation.window_size.stepp", "Extra inputs are not permitted"),
}


@pytest.mark.parametrize("case", list(RANGE_BAD))
def test_bad_range_mentions_file_and_key(tmp_path, case):
    text, key, what = RANGE_BAD[case]
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_space(path)
    msg = str(info.value)
    assert msg.startswith(str(path)), msg
    parts = key.split(".")
    assert ".".join(parts[:2]) in msg and all(p in msg for p in parts), msg
    assert what in msg


@pytest.mark.parametrize("case", list(RANGE_BAD))
def test_bad_range_key_is_exactly_the_yaml_path(tmp_path, case):
    text, key, _ = RANGE_BAD[case]
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_space(path)
    assert f": key '{key}': " in str(info.value)


def test_bad_integer_flag_names_integer_key(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("segmentation:\n  window_size: {low: 1, high: 10, integer: maybe}\n  slide: 50\n")
    with pytest.raises(ConfigError, match=r"segmentation\.window_size\.integer"):
        load_space(path)


@pytest.mark.parametrize("param", [
    "{low: 10, high: 100, step: -10}",
    "{low: 10, high: 100, step: 0}",
    "{low: 10, high: 100, step: 0.5}",
    "[]",
])
def test_unusable_range_is_rejected_at_load(tmp_path, param):
    path = tmp_path / "space.yaml"
    path.write_text(f"segmentation:\n  window_size: {param}\n  slide: 50\n")
    with pytest.raises(ConfigError, match=r"segmentation\.window_size"):
        load_space(path)


def test_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- window_size\n- slide\n")
    with pytest.raises(ConfigError, match="a search space must be a mapping") as info:
        load_space(path)
    assert str(info.value).startswith(str(path))


def _load_error(path: Path, text: str) -> str:
    """The ConfigError message of loading ``text`` as the space ``path``."""
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_space(path)
    return str(info.value)


def test_not_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    # Where, as an editor counts (line 2, column 34 is the '}'), what PyYAML expected there, and where the
    # unclosed '[' is (column 29).
    assert _load_error(path, "name: x\nsegmentation: {window_size: [1, 2}\n") == (
        f"{path}: not valid YAML (line 2, column 34: expected ',' or ']', but got '}}', while parsing a flow sequence "
        "that starts at line 2, column 29)")
    # An unclosed '{' is found lines later: the message says where it was opened.
    assert _load_error(path, "name: x\nsegmentation: {window_size: 100,\n  slide: 50\nmodel: 3\n") == (
        f"{path}: not valid YAML (line 4, column 6: expected ',' or '}}', but got ':', while parsing a flow mapping "
        "that starts at line 2, column 15)")


def test_a_control_character_is_a_yaml_error_naming_the_file(tmp_path):
    path = tmp_path / "ctrl.yaml"
    message = _load_error(path, "name: x\x01\n")
    assert message.startswith(f"{path}: not valid YAML (") and "#x0001" in message and "\n" not in message


def test_a_misspelt_key_is_named_with_the_key_it_was_meant_to_be(tmp_path):
    path = tmp_path / "space.yaml"
    # Both an unknown key and a missing one: the key the user typed is named, the missing one suggested.
    assert _load_error(path, "segmentation:\n  windw_size: 100\n  slide: 50\n") == (
        f"{path}: key 'segmentation.windw_size': Extra inputs are not permitted (got 100); did you mean 'window_size'?")
    # Nothing missing that is close: no suggestion.
    assert _load_error(path, SEG + "features:\n  kk: 8\n") == \
        f"{path}: key 'features.kk': Extra inputs are not permitted (got 8)"


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="not found") as info:
        load_space(path)
    assert str(path) in str(info.value)


# -- suggest ----------------------------------------------------------------


def _study(seed: int = 0) -> optuna.Study:
    return optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))


@pytest.mark.parametrize("space", ["boxing.yaml", "basic-motions.yaml"])
def test_suggest_values_in_ranges_with_right_types(space):
    s = load_space(SPACES / space)
    defs = s.parameters()
    study = _study()
    seen: dict[str, set] = {name: set() for name in defs}
    fixed = {name for name, d in defs.items() if not isinstance(d, (list, Range))}
    # boxing searches everything but the Statistical family; the demo uses a fixed sliding window
    # and no post-processing.
    thr_fixed = {"segmenter", "thr_column", "thr_mode", "thr_quantile", "thr_detection_window", "thr_lookback"}
    demo_fixed = thr_fixed | {"vote", "refractory", "unknown_threshold"}
    assert fixed == {"family_Statistical"} | (demo_fixed if space == "basic-motions.yaml" else set())
    for _ in range(40):
        trial = study.ask()
        values = suggest_all(trial, s)
        # Only the parameters the trial uses: thr_* with the threshold segmenter, units_l<i> up to n_layers.
        threshold = values["segmenter"] == "threshold"
        assert all((n in values) == threshold for n in defs if n.startswith("thr_"))
        assert [n for n in values if n.startswith("units_l")] == [f"units_l{i}" for i in range(1, values["n_layers"] + 1)]
        assert ("dropout" in values) == (values["n_layers"] >= 1)  # dropout follows hidden layers only
        assert trial.params == {n: v for n, v in values.items() if n not in fixed}
        assert s.complete(trial.params) == values  # the study alone rebuilds the trial's parameters
        for name, v in values.items():
            d = defs[name]
            if name in fixed:
                assert v == d
                continue
            seen[name].add(v)
            if isinstance(d, list):
                assert v in d, name
                assert type(v) is type(d[0]), name
            elif d.integer:
                assert type(v) is int, name  # not bool, not float
                assert d.low <= v <= d.high, name
                if d.step:
                    assert (v - d.low) % d.step == 0, name
            else:
                assert type(v) is float, name
                assert d.low <= v <= d.high, name
        study.tell(trial, 0.0)
    # 40 random trials visit both choices of each two-way categorical.
    assert seen["magnitude"] == {True, False}
    assert seen["quantization"] == {"int8", "float32"}
    assert len(seen["window_size"]) > 3


def test_suggest_distributions():
    s = load_space(SPACES / "boxing.yaml")
    trial = _study().ask()
    for name, d in s.parameters().items():
        suggest(trial, name, d)
    dist = trial.distributions
    assert dist["window_size"] == optuna.distributions.IntDistribution(60, 240, step=20)
    assert dist["slide"] == optuna.distributions.IntDistribution(10, 80, step=10)
    assert dist["segmenter"] == optuna.distributions.CategoricalDistribution(["sliding", "threshold"])
    assert dist["thr_quantile"] == optuna.distributions.FloatDistribution(0.6, 0.98)
    assert dist["k"] == optuna.distributions.IntDistribution(4, 32)
    assert dist["units_l2"] == optuna.distributions.IntDistribution(4, 32, log=True)
    assert dist["dropout"] == optuna.distributions.FloatDistribution(0.0, 0.3)
    assert dist["learning_rate"] == optuna.distributions.FloatDistribution(0.001, 0.02, log=True)
    assert dist["magnitude"] == optuna.distributions.CategoricalDistribution([True, False])
    assert dist["quantization"] == optuna.distributions.CategoricalDistribution(["int8", "float32"])


def test_suggest_float_step():
    trial = _study().ask()
    for i in range(20):
        v = suggest(trial, f"x{i}", Range(low=0.0, high=1.0, step=0.25))
        assert type(v) is float and v in {0.0, 0.25, 0.5, 0.75, 1.0}


def test_suggest_fixed_value_is_returned_unsampled():
    trial = _study().ask()
    assert suggest(trial, "window_size", 100) == 100
    assert suggest(trial, "quantization", "int8") == "int8"
    assert suggest(trial, "magnitude", False) is False
    assert suggest(trial, "dropout", 0.25) == 0.25
    assert trial.params == {}


def test_fixed_values_are_the_study_level_part_of_a_trials_parameters():
    s = load_space(SPACES / "basic-motions.yaml")
    assert s.fixed() == {"segmenter": "sliding", "thr_column": "accMag", "thr_mode": "std", "thr_quantile": 0.9,
                         "thr_detection_window": 10, "thr_lookback": 20, "family_Statistical": True,
                         "vote": 1, "refractory": 0, "unknown_threshold": 0.0}
    trial = _study().ask()
    suggest(trial, "window_size", 100)
    assert trial.user_attrs == {} and trial.params == {}


def test_data_reader_keys_group_by_and_the_example_spaces(tmp_path):
    path = tmp_path / "glove.yaml"
    path.write_text("data:\n  format: folders\n  name_metadata: '(?P<subject>S\\d+)_'\n  test_where: {subject: [S12, S13]}\n"
                    "  channels: {accX: gFx, accY: gFy, accZ: gFz}\n  sensors: {acc: [accX, accY, accZ]}\n"
                    "  time_unit: ms\n  resample_hz: 50\n"
                    "segmentation: {window_size: 50, slide: 25}\nsearch: {group_by: [subject, hand]}\n")
    s = load_space(path)
    assert (s.data.format, s.data.test_where, s.data.resample_hz) == ("folders", {"subject": ["S12", "S13"]}, 50.0)
    assert s.data.channels == {"accX": "gFx", "accY": "gFy", "accZ": "gFz"} and s.search.group_by == ["subject", "hand"]
    assert load_space(SPACES / "boxing.yaml").search.group_by == ["side", "speed"]
    assert load_space(SPACES / "boxing-50hz.yaml").data.resample_hz == 50.0
    acc = load_space(SPACES / "boxing-acc.yaml")
    assert acc.data.channels == ["accZ", "accY", "accX"] and acc.segmentation.threshold.column == "accMag"
    for bad, key in [("  resample_hz: 0.5", "data.resample_hz"), ("  time_unit: h", "data.time_unit"),
                     ("  format: csvs", "data"), ("  name_metadata: '(x'", "data"),
                     ("  test_where: {subject: 1}", "data.test_where.subject")]:
        path.write_text(f"data:\n{bad}\nsegmentation: {{window_size: 50, slide: 25}}\n")
        with pytest.raises(ConfigError, match=rf"glove.yaml: key '{key}'"):
            load_space(path)


# -- values every trial would be given, checked at load ------------------------------------------

BASE = "segmentation:\n  window_size: 50\n  slide: 25\n"


@pytest.mark.parametrize("yaml_text, key, rule, got", [
    ("segmentation:\n  window_size: -100\n  slide: 25\n", "segmentation.window_size",
     "must be an integer >= 2 (samples; a window needs 2 to have a spread)", "-100"),
    ("segmentation:\n  window_size: 50\n  slide: 0\n", "segmentation.slide", "must be an integer >= 1 (samples)", "0"),
    (BASE + "features:\n  k: 0\n", "features.k", "must be an integer >= 1", "0"),
    (BASE + "features:\n  k: {low: 0, high: 8}\n", "features.k", "must be an integer >= 1", "0"),
    (BASE + "features:\n  k: {low: 1.5, high: 8.0}\n", "features.k",
     "must be an integer >= 1 (features kept by the selector); a range of it needs integer low and high",
     "low=1.5, high=8.0"),
    (BASE + "model:\n  dropout: 1.5\n", "model.dropout", "must be a number in [0, 1)", "1.5"),
    (BASE + "model:\n  dropout: [0.0, 1.0]\n", "model.dropout", "must be a number in [0, 1)", "1.0"),
    (BASE + "model:\n  learning_rate: 0\n", "model.learning_rate", "must be a number > 0", "0"),
    (BASE + "model:\n  n_layers: 4\n", "model.n_layers", "must be an integer in [0, 3]", "4"),
    (BASE + "quantization: int4\n", "quantization", "must be one of 'int8', 'float32'", "'int4'"),
    (BASE + "quantization: [int8, fp16]\n", "quantization", "must be one of 'int8', 'float32'", "'fp16'"),
    ("segmentation:\n  kind: magic\n  window_size: 50\n  slide: 25\n", "segmentation.kind",
     "must be one of 'sliding', 'threshold'", "'magic'"),
    ("segmentation:\n  window_size: true\n  slide: 25\n", "segmentation.window_size", "must be an integer", "True"),
    ("segmentation:\n  window_size: 50\n  slide: 25\n  threshold: {quantile: 1.2}\n",
     "segmentation.threshold.quantile", "must be a number in [0, 1]", "1.2"),
    ("segmentation:\n  window_size: 50\n  slide: 25\n  threshold: {mode: median}\n",
     "segmentation.threshold.mode", "must be one of 'absolute', 'std'", "'median'"),
    (BASE + "features:\n  families: {Shape: maybe}\n", "features.families.Shape", "must be true or false",
     "'maybe'"),
])
def test_every_value_a_trial_could_get_is_checked_at_load(tmp_path, yaml_text, key, rule, got):
    path = tmp_path / "space.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as info:
        load_space(path)
    text = str(info.value)
    assert text.startswith(f"{path}: key {key!r}: {rule}"), text
    assert f"(got {got})" in text


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_nan_and_infinite_numbers_are_refused(tmp_path, value):
    path = tmp_path / "space.yaml"
    path.write_text(BASE + f"features:\n  k: {{low: {value}, high: 8}}\n")
    with pytest.raises(ConfigError, match=r"key 'features\.k\.low': Input should be a finite number"):
        load_space(path)


def _laughs(levels: int = 9, width: int = 10) -> str:
    lines = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join(f"*a{i - 1}" for _ in range(width)) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("where", ["top", "choices"])
def test_billion_laughs_fails_fast_and_small(tmp_path, where):
    # 10^9 strings once the aliases are expanded, in a file of ~1 KB.
    text = _laughs()
    if where == "top":
        text += BASE + f"name: *a{8}\n"
    else:
        text += "segmentation:\n  window_size: *a8\n  slide: 25\n"
    path = tmp_path / "space.yaml"
    path.write_text(text)
    assert path.stat().st_size < 2000
    with pytest.raises(ConfigError) as info:
        load_space(path)
    m = re.fullmatch(rf"{re.escape(str(path))}: holds ([\d,]+) values once its YAML aliases are expanded, more than "
                     r"100,000; a search space needs no such repetition", str(info.value))
    assert m and int(m.group(1).replace(",", "")) > 10 ** 9  # a8 alone is 111,111,111 strings and lists


def test_a_huge_value_is_not_echoed(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("segmentation:\n  window_size: [" + ", ".join(["-1"] * 50_000) + "]\n  slide: 25\n")
    with pytest.raises(ConfigError) as info:
        load_space(path)
    assert len(str(info.value)) < 300 and "(got -1)" in str(info.value)
    path.write_text(BASE + "name: {" + ", ".join(f"k{i}: {i}" for i in range(5000)) + "}\n")
    with pytest.raises(ConfigError) as info:
        load_space(path)
    assert len(str(info.value)) < 300 and "(got <dict of 5000 items>)" in str(info.value)


def test_too_large_deep_or_not_utf8_files(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_bytes(b"# " + b"x" * (1 << 20) + b"\n" + BASE.encode())
    with pytest.raises(ConfigError, match=r"space\.yaml: 1,048,\d+ bytes is too large for a search space \(at most "
                                          r"1,048,576 bytes\)"):
        load_space(path)
    path.write_bytes(b"name: " + b"[" * 200_000 + b"]" * 200_000 + b"\n")
    with pytest.raises(ConfigError, match="nested too deeply to be a search space"):
        load_space(path)
    path.write_bytes(BASE.encode() + b"name: caf\xe9\n")  # Latin-1
    at = len(BASE) + len("name: caf")  # the offset of the Latin-1 e-acute
    with pytest.raises(ConfigError, match=rf"space\.yaml: not UTF-8 text \(byte {at}: invalid continuation byte\)"):
        load_space(path)
