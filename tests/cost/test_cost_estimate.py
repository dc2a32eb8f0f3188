"""Cost estimates worked out by hand from the documented formulas, and target profiles.

The hand-worked tests restate ``automl/cost``'s accounting in the test's own
words: exact bytes from the C types of the generated library (literal
numbers), calibrated parts as "these terms times the constants in
``constants.json``" with the terms listed by hand (call sites, executions of
each ``kp_features.h`` function), so a recalibration moves both sides but a
change of the formulas does not go unnoticed. ``test_cost_measured.py``
compares the estimates with real builds.
"""

from __future__ import annotations

import json

import pytest

import automl

from automl.cost import (CostEstimate, PipelineShape, TargetProfile, estimate_cost, list_targets, load_constants,
                         load_target)
from automl.cost import _model as M
from automl.cost._targets import TARGETS_DIR
from automl.errors import ConfigError

C = load_constants()
M4F_80 = TargetProfile(name="t80", clock_mhz=80, flash_bytes=65536, ram_bytes=16384, latency_ms=10)
CHANNELS = ("accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ")
CLASSES = ("NoActivity", "jab", "hook")

# One small pipeline: 100-sample sliding windows of 6 channels; 4 selected features on
# 3 channels, one of them a magnitude, two of them percentiles of one channel; MLP 4 -> 8 -> 3.
FEATURES = ("Statistical.mean[accX]", "Statistical.std[accMag]", "Statistical.p25[gyrY]", "Statistical.iqr[gyrY]")


def _shape(q: str = "int8", features=FEATURES, layers=(8, 3), w: int = 100, **kw) -> PipelineShape:
    return PipelineShape(window_size=w, slide=50, n_channels=6, selected_features=tuple(features),
                         layers=tuple(layers), quantization=q, channels=CHANNELS, class_names=CLASSES[:layers[-1]],
                         study="s", dataset="d", **kw)


def _strings(*names: str) -> int:
    """Bytes of NUL-terminated string literals (equal ones merged)."""
    return sum(len(s.encode()) + 1 for s in set(names))


def _code(sites: dict[str, int], base: str, n_features: int, extra: dict | None = None) -> float:
    """base + per feature + per C function: inlined copies, or one outlined copy + call sites."""
    k, thr = C["code"], C["thresholds"]
    total = k[base] + n_features * k["feature"]
    for f, n in sites.items():
        if n >= thr.get(f, 1 << 30):
            total += k.get(f"outlined:{f}", 0) + n * k.get(f"site:{f}", 0)
        else:
            total += n * k.get(f"inline:{f}", 0)
    for term, n in (extra or {}).items():
        total += n * k.get(term, 0)
    return total


def _share(q: str) -> float:
    """The fitted base code is split in proportion to the components compiled alone."""
    comp = C["components"]
    return min(1.0, C["code"][f"base:{q}"] / (comp[f"inference_{q}"] + comp["segmenter_sliding"] + comp[f"scaler_{q}"]))


def test_layout_constants_are_the_c_structs():
    # Fixed structures of the generated code, fitted from the builds, equal the C layouts (4-byte fields).
    assert C["layout"] == {
        "int8_layer_struct": 10 * 4,      # kp_fc_int8_layer_t: n_in, n_out, 4 pointers, 4 int32
        "int8_model_struct": 3 * 4 + 4 * 4,  # kp_softmax_int8_t (3 int32) + kp_mlp_int8_t (4 fields)
        "float32_layer_struct": 6 * 4,    # kp_fc_f32_layer_t
        "float32_model_struct": 5 * 4,    # kp_mlp_f32_t
        "model_info_struct": 20 * 4,      # kp_model_info_t: 20 fields
        "int8_softmax_table": 7 * 4,      # exp barrel of kp_q_exp_neg_q5_26
        "segmenter_struct": 22 * 4,       # kp_seg_t without its arrays
        "globals": C["layout"]["globals"],
    }
    # kp.c's start, class and ready (3 words), plus the padding after its byte arrays.
    assert 3 * 4 <= C["layout"]["globals"] <= 3 * 4 + 3


