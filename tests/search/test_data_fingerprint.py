"""A study remembers its data: resuming on other data is refused unless --new-data."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from automl.cli import app
from automl.errors import ConfigError
from automl.search import SearchRequest, load_study, run_search
from automl.search import _runner

SPACE = Path(__file__).with_name("tiny_space.yaml")


@pytest.fixture
def no_trials(monkeypatch):
    """Run the search up to the first trial: no Ray, no training (what is tested happens before)."""
    monkeypatch.setattr(_runner, "_start_ray", lambda req: False)
    monkeypatch.setattr(_runner, "_drive", lambda *a, **k: (0, "trials"))


def _req(root: Path, **kw) -> SearchRequest:
    base = dict(study="s", space_path=SPACE, dataset="basic-motions", root=root, trials=2, progress=False)
    return SearchRequest(**{**base, **kw})


def test_the_fingerprint_is_stored_and_checked_on_resume(tmp_path, no_trials):
    run_search(_req(tmp_path))
    st, _ = load_study(tmp_path, "s")
    key = st.user_attrs["data_fingerprint"]
    assert len(key) == 64 and int(key, 16) >= 0  # SHA-256 hex
    run_search(_req(tmp_path))  # same data: resumes
    # Other data: a different held-out split changes what the trials train and test on.
    with pytest.raises(ConfigError) as info:
        run_search(_req(tmp_path, test_glob="test_00*"))
    text = str(info.value)
    assert text.startswith(f"study 's' was searched on other data (data fingerprint {key[:12]}…, this data ")
    derived = text.split("as study ")[1].split(",")[0].strip("'")
    assert derived.startswith("s-") and len(derived) == 10
    assert not (tmp_path / derived).exists()

    summary = run_search(_req(tmp_path, test_glob="test_00*", new_data=True))
    assert summary.study == derived and summary.study_dir == tmp_path / derived
    new, _ = load_study(tmp_path, derived)
    assert new.user_attrs["data_fingerprint"].startswith(derived[2:]) and new.user_attrs["test_glob"] == "test_00*"
    assert load_study(tmp_path, "s")[0].user_attrs["data_fingerprint"] == key  # the old study is untouched


def test_cli_refuses_other_data_with_exit_2_and_says_how(tmp_path, no_trials):
    run_search(_req(tmp_path))
    args = ["search", "--study", "s", "--dataset", "basic-motions", "--space", str(SPACE), "--root", str(tmp_path),
            "--trials", "2", "--no-progress", "--test-glob", "test_00*"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("error: study 's' was searched on other data") and "pass --new-data" in line
    result = CliRunner().invoke(app, args + ["--new-data"])
    assert "warning: study 's' was searched on other data: searching this data as study 's-" in result.stderr


def test_an_old_study_without_fingerprint_gets_one(tmp_path, no_trials):
    run_search(_req(tmp_path))
    st, _ = load_study(tmp_path, "s")
    st._storage.set_study_user_attr(st._study_id, "data_fingerprint", None)  # as written before fingerprints
    run_search(_req(tmp_path))
    assert len(load_study(tmp_path, "s")[0].user_attrs["data_fingerprint"]) == 64


def test_an_unknown_threshold_column_is_refused_before_any_trial(tmp_path, no_trials):
    space = tmp_path / "space.yaml"
    space.write_text(SPACE.read_text().replace("segmentation:\n", "segmentation:\n  kind: [sliding, threshold]\n"
                                               "  threshold: {column: [accMag, pressure]}\n"))
    with pytest.raises(ConfigError) as info:
        run_search(_req(tmp_path, space_path=space))
    assert str(info.value).startswith("no trial could succeed: key 'segmentation.threshold.column': 'pressure' is "
                                      "not a channel or a sensor magnitude of this data (accMag, accX, accY, accZ")
    assert not (tmp_path / "s").exists()


def test_a_class_name_the_export_cannot_carry_is_refused_before_any_trial(tmp_path, no_trials):
    data = tmp_path / "data"
    data.mkdir()
    long = "jab" + "x" * 10_000
    for name in ("train_a", "train_b", "test_c"):  # two training captures: enough for the 2 folds
        labels = ["rest"] * 60 + [long] * 60
        rows = [f"{i / 50:.2f},{i % 7},{(i * 3) % 5},{label}" for i, label in enumerate(labels)]
        (data / f"{name}.csv").write_text("time,accX,accY,label\n" + "\n".join(rows) + "\n")
    space = tmp_path / "space.yaml"
    space.write_text(SPACE.read_text().replace('test_glob: "test_*"', 'test_glob: "test_*"\n  background: rest'))
    with pytest.raises(ConfigError) as info:  # one of automl check's problems (automl/search/_check.py)
        run_search(_req(tmp_path, space_path=space, dataset=None, data=data))
    assert str(info.value).startswith(f"no trial could succeed: class name {long[:40]!r}… is 10,003 characters long;")
    assert "at most 255" in str(info.value)
    assert not (tmp_path / "s").exists()


def test_an_old_study_refused_for_another_space_is_left_as_it_was(tmp_path, no_trials):
    run_search(_req(tmp_path))
    st, _ = load_study(tmp_path, "s")
    st._storage.set_study_user_attr(st._study_id, "data_fingerprint", None)  # as written before fingerprints
    other = tmp_path / "other.yaml"
    other.write_text(SPACE.read_text().replace("name: tiny", "name: another"))
    with pytest.raises(ConfigError, match="already exists with a different search space"):
        run_search(_req(tmp_path, space_path=other))
    assert load_study(tmp_path, "s")[0].user_attrs["data_fingerprint"] is None  # refused before any write
