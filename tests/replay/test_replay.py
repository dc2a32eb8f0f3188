"""automl replay: the exported firmware against the Python pipeline on a held-out boxing recording.

The trial is a hand-built pipeline (threshold segmenter on |acc| std, every feature family, a small int8
MLP, vote 3, refractory 150 samples) trained on the held-out session ``acc_gyr_experiment_all_left`` and
replayed on the other one, ``acc_gyr_experiment_all_right``, which it never saw. The slow end-to-end test
(tests/test_end_to_end.py) replays a trial of a real search.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import create_trial
from typer.testing import CliRunner

from automl.cli import app
from automl.data import load_dataset, to_counts
from automl.export import COUNTS_MARK, device_ids, export_trial, parse_stream
from automl.metrics import window_device_metrics
from automl.pipeline import FittedPipeline, SegmenterSpec
from automl.replay import replay_trial, replay_lines
from automl.search import open_storage

from firmware_parity import SCALE, counts_of, fast_pipeline, write_study  # noqa: E402  (tests/ on sys.path)

LEFT, RIGHT = "acc_gyr_experiment_all_left", "acc_gyr_experiment_all_right"
TRIAL = 3
runner = CliRunner()


@pytest.fixture(scope="module")
def study(boxing_dir, tmp_path_factory) -> tuple[Path, FittedPipeline]:
    """``(study folder, pipeline)``: study ``s`` whose trial 3 is the hand-built pipeline trained on LEFT."""
    counts, _ = counts_of(load_dataset(boxing_dir).subset([LEFT]), SCALE)
    fp = fast_pipeline(counts, SegmenterSpec("threshold", 100, 40, column="accMag", mode="std", detection_window=10,
                                             lookback=30), "int8", 0.6, (3, 150, "NoActivity"))
    fp.study, fp.trial = "s", TRIAL
    folder = tmp_path_factory.mktemp("replay") / "studies" / "s"
    write_study(folder, TRIAL, fp)
    st = optuna.create_study(study_name="s", storage=open_storage(folder),
                             directions=["maximize", "minimize", "minimize", "minimize"])
    st.set_user_attr("space", {"data": {"background": "NoActivity", "label_column": "label"}})
    st.set_user_attr("data_source", str(boxing_dir))
    st.set_user_attr("test_glob", RIGHT)  # this study "held out" the right session only
    for n in range(TRIAL + 1):
        st.add_trial(create_trial(values=[0.5 + 0.1 * n, 4000.0, 3000.0, 0.5],
                                  user_attrs={"artifact_dir": f"artifacts/trial-{n}"}))
    return folder, fp


def _punches(csv_path: Path) -> int:
    """Labelled events in a boxing CSV, counted from its label column (runs of one non-background label)."""
    with open(csv_path, newline="") as fh:
        labels = [row["label"] for row in csv.DictReader(fh)]
    return sum(1 for i, v in enumerate(labels) if v != "NoActivity" and (i == 0 or labels[i - 1] != v))


def test_replay_agrees_with_python_and_scores_like_the_search(study, boxing_dir):
    folder, fp = study
    r = replay_trial(folder, TRIAL, [boxing_dir / f"{RIGHT}.csv"], study_name="s")
    (c,) = r.captures
    assert r.identical and c.identical and c.n_windows > 30
    np.testing.assert_array_equal(c.firmware.start, c.python.start)
    np.testing.assert_array_equal(c.firmware.emitted, device_ids(c.python.outputs))
    assert (c.firmware.emitted == -1).any()  # the refractory period suppressed outputs: post-processing is compared
    # The events are the search's metric on the search's windows (window_device_metrics), and count the
    # punches of the recording's label column.
    right = to_counts(load_dataset(boxing_dir).subset([RIGHT]), SCALE)
    windows = fp.segmenter.build().transform(right, fp.classes)
    assert c.events == window_device_metrics(windows, fp.run(right, counts=True).outputs, right) == r.events
    assert c.events["n_events"] == _punches(boxing_dir / f"{RIGHT}.csv") > 20
    # One table row per emitted event output, plus the events no output of their class overlaps.
    events = [row for row in c.rows if row.window >= 0 and row.python not in ("NoActivity", "unknown")
              and not row.python.startswith("-")]
    assert len(events) == c.events["n_detections"]
    # The table says what the metric counts: unnoted event outputs are its true positives, "missed" rows its misses.
    assert sum(not row.note for row in events) == c.events["tp"]
    assert sum(row.note == "missed" for row in c.rows) == c.events["fn"]
    assert sum(row.note == "false activation" for row in events) == c.events["false_activations"]
    assert all(row.python == row.firmware and row.note != "firmware != Python" for row in c.rows)
    text = "\n".join(replay_lines(r))
    assert f"agreement: {c.n_windows} of {c.n_windows} windows" in text
    assert f"F1 {c.events['f1']:.3f}" in text and f"firmware = Python on {c.n_windows} of {c.n_windows}" in text



def test_a_trial_compacted_into_a_pack_replays_like_its_folder(study, boxing_dir, tmp_path):
    import shutil

    from automl.search import compact_artifacts

    folder, _ = study
    copy = tmp_path / "studies" / "s"
    shutil.copytree(folder, copy)
    assert compact_artifacts(copy, keep=set(), min_trials=1) == 1  # trial 3's folder moved into a pack
    assert not (copy / "artifacts" / f"trial-{TRIAL}").exists()
    packed = replay_trial(copy, TRIAL, [boxing_dir / f"{RIGHT}.csv"], study_name="s")
    loose = replay_trial(folder, TRIAL, [boxing_dir / f"{RIGHT}.csv"], study_name="s")
    assert packed.identical and packed.events == loose.events

def test_cli_replay_writes_counts_for_make_stream_and_a_page(study, boxing_dir, tmp_path, require):
    require("make", "gcc")
    folder, fp = study
    counts_file, page = tmp_path / "right-counts.csv", tmp_path / "replay.html"
    argv = ["replay", "--study", "s", "--root", str(folder.parent), "--trial", str(TRIAL),
            str(boxing_dir / f"{RIGHT}.csv"), "--write-counts", str(counts_file), "--html", str(page)]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert "agreement:" in result.stdout and "events (device metric of the search): precision" in result.stdout
    assert "time [s]" in result.stdout and f"timeline page: {page}" in result.stdout
    # The counts file: a marked header, then the int16 counts in the pipeline's channel order.
    lines = counts_file.read_text().splitlines()
    assert lines[0].startswith(COUNTS_MARK) and lines[1] == ",".join(fp.channels)
    expected = counts_of(load_dataset(boxing_dir).subset([RIGHT]), SCALE)[1]
    np.testing.assert_array_equal(np.loadtxt(counts_file, delimiter=",", skiprows=2, dtype=np.int64), expected)
    # ... which `make stream RECORDING=` of the export reads (issue 18: no command wrote one).
    fw = tmp_path / "fw"
    export_trial(folder, TRIAL, fw, measure=False)
    out = subprocess.run(["make", "-s", "-C", str(fw), "stream", f"RECORDING={counts_file}"], capture_output=True,
                         text=True, timeout=300, check=True).stdout
    assert out.startswith("# kp_stream: one line per classified window: window <start> <class> <emitted>")
    run = fp.run(to_counts(load_dataset(boxing_dir).subset([RIGHT]), SCALE), counts=True)
    np.testing.assert_array_equal(parse_stream(out, True).emitted, device_ids(run.outputs))
    # The page: a generated timeline page; running again replaces our own files, never a foreign one.
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>\n<!-- Generated by automl") and 'id="fig-replay-0"' in html
    assert RIGHT in html and "firmware = Python" in html
    assert runner.invoke(app, argv).exit_code == 0
    foreign = tmp_path / "notes.html"
    foreign.write_text("mine")
    refused = runner.invoke(app, argv[:-1] + [str(foreign)])
    assert refused.exit_code == 2 and "Refusing to replace" in refused.stderr and foreign.read_text() == "mine"


def test_cli_replay_on_qemu_counts_instructions(study, boxing_dir, require):
    require("make", "arm-none-eabi-gcc", "qemu-system-arm")
    folder, _ = study
    result = runner.invoke(app, ["replay", "--study", "s", "--root", str(folder.parent), "--trial", str(TRIAL),
                                 str(boxing_dir / f"{RIGHT}.csv"), "--on", "qemu", "--no-table"])
    assert result.exit_code == 0, result.output
    assert "Cortex-M4 build under QEMU" in result.stdout and "time [s]" not in result.stdout
    m = re.search(r"instructions per classification \(QEMU\): mean ([\d,]+), max ([\d,]+) over (\d+) windows; "
                  r"per other sample: mean ([\d,]+), max ([\d,]+) \(resolution 40 instructions\)", result.stdout)
    assert m, result.stdout
    mean, top, calls, idle_mean, idle_max = (int(g.replace(",", "")) for g in m.groups())
    windows = int(re.search(r"(\d+) windows classified", result.stdout).group(1))
    assert calls == windows > 30  # every classified window was timed
    assert top % 40 == 0 and idle_max % 40 == 0  # SysTick ticks of 40 instructions (docs/FIRMWARE.md)
    assert idle_mean <= idle_max < mean <= top  # classifying a window costs more than buffering a sample
    assert f"firmware = Python on {windows} of {windows} windows" in result.stdout


def test_disagreement_is_exit_1(study, boxing_dir, tmp_path, require):
    require("make", "gcc")
    folder, _ = study
    fw = tmp_path / "fw"
    export_trial(folder, TRIAL, fw, measure=False)
    kp_h = fw / "kp.h"
    kp_h.write_text(kp_h.read_text().replace("#define KP_REFRACTORY 150", "#define KP_REFRACTORY 0"))
    result = runner.invoke(app, ["replay", "--study", "s", "--root", str(folder.parent), "--trial", str(TRIAL),
                                 str(boxing_dir / f"{RIGHT}.csv"), "--firmware", str(fw)])
    assert result.exit_code == 1, result.output
    assert "DISAGREEMENT: firmware and Python differ" in result.stdout
    assert "<- firmware != Python" in result.stdout


def test_unlabelled_recording_is_replayed_without_scores(study, boxing_dir, tmp_path):
    folder, _ = study
    src = (boxing_dir / f"{RIGHT}.csv").read_text().splitlines()
    col = src[0].split(",").index("label")
    field = tmp_path / "field.csv"
    field.write_text("\n".join(",".join(c for i, c in enumerate(ln.split(",")) if i != col) for ln in src) + "\n")
    r = replay_trial(folder, TRIAL, [field], study_name="s")
    assert r.identical and r.events is None and r.captures[0].events is None and not r.captures[0].labelled
    assert "no labelled events (not scored)" in "\n".join(replay_lines(r))


def test_bad_inputs_are_one_line(study, boxing_dir, tmp_path):
    folder, _ = study
    base = ["replay", "--study", "s", "--root", str(folder.parent), "--trial", str(TRIAL)]
    src = (boxing_dir / f"{RIGHT}.csv").read_text().replace("gyrX", "gyroX", 1)
    renamed = tmp_path / "renamed.csv"
    renamed.write_text(src)
    result = runner.invoke(app, base + [str(renamed)])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "no channel 'gyrX'" in result.stderr and str(renamed) in result.stderr
    other = tmp_path / "other-fw"
    export_trial(folder, TRIAL, other, measure=False)
    (other / "tinyml-automl-export.txt").write_text('# Generated by tinyml-automl 0.1.0 from study "s", trial 2.\n')
    result = runner.invoke(app, base + [str(boxing_dir / f"{RIGHT}.csv"), "--firmware", str(other)])
    assert result.exit_code == 1 and "is not an export of trial 3" in result.stderr
    result = runner.invoke(app, base + [str(boxing_dir / f"{RIGHT}.csv"), "--html", str(folder / "r.html")])
    assert result.exit_code == 2 and "inside the study folder" in result.stderr and not (folder / "r.html").exists()


def test_export_readme_explains_every_line_make_stream_prints(study, boxing_dir, tmp_path, require):
    # Issue 18, item 2: the README said `make stream RECORDING=recording.csv` with no way to write one, the
    # --synthetic default was only in the Makefile, and the output lines were not explained.
    require("make", "gcc")
    folder, _ = study
    fw = tmp_path / "fw"
    export_trial(folder, TRIAL, fw, measure=False)
    readme = (fw / "README.md").read_text()
    section = readme[readme.index("### What `make stream` and `make qemu` print"):readme.index("## The pipeline")]
    out = subprocess.run(["make", "-s", "-C", str(fw), "stream"], capture_output=True, text=True, timeout=300,
                         check=True).stdout  # no RECORDING=: the synthetic stream
    kinds = {line.split()[0] for line in out.splitlines()}
    assert kinds == {"#", "window", "class", "summary"}
    for kind in ("`#`", "`window", "`class <id>", "`summary samples", "`insns classify"):
        assert kind in section, kind
    fields = ["start", "class", "emitted", "uint8 features", "float features", "logits", "output"]
    rows = [ln.split("|")[1].strip() for ln in section.splitlines() if ln.startswith("| ") and "---" not in ln]
    assert [r.split(" (")[0] for r in rows[2:]] == fields  # one row per field of a window line, in order
    assert len(out.splitlines()[2].split()) == 1 + len(fields)
    assert f"automl replay --study s --trial {TRIAL} RECORDING.csv --firmware THIS_FOLDER" in readme
    assert "--write-counts counts.csv" in readme and "RECORDING=--synthetic" in readme


def test_cli_export_says_which_trial_it_exported_its_sizes_and_class_ids(study, tmp_path, require):
    # Issue 18, item 1: `automl export --trial knee` printed only the folder. Then a new user's frictions: the
    # recommendation sentence printed again (search says it), measured and estimated sizes unlabelled, the
    # .tflite's two sizes unexplained, class id 0 unexplained.
    require("make", "arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm")
    folder, fp = study
    out = tmp_path / "fw"
    result = runner.invoke(app, ["export", "--study", "s", "--root", str(folder.parent), "--trial", "recommended",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"exported trial {TRIAL} (recommended) of study 's' to {out.resolve()}"
    assert "recommended: trial" not in result.stdout and "The best trial" not in result.stdout
    # The fixture's trials are estimated at flash 4,000 B and RAM 3,000 B; the measured sizes are sizes.json's.
    sizes = json.loads((out / "sizes.json").read_text())
    flash, static, stack = sizes["library"]["flash_bytes"], sizes["library"]["ram_bytes"], sizes["stack_bytes_bound"]
    assert flash > 1000 and static > 1000 and 0 < stack < 1000
    flash_error, ram_error = 100 * (4000 - flash) / flash, 100 * (3000 - static - stack) / (static + stack)
    assert lines[1] == (f"  flash: {flash:,} B measured (arm-none-eabi-size: text + data of kp.o + kp_model.o); "
                        f"estimated (cost model) 4,000 B, {flash_error:+.1f}% vs measured")
    assert lines[2] == (f"  RAM: {static + stack:,} B measured (arm-none-eabi-size: data + bss {static:,} B; "
                        f"-fstack-usage: stack bound {stack:,} B); estimated (cost model) 3,000 B with the stack, "
                        f"{ram_error:+.1f}% vs measured")
    n, text = len(fp.tflite), sizes["model_tflite"]["text"]
    assert lines[3] == (f"  .tflite model: {n:,} B (model_tflite_bytes: the kp_model_tflite array in model_data.c, "
                        "optional, for TensorFlow Lite Micro; not in the flash above); sizes.json's "
                        f"model_tflite.text {text:,} B is model_data.o: the array + its length constant and alignment "
                        f"padding ({text - n:,} B)")
    assert fp.classes[0] == "NoActivity" and len(fp.classes) > 2  # the background is model output 0: class id 1
    assert lines[4] == ("  class ids (kp_class_names): 0 = unknown (no decision: top probability below the unknown "
                        "threshold 0.6), 1 = NoActivity (background), "
                        + ", ".join(f"{i + 1} = {c}" for i, c in enumerate(fp.classes) if i > 0))
    assert lines[5] == f"  build and print its model information: make -C {out} run"
    assert lines[6] == (f"  firmware vs Python on the held-out captures: automl replay --study s --root {folder.parent} "
                        f"--trial recommended --held-out --firmware {out}   (or RECORDING.csv instead of --held-out)")
    assert len(lines) == 7, lines
    again = runner.invoke(app, ["export", "--study", "s", "--root", str(folder.parent), "--trial", str(TRIAL),
                                "--out", str(out), "--overwrite"])
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == f"exported trial {TRIAL} of study 's' to {out.resolve()}"
    assert again.stdout.splitlines()[1:5] == lines[1:5] and f"--trial {TRIAL} --held-out" in again.stdout


def test_cli_export_into_a_foreign_folder_names_the_overwrite_flag(study, tmp_path):
    # Issue 18, item 3: the message said "pass overwrite=True"; the command's flag is --overwrite.
    folder, _ = study
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.md").write_text("mine")
    result = runner.invoke(app, ["export", "--study", "s", "--root", str(folder.parent), "--trial", str(TRIAL),
                                 "--out", str(docs)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "pass --overwrite" in result.stderr and (docs / "notes.md").read_text() == "mine"


def test_replay_page_draws_in_a_browser(study, boxing_dir, tmp_path, chromium, require):
    require("make", "gcc")
    from automl.report import write_replay_page

    folder, _ = study
    page = write_replay_page(replay_trial(folder, TRIAL, [boxing_dir / f"{RIGHT}.csv"], study_name="s"),
                             tmp_path / "replay.html")
    result = subprocess.run(chromium(tmp_path / "profile") + ["--virtual-time-budget=15000", "--dump-dom",
                                                              page.as_uri()], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0
    errors = [ln for ln in result.stderr.splitlines() if ":CONSOLE" in ln and
              re.search(r"Uncaught|TypeError|ReferenceError|SyntaxError|could not be drawn|is missing", ln)]
    assert errors == []
    dom = result.stdout
    assert 'data-report-ready="1"' in dom and 'class="main-svg"' in dom[dom.index('id="fig-replay-0"'):]
    assert re.search(r'<pre id="js-errors" class="note" hidden="">\s*</pre>', dom)


def test_held_out_replays_the_studys_own_held_out_captures(study, boxing_dir):
    # New-user friction: the demo data (BasicMotions, inside a wheel) has no recording file to give replay.
    folder, _ = study
    attrs = optuna.load_study(study_name="s", storage=open_storage(folder)).user_attrs
    held = replay_trial(folder, TRIAL, [], study_name="s", study_attrs=attrs, held_out=True)
    given = replay_trial(folder, TRIAL, [boxing_dir / f"{RIGHT}.csv"], study_name="s", study_attrs=attrs)
    assert [c.capture for c in held.captures] == [RIGHT] and held.identical
    assert held.events == given.events
    np.testing.assert_array_equal(held.captures[0].counts, given.captures[0].counts)
    result = runner.invoke(app, ["replay", "--study", "s", "--root", str(folder.parent), "--trial", str(TRIAL)])
    assert result.exit_code == 2 and "--held-out" in result.stderr


def test_a_model_without_background_class_is_scored_by_windows(boxing_dir, tmp_path):
    # As in the search, the device event metric needs a background class (BasicMotions models have none: the
    # demo's replay printed events of 0/0). Such a model is scored by its class decisions per window.
    from automl.metrics import classification_metrics

    counts, _ = counts_of(load_dataset(boxing_dir).subset([LEFT]), SCALE)
    fp = fast_pipeline(counts, SegmenterSpec("threshold", 80, 50, column="gyrY", mode="absolute", lookback=20),
                       "float32", 0.5, (4, 120, ""))
    fp.study, fp.trial = "nb", 0
    folder = write_study(tmp_path / "nb", 0, fp)
    r = replay_trial(folder, 0, [boxing_dir / f"{RIGHT}.csv"], study_name="nb")
    (c,) = r.captures
    assert fp.background_index is None and c.labelled and c.events is None and r.events is None
    assert c.window_metrics == classification_metrics(c.python.y_true, c.python.predicted, fp.classes)
    m = c.window_metrics
    assert (f"windows (the model has no background class, so no events): {int(round(m['accuracy'] * m['n_windows']))}"
            f" of {m['n_windows']} class decisions are the label") in "\n".join(replay_lines(r))
    # The table follows the windows too: no event notes (the demo's replay said "missed" and "duplicate" for
    # outputs of the first class), one "wrong class" per class output that is not its window's label.
    py = c.python
    wrong = sum(1 for o, t in zip(py.outputs.tolist(), py.y_true.tolist()) if o >= 0 and o != t)
    assert wrong > 0 and sum(row.note == "wrong class" for row in c.rows) == wrong
    assert {row.note for row in c.rows} <= {"", "wrong class"}
    assert sum(row.window >= 0 for row in c.rows) == int((py.outputs >= 0).sum())
    # A label the model does not know ("cross" for the jabs) is no class to judge against: a window labelled by
    # it is not "NoActivity" (label_windows' class 0, the model's first class here): no note, not scored.
    crossed = tmp_path / "crossed" / f"{RIGHT}.csv"
    crossed.parent.mkdir()
    crossed.write_text((boxing_dir / f"{RIGHT}.csv").read_text().replace(",jab,", ",cross,"))
    (x,) = replay_trial(folder, 0, [crossed], study_name="nb").captures
    rows = [row for row in x.rows if row.window >= 0]
    assert any(row.label == "cross" for row in rows) and all(row.note == "" for row in rows if row.label == "cross")
    assert len(rows) == len([row for row in c.rows if row.window >= 0])  # the same outputs, only judged otherwise
    assert 0 < x.window_metrics["n_windows"] < m["n_windows"]  # windows of an unknown label are not scored