def test_hand_worked_int8():
    c = estimate_cost(_shape("int8"), M4F_80)
    w, k, n_ch = 100, 4, 6
    f, r, cy = c.breakdown["flash"], c.breakdown["ram"], c.breakdown["cycles"]
    # Network 4 -> 8 -> 3, int8: weights (rows padded to 4 B), int32 bias + multiplier, int8 shift, layer struct.
    # 4->8: 32 + 64 + 8 + 40 = 144; 8->3: 24 + 24 + 4 + 40 = 92; softmax + model structs 28 -> 264.
    assert f["model_constants"] == 264
    # Scaler: its code plus float32 min and max per feature (8 * 4 = 32).
    assert f["scaler"] == round(C["components"]["scaler_int8"] * _share("int8") + 32)
    # Strings (classes with "unknown", channels, feature names, info) and tables
    # (4 B per feature name pointer, 8 B per channel, 4 B per class id, info struct 80, softmax table 28).
    names = _strings("unknown", *CLASSES, *CHANNELS, *FEATURES, "sliding", "int8", "tinyml-automl",
                     automl.__version__, "s", "d")
    # unknown 8 + NoActivity 11 + jab 4 + hook 5; 6 channels x 5; feature names 23 + 24 + 22 + 22;
    # sliding 8 + int8 5; tinyml-automl 14, the version, s 2, d 2.
    assert names == 28 + 30 + 91 + 13 + 14 + len(automl.__version__) + 1 + 4
    assert f["metadata"] == names + 4 * k + 8 * n_ch + 4 * 4 + 80 + 28
    # Code: each generator called once; kp_sort_copy twice (p25, iqr), kp_percentile_sorted three times.
    sites = {"statistical_mean": 1, "statistical_std": 1, "statistical_p25": 1, "statistical_iqr": 1,
             "_mean": 1, "_sum": 1, "_variance": 1, "_center": 1, "sort_copy": 2, "percentile_sorted": 3,
             "magnitude": 1}
    code = _code(sites, "base:int8", k)
    assert c.flash_bytes == pytest.approx(code + 264 + 32 + f["metadata"], abs=len(f))  # components rounded
    # RAM: int16 ring 2*W*C = 1200; float window copy 4*W*C = 2400; segmenter state 88 + 4 (detection
    # ring of 1) + 4 (pending queue of 1) + kp.c's globals G (12 + padding); accMag 4*W = 400 + one sort buffer 400;
    # features float + uint8 + int8 input 4*4 + 4 + 4 = 24; network scratch 2*8+1, logits 3, output 3 = 23.
    G = C["layout"]["globals"]
    assert r["window_buffer"] == 1200 and r["window_copy"] == 2400 and r["segmenter_state"] == 96 + G
    assert r["feature_scratch"] == 800 and r["feature_vector"] == 24 and r["activations"] == 23
    stack = C["stack"]["stack:int8"] + sum(C["stack"].get(f"frame:{fn}", 0) for fn, n in sites.items()
                                           if n >= C["thresholds"].get(fn, 1 << 30))
    assert r["stack"] == round(stack)
    assert c.ram_bytes == 1200 + 2400 + 96 + G + 800 + 24 + 23 + round(stack)
    # Instructions of one classifying call: ingest of the sample, copy, per executed function
    # W and call terms, insertion-sort moves (2 sorts of W(W-1)/4 expected moves), network.
    moves = 2 * C["sort_shift_fraction"]["value"] * w * (w - 1) / 4
    executed = {"statistical_mean": 1, "_mean": 1, "_sum": 1, "statistical_std": 1, "_variance": 1, "_center": 1,
                "statistical_p25": 1, "statistical_iqr": 1, "sort_copy": 2, "percentile_sorted": 3}
    terms = {"call:int8": 1, "ingest:sliding": 1, "ingest:C": n_ch, "copy:WC": w * n_ch, "copy:W": w,
             "feature:int8": k, "magnitude:W": w, "magnitude:1": 1, "sort:shift": moves,
             "mac:int8": 4 * 8 + 8 * 3, "out:int8": 8 + 3, "layer:int8": 2, "class:int8": 3}
    for fn, n in executed.items():
        terms[f"W:{fn}"], terms[f"1:{fn}"] = w * n, n
    insns = sum(n * C["classify"].get(t, 0) for t, n in terms.items())
    assert c.breakdown["instructions"] == round(insns)
    assert c.cycles == pytest.approx(insns * C["cpi"]["value"], abs=4)  # four groups, each rounded
    assert c.cycles == sum(cy.values())
    assert c.latency_ms == pytest.approx(c.cycles / 80_000, rel=1e-12)  # 80 MHz = 80,000 cycles per ms
    ingest = C["ingest"]["ingest:sliding"] + n_ch * C["ingest"]["ingest:C"]
    assert c.breakdown["ingest_cycles_per_sample"] == round(ingest * C["cpi"]["value"])
    assert c.breakdown["runtime"] == "automl-c"


