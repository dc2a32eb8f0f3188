"""Issue 8: the recommended trial replayed on a held-out recording (plain data and its loading)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from automl.data import Capture, Segment
from automl.report import decimate_minmax, load_timeline, timeline_data
from automl.report._html import build_figures

CLASSES = ["NoActivity", "hook", "jab"]


def _capture() -> Capture:
    # |acc| per sample: (3,4,0) -> 5, (5,12,0) -> 13, (0,0,0) -> 0; gyrX is ignored.
    rows = [(3, 4, 0)] * 3 + [(5, 12, 0)] * 2 + [(3, 4, 0)] * 3 + [(0, 0, 0)] * 2
    data = np.array([[x, y, z, 99.0] for x, y, z in rows], dtype=np.float32)
    return Capture("cap1", data)


SEGMENTS = [Segment("cap1", "NoActivity", 0, 3), Segment("cap1", "jab", 3, 5), Segment("cap1", "hook", 6, 9)]


class TestTimelineData:
    def test_hand_made_case(self) -> None:
        tl = timeline_data(7, _capture(), ("accX", "accY", "accZ", "gyrX"), 2.0, SEGMENTS, "NoActivity", CLASSES,
                           window_start=np.array([0, 2, 4, 6]), window_size=4,
                           predicted=np.array([0, 2, -1, 1]), truth=np.array([0, 2, 2, 1]), max_points=100)
        assert tl.trial == 7 and tl.capture == "cap1" and tl.n_samples == 10
        assert tl.signal_name == "|acc| = sqrt(accX² + accY² + accZ²)"
        assert tl.decimation == 1
        assert tl.t.tolist() == [i / 2 for i in range(10)]
        assert tl.signal.tolist() == [5, 5, 5, 13, 13, 5, 5, 5, 0, 0]
        # The background segment is not listed; samples -> seconds at 2 Hz, end exclusive.
        assert tl.segments == ((1.5, 2.5, "jab"), (3.0, 4.5, "hook"))
        assert tl.window_start.tolist() == [0.0, 1.0, 2.0, 3.0]
        assert tl.window_end.tolist() == [2.0, 3.0, 4.0, 5.0]
        assert tl.predicted == ("NoActivity", "jab", "unknown", "hook")
        assert tl.truth == ("NoActivity", "jab", "jab", "hook")
        assert tl.n_windows == 4 and tl.n_correct == 3

    def test_decimated_keeps_peaks(self) -> None:
        tl = timeline_data(7, _capture(), ("accX", "accY", "accZ", "gyrX"), 2.0, SEGMENTS, "NoActivity", CLASSES,
                           np.array([0]), 4, np.array([0]), np.array([0]), max_points=4)
        # Buckets of 5 samples: [5 5 5 13 13] -> min at 0, max at 3; [5 5 5 0 0] -> max at 5, min at 8.
        assert tl.decimation == 5
        assert tl.t.tolist() == [0.0, 1.5, 2.5, 4.0]
        assert tl.signal.tolist() == [5, 13, 5, 0]

    def test_decimate_minmax(self) -> None:
        idx, vals, bucket = decimate_minmax(np.array([0.0, 5, 1, 2, -3, 4, 9, 0]), 4)
        assert idx.tolist() == [0, 1, 4, 6] and vals.tolist() == [0, 5, -3, 9] and bucket == 4
        idx, _, bucket = decimate_minmax(np.arange(3.0), 4)
        assert idx.tolist() == [0, 1, 2] and bucket == 1

    def test_no_acc_channel_uses_the_first(self) -> None:
        cap = Capture("c", np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
        tl = timeline_data(0, cap, ("temp", "light"), 1.0, [], "NoActivity", CLASSES, np.zeros(0, np.int64), 2,
                           np.zeros(0, np.int64), np.zeros(0, np.int64))
        assert tl.signal_name == "temp" and tl.signal.tolist() == [1.0, 3.0] and tl.n_windows == 0


class TestLoadTimeline:
    ATTRS = {"data_source": "", "test_glob": "test_*", "test_captures": ["test_b"],
             "space": {"data": {"background": "NoActivity", "label_column": "label"}}}

    def test_missing_pieces_are_sentences(self, tmp_path: Path) -> None:
        assert load_timeline(None, self.ATTRS, 3, "artifacts/trial-3")[1].startswith(
            "The report was built without the study folder")
        assert "does not record its data source" in load_timeline(tmp_path, self.ATTRS, 3, "a")[1]
        attrs = dict(self.ATTRS, data_source=str(tmp_path / "nowhere"))
        assert "records no artifact folder" in load_timeline(tmp_path, attrs, 3, None)[1]
        data, note = load_timeline(tmp_path, attrs, 3, "artifacts/trial-3")
        assert data is None and "Trial 3's model cannot be loaded" in note and "pipeline.json is missing" in note
        (tmp_path / "artifacts" / "trial-3").mkdir(parents=True)
        (tmp_path / "artifacts" / "trial-3" / "pipeline.json").write_text("{}")
        (tmp_path / "artifacts" / "trial-3" / "model.tflite").write_bytes(b"")
        note = load_timeline(tmp_path, attrs, 3, "artifacts/trial-3")[1]
        assert "pipeline format version None" in note

    def test_replays_on_the_held_out_capture(self, tmp_path: Path, monkeypatch) -> None:
        folder = tmp_path / "data"
        folder.mkdir()
        n = 200
        t = np.arange(n) / 100.0
        for name, label_at in (("train_a", slice(50, 90)), ("test_b", slice(120, 160))):
            labels = np.array(["NoActivity"] * n, dtype=object)
            labels[label_at] = "jab"
            lines = ["seconds_elapsed,accX,accY,accZ,label"]
            lines += [f"{t[i]:.2f},{3.0 if labels[i] == 'jab' else 0.0},4.0,0.0,{labels[i]}" for i in range(n)]
            (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")
        seen = {}

        class StubPipeline:
            classes = ["NoActivity", "jab"]
            segmenter = SimpleNamespace(window_size=50)

            def run(self, dataset):
                seen["captures"] = dataset.capture_names()
                seen["data"] = dataset.captures[0].data
                return SimpleNamespace(start=np.array([0, 50, 100, 150]), predicted=np.array([0, 0, 1, -1]),
                                       y_true=np.array([0, 0, 1, 1]), outputs=np.array([0, 0, 1, -2]))

        from automl.pipeline import FittedPipeline

        monkeypatch.setattr(FittedPipeline, "from_json", classmethod(
            lambda cls, text, tflite, where="": seen.setdefault("loaded", (text, tflite, where)) and StubPipeline()))
        (tmp_path / "artifacts" / "trial-5").mkdir(parents=True)
        (tmp_path / "artifacts" / "trial-5" / "pipeline.json").write_text('{"stub": 1}')
        (tmp_path / "artifacts" / "trial-5" / "model.tflite").write_bytes(b"model")
        attrs = dict(self.ATTRS, data_source=str(folder))
        tl, note = load_timeline(tmp_path, attrs, 5, "artifacts/trial-5")
        assert note == ""
        assert seen["loaded"] == ('{"stub": 1}', b"model", str(tmp_path / "artifacts" / "trial-5" / "pipeline.json"))
        assert seen["captures"] == ["test_b"]  # only the held-out capture, in sensor units
        assert seen["data"][0].tolist() == [0.0, 4.0, 0.0]
        assert tl.capture == "test_b" and tl.sample_rate_hz == pytest.approx(100.0)
        (start, end, label), = tl.segments
        assert (start, end, label) == (pytest.approx(1.2), pytest.approx(1.6), "jab")
        assert tl.signal[:2].tolist() == [4.0, 4.0] and tl.signal[130] == pytest.approx(5.0)
        assert tl.predicted == ("NoActivity", "NoActivity", "jab", "unknown")
        assert tl.emitted == ("NoActivity", "NoActivity", "jab", "")  # -2: nothing emitted (suppressed)
        assert tl.window_end.tolist() == pytest.approx([0.5, 1.0, 1.5, 2.0])
        # An unknown capture is named.
        note = load_timeline(tmp_path, attrs, 5, "artifacts/trial-5", capture="nope")[1]
        assert "Held-out capture 'nope' is not in the data" in note

    def test_bad_data_source_is_a_sentence(self, tmp_path: Path, monkeypatch) -> None:
        from automl.pipeline import FittedPipeline

        monkeypatch.setattr(FittedPipeline, "from_json", classmethod(lambda cls, *a, **k: object()))
        (tmp_path / "artifacts" / "trial-1").mkdir(parents=True)
        for name in ("pipeline.json", "model.tflite"):
            (tmp_path / "artifacts" / "trial-1" / name).write_bytes(b"{}")
        attrs = dict(self.ATTRS, data_source=str(tmp_path / "gone"))
        data, note = load_timeline(tmp_path, attrs, 1, "artifacts/trial-1")
        assert data is None and "could not be re-read" in note and "does not exist" in note


def test_timeline_figure_escapes_class_names() -> None:
    from automl.report import ReportData

    evil = "<script>alert(1)</script>"
    tl = timeline_data(0, _capture(), ("accX", "accY", "accZ", "gyrX"), 2.0,
                       [Segment("cap1", evil, 3, 5)], "NoActivity", ["NoActivity", evil],
                       np.array([0, 4]), 4, np.array([1, 0]), np.array([0, 1]))
    data = ReportData("s", None, None, {}, (None,), (), ("macro_f1",), ("maximize",), {}, 0, [],
                      np.zeros(0, np.int64), np.zeros((0, 1)), np.zeros(0, np.int64), None, None, timeline=tl)
    fig = build_figures(data)["fig-timeline"]
    text = repr(fig)
    assert evil not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