def test_hand_worked_float32_differs_in_model_parts():
    i8, f32 = estimate_cost(_shape("int8"), M4F_80), estimate_cost(_shape("float32"), M4F_80)
    # float32: 4 B per weight and bias + layer struct 24; model struct 20:
    # 4*(32+8) + 24 = 184; 4*(24+3) + 24 = 132; + 20 = 336.
    assert f32.breakdown["flash"]["model_constants"] == 336
    assert f32.breakdown["flash"]["inference_code"] == round(C["components"]["inference_float32"] * _share("float32"))
    # float buffers: input 4*4 -> feature vector 16 + 4 + 16 = 36; scratch 4*(2*8+1) + logits/output 4*3*2 = 92.
    assert f32.breakdown["ram"]["feature_vector"] == 36 and f32.breakdown["ram"]["activations"] == 92
    for part in ("window_buffer", "window_copy", "segmenter_state", "feature_scratch"):
        assert f32.breakdown["ram"][part] == i8.breakdown["ram"][part]
    assert f32.breakdown["cycles"]["features"] == i8.breakdown["cycles"]["features"]
    # The int8 softmax table (28 B) and name "int8" (5 B) vs "float32" (8 B).
    assert f32.breakdown["flash"]["metadata"] == i8.breakdown["flash"]["metadata"] - 28 + 3


def test_threshold_segmenter_state_and_ingest():
    thr = _shape(segmenter="threshold", threshold_column="accMag", threshold_mode="std", detection_window=10,
                 lookback=30)
    c = estimate_cost(thr, M4F_80)
    # Detection ring of D = 10 floats, pending queue of (W-1-lookback)//slide + 1 = 69//50 + 1 = 2 starts.
    assert c.breakdown["ram"]["segmenter_state"] == 88 + 4 * 10 + 4 * 2 + C["layout"]["globals"]
    g = C["ingest"]
    ingest = g["ingest:threshold"] + 6 * g["ingest:C"] + g["detect:magnitude"] + g["detect:std"] + 10 * g["detect:D"]
    assert c.breakdown["ingest_cycles_per_sample"] == round(ingest * C["cpi"]["value"])
    seg = C["components"]["segmenter_sliding"] * _share("int8") + sum(C["code"].get(t, 0) for t in
                                                                       ("seg:threshold", "seg:std", "seg:magnitude"))
    assert c.breakdown["flash"]["segmenter_code"] == round(seg)


def test_post_processing_state_code_and_vote_instructions():
    base = estimate_cost(_shape(), M4F_80)
    post = estimate_cost(_shape(vote=5, refractory=150), M4F_80)
    # RAM, from the C types: kp_post_t = 7 words + the int8 ring of 5 decisions padded to 8 bytes,
    # plus kp.c's emitted output and window count (2 words): 28 + 8 + 8 = 44.
    assert post.breakdown["ram"]["postprocessing"] == 44 and base.breakdown["ram"]["postprocessing"] == 0
    assert post.ram_bytes - base.ram_bytes == 44 + round(C["stack"]["post:int8"])
    assert M.post_ram(32, 0) == 28 + 32 + 8 and M.post_ram(1, 1) == 28 + 4 + 8 and M.post_ram(1, 0) == 0
    # Flash: one block of code, whatever the settings (kp_post.h inlined, reset, two accessors).
    assert post.breakdown["flash"]["postprocessing"] == round(C["code"]["post"])
    assert post.flash_bytes - base.flash_bytes == pytest.approx(C["code"]["post"], abs=1)
    # Instructions of a classifying call: a fixed part, the vote's outer loop over 5 kept decisions and
    # its inner compares, 5 x 5; nothing on the other calls.
    k = C["classify"]
    insns = k["post:window"] + 5 * k["post:vote"] + 25 * k["post:vote2"]
    assert post.breakdown["instructions"] - base.breakdown["instructions"] == pytest.approx(insns, abs=1)
    assert post.breakdown["ingest_cycles_per_sample"] == base.breakdown["ingest_cycles_per_sample"]
    # The vote's cost grows with vote^2; refractory alone pays only the fixed part and a kept decision.
    ins = {v: estimate_cost(_shape(vote=v, refractory=100), M4F_80).breakdown["instructions"] for v in (1, 3, 7, 32)}
    assert ins[1] - base.breakdown["instructions"] == pytest.approx(k["post:window"] + k["post:vote"]
                                                                    + k["post:vote2"], abs=1)
    assert ins[32] - ins[7] == pytest.approx(25 * k["post:vote"] + (32 ** 2 - 7 ** 2) * k["post:vote2"], abs=1)
    # The identity post-processing costs nothing: the export generates no code for it.
    assert estimate_cost(_shape(vote=1, refractory=0), M4F_80).as_dict() == base.as_dict()


def test_each_percentile_sorts_its_own_copy_in_one_buffer():
    w = 60
    two = estimate_cost(_shape(features=("Statistical.p25[accX]", "Statistical.p75[accX]"), layers=(3,), w=w), M4F_80)
    one = estimate_cost(_shape(features=("Statistical.p25[accX]",), layers=(3,), w=w), M4F_80)
    # kp_statistical_p25 and _p75 each sort the window into the one scratch buffer (4*W bytes).
    assert two.breakdown["ram"]["feature_scratch"] == one.breakdown["ram"]["feature_scratch"] == 4 * w
    moves = C["sort_shift_fraction"]["value"] * w * (w - 1) / 4
    per_sort = moves * C["classify"]["sort:shift"]
    assert two.breakdown["instructions"] - one.breakdown["instructions"] > per_sort


def test_magnitude_is_computed_once_per_channel():
    w = 100
    same = estimate_cost(_shape(features=("Statistical.mean[accMag]", "Statistical.max[accMag]"), layers=(3,)), M4F_80)
    two = estimate_cost(_shape(features=("Statistical.mean[accMag]", "Statistical.max[gyrMag]"), layers=(3,)), M4F_80)
    none = estimate_cost(_shape(features=("Statistical.mean[accX]", "Statistical.max[gyrX]"), layers=(3,)), M4F_80)
    assert same.breakdown["ram"]["feature_scratch"] == 4 * w
    assert two.breakdown["ram"]["feature_scratch"] == 2 * 4 * w
    assert none.breakdown["ram"]["feature_scratch"] == 0
    per_mag = (w * C["classify"]["magnitude:W"] + C["classify"]["magnitude:1"])
    assert two.breakdown["instructions"] - same.breakdown["instructions"] == pytest.approx(per_mag, abs=1)
    assert same.breakdown["instructions"] - none.breakdown["instructions"] == pytest.approx(per_mag, abs=1)


def test_dft_features_cost_window_times_bins():
    w = 64
    dom = estimate_cost(_shape(features=("Frequency.dominant_freq[accX]",), layers=(3,), w=w), M4F_80)
    band = estimate_cost(_shape(features=("Frequency.band_energy_1of4[accX]",), layers=(3,), w=w), M4F_80)
    # dominant_freq: bins 1..W/2 = 32; band 1 of 4: bins 1 + 32//4 .. 1 + 64//4 - 1 = 9..16 = 8.
    assert M.parse_feature("Frequency.band_energy_1of4[accX]").dft_bins(w) == 8
    k = C["classify"]
    diff = (32 - 8) * (w * k["dft:WB"] + k["dft:B"]) + k["W:frequency_dominant_freq"] * w \
        + k["1:frequency_dominant_freq"] - k["W:frequency_band_energy"] * w - k["1:frequency_band_energy"]
    assert dom.breakdown["instructions"] - band.breakdown["instructions"] == pytest.approx(diff, abs=1)
    # Both need the cos/sin tables: 2 * 4 * W bytes.
    assert dom.breakdown["flash"]["feature_code"] - round(_code({"frequency_dominant_freq": 1, "_center": 1,
                                                                  "_dft_power": 1}, "base:int8", 1)
                                                            - C["code"]["base:int8"]) == pytest.approx(8 * w, abs=1)


def test_every_registered_generator_is_costed():
    from automl.features import FeatureContext, available_families, get_generators

    ctx = FeatureContext(frequency_bands=4)
    for fam in available_families():
        for g in get_generators(fam):
            for out in g.output_names(ctx):
                use = M.parse_feature(g.feature_name("accX", out))
                assert use.function == g.c_function.removeprefix("kp_"), g
                terms = M.classify_terms([use], 50, 6, [1, 3], "int8", "sliding", None, None, 1, 0.0)
                assert terms[f"W:{use.function}"] == 50
                assert f"W:{use.function}" in C["classify"], f"{g.c_function} was not calibrated"


def test_outlining_follows_call_counts():
    thr = {"statistical_kurtosis": 2, "_center": 3}
    one = M.call_structure([M.parse_feature("Statistical.kurtosis[accX]")], thr)
    two = M.call_structure([M.parse_feature(f"Statistical.kurtosis[{c}]") for c in ("accX", "accY")], thr)
    assert one == ({"statistical_kurtosis": 1, "_center": 1}, {"statistical_kurtosis": False, "_center": False})
    # Two call sites: kurtosis is kept out of line, so its kp__center call exists once (inside the copy).
    assert two == ({"statistical_kurtosis": 2, "_center": 1}, {"statistical_kurtosis": True, "_center": False})


def test_tflite_micro_target_replaces_the_network():
    shape = _shape()
    c = estimate_cost(shape, M4F_80)
    tflm = estimate_cost(shape, M4F_80.model_copy(update={"runtime": "tflite-micro"}))
    tf = C["tflite_micro"]
    widths = [4, 8, 3]
    tflite = sum(n * tf["tflite"].get(t, 0) for t, n in M.tflite_terms(widths, "int8").items())
    arena = sum(n * tf["arena"].get(t, 0) for t, n in M.arena_terms(widths, "int8").items())
    f, r = tflm.breakdown["flash"], tflm.breakdown["ram"]
    assert "model_constants" not in f and "activations" not in r
    assert f["model_tflite"] == round(tflite) and r["tflm_arena"] == round(arena)
    assert f["tflm_interpreter"] == 16384 == tf["interpreter_code_bytes"]
    assert tflm.flash_bytes == pytest.approx(c.flash_bytes - 264 + tflite + 16384, abs=3)
    assert tflm.cycles == c.cycles
    assert tflm.breakdown["runtime"] == "tflite-micro"


def test_latency_scales_with_clock():
    shape = _shape()
    nrf = load_target("nrf52840")  # 64 MHz
    c80, c64 = estimate_cost(shape, M4F_80), estimate_cost(shape, nrf)
    assert c80.cycles == c64.cycles
    assert c64.latency_ms == pytest.approx(c64.cycles / 64_000, rel=1e-12)


def test_from_pipeline_reads_pipeline_json():
    pj = {"channels": list(CHANNELS), "classes": list(CLASSES), "selected_names": list(FEATURES), "layers": [8],
          "quantization": "int8", "unknown_threshold": 0.0, "study": "s", "dataset": "d",
          "segmenter": {"kind": "threshold", "window_size": 100, "slide": 50, "column": "accMag", "mode": "std",
                        "detection_window": 10, "threshold": 3.0, "lookback": 30, "quantile": 0.9}}
    s = PipelineShape.from_pipeline(pj)
    assert s == _shape(segmenter="threshold", threshold_column="accMag", threshold_mode="std", detection_window=10,
                       lookback=30)
    assert PipelineShape.from_pipeline({**pj, "vote": 5, "refractory": 150}) == _shape(
        segmenter="threshold", threshold_column="accMag", threshold_mode="std", detection_window=10, lookback=30,
        vote=5, refractory=150)


@pytest.mark.parametrize("kwargs, match", [
    ({"quantization": "int4"}, "unknown quantization 'int4'"),
    ({"selected_features": ("mean_accX",)}, "'mean_accX' is not of the form"),
    ({"selected_features": ("Other.zcr[accX]",)}, "knows no C function kp_other_zcr"),
    ({"segmenter": "threshold"}, "'threshold_mode' parameter of PipelineShape must be one of"),
    ({"window_size": 0}, "'window_size' parameter of PipelineShape must be an integer >= 1"),
    ({"class_names": ("a", "b")}, "'class_names' parameter of PipelineShape must be 3 names"),
    ({"vote": 33}, r"'vote' parameter of PipelineShape must be an integer in \[1, 32\]"),
    ({"refractory": -1}, "'refractory' parameter of PipelineShape must be an integer >= 0"),
])
def test_estimate_errors(kwargs, match):
    base = dict(window_size=100, slide=50, n_channels=6, selected_features=("Statistical.mean[accX]",),
                layers=(3,), quantization="int8")
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        estimate_cost(PipelineShape(**base), M4F_80)


# -- constants ------------------------------------------------------------------


def test_constants_say_how_they_were_obtained():
    for section in ("layout", "thresholds", "code", "stack", "classify", "ingest", "components", "post"):
        assert C["docs"][section]
    assert "minus its base build" in C["post"]["method"]
    assert C["post"]["validation"]["ram_exact_pairs"] == C["post"]["validation"]["pairs"] > 0
    assert "DDI 0439" in C["cpi"]["source"] and C["cpi"]["value_if_refill_1"] < C["cpi"]["value"] \
        < C["cpi"]["value_if_refill_3"]
    assert "16KB on a Cortex M3" in C["tflite_micro"]["interpreter_source"]
    assert C["sort_shift_fraction"]["source"]
    assert C["toolchain"]["arm-none-eabi-gcc"] and "-Os" in C["toolchain"]["flags"]
    v = C["validation"]
    assert v["static_ram_bytes"]["max_abs_bytes_off"] <= 8


def test_missing_constants_file_says_how_to_make_it(tmp_path):
    with pytest.raises(ConfigError, match=r"missing.*benchmarks/calibrate_cost\.py"):
        load_constants(str(tmp_path / "constants.json"))
    bad = tmp_path / "old.json"
    bad.write_text('{"version": 0}')
    with pytest.raises(ConfigError, match="format version 0"):
        load_constants(str(bad))
    no_post = tmp_path / "no_post.json"  # calibrated before post-processing existed: refused, not costed as 0
    no_post.write_text(json.dumps({k: v for k, v in C.items() if k != "post"}))
    with pytest.raises(ConfigError, match=r"lack \['post'\]"):
        load_constants(str(no_post))


# -- over_budget ------------------------------------------------------------


def test_over_budget_is_strict_and_names_each_budget():
    target = TargetProfile(name="t", clock_mhz=80, flash_bytes=1000, ram_bytes=500, latency_ms=10)
    assert CostEstimate(1000, 500, 800_000, 10.0).over_budget(target) == []  # equal fits
    assert CostEstimate(1001, 500, 0, 10.0).over_budget(target) == ["flash 1001 B > 1000 B"]
    assert CostEstimate(1000, 501, 0, 10.0).over_budget(target) == ["RAM 501 B > 500 B"]
    assert CostEstimate(1000, 500, 0, 10.25).over_budget(target) == ["latency 10.250 ms > 10.0 ms"]
    assert CostEstimate(2000, 600, 0, 11.0).over_budget(target) == [
        "flash 2000 B > 1000 B", "RAM 600 B > 500 B", "latency 11.000 ms > 10.0 ms"]


def test_small_pipeline_fits_shipped_targets():
    c = estimate_cost(_shape(), M4F_80)
    for name in list_targets():
        assert c.over_budget(load_target(name)) == [], name


# -- target profiles --------------------------------------------------------


@pytest.mark.parametrize("name, clock, flash, ram", [
    ("cortex-m4f-80mhz", 80.0, 65536, 16384),
    ("nrf52840", 64.0, 131072, 32768),
    ("stm32l4", 80.0, 131072, 32768),
])
def test_shipped_targets(name, clock, flash, ram):
    t = load_target(name)
    assert (t.name, t.core, t.clock_mhz, t.flash_bytes, t.ram_bytes, t.latency_ms, t.runtime) == (
        name, "cortex-m4f", clock, flash, ram, 10.0, "automl-c")
    assert t.description
    # Loading by path gives the same profile.
    assert load_target(TARGETS_DIR / f"{name}.yaml") == t


def test_shipped_tflite_micro_target():
    t = load_target("nrf52840-tflm")
    assert (t.runtime, t.clock_mhz, t.core) == ("tflite-micro", 64.0, "cortex-m4f")
    assert t.flash_bytes > 16384  # room for the interpreter


def test_list_targets():
    assert list_targets() == ["cortex-m4f-80mhz", "nrf52840", "nrf52840-tflm", "stm32l4"]


def test_unknown_target_lists_shipped_ones():
    with pytest.raises(ConfigError, match=r"target profile 'nope' not found.*cortex-m4f-80mhz, nrf52840"):
        load_target("nope")


def test_missing_target_file(tmp_path):
    path = tmp_path / "mine.yaml"
    with pytest.raises(ConfigError, match="not found") as info:
        load_target(path)
    assert str(path) in str(info.value)


GOOD = "clock_mhz: 48\nflash_bytes: 1000\nram_bytes: 500\nlatency_ms: 5\n"


def test_target_from_own_file_defaults_name_to_stem(tmp_path):
    path = tmp_path / "board.yaml"
    path.write_text(GOOD)
    t = load_target(path)
    assert (t.name, t.clock_mhz, t.flash_bytes, t.ram_bytes, t.latency_ms, t.core, t.runtime) == (
        "board", 48.0, 1000, 500, 5.0, "cortex-m4f", "automl-c")


@pytest.mark.parametrize("text, field, what", [
    ("flash_bytes: 1000\nram_bytes: 500\nlatency_ms: 5\n", "clock_mhz", "Field required"),
    (GOOD.replace("flash_bytes: 1000", "flash_bytes: 0"), "flash_bytes", "greater than 0"),
    (GOOD.replace("latency_ms: 5", "latency_ms: soon"), "latency_ms", "valid number"),
    (GOOD + "flash_kb: 64\n", "flash_kb", "Extra inputs are not permitted"),
    (GOOD + "runtime: cmsis-nn\n", "runtime", "'automl-c' or 'tflite-micro'"),
    ("", "clock_mhz", "Field required"),
])
def test_bad_target_field_names_file_and_field(tmp_path, text, field, what):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_target(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: field '{field}'"), msg
    assert what in msg


def test_bad_target_yaml_names_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("clock_mhz: [80\n")
    with pytest.raises(ConfigError, match="not valid YAML") as info:
        load_target(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_target_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 80\n- 1000\n")
    with pytest.raises(ConfigError, match="must be a mapping") as info:
        load_target(path)
    assert str(path) in str(info.value)
