"""Run a trial's exported firmware and its Python pipeline on the same recording and compare them.

SensiML's "Explore Model" and Test App, on the desk: a recording in any
import format is converted to the trial's int16 counts, streamed through the
exported ``kp_stream`` (host build, or the Cortex-M4 build under QEMU with
instruction counts) and through :meth:`automl.pipeline.FittedPipeline.run`,
window by window. Both the class decisions and the emitted outputs (after
post-processing) must agree; the outputs are scored against the recording's
labels with the search's device event metric.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from automl.data import Capture, Dataset, import_dataset, to_counts
from automl.errors import ConfigError, DataError, StudyError
from automl.export import (MANIFEST_NAME, StreamRun, device_ids, export_trial, output_indices, parse_stream,
                           run_stream, write_counts)
from automl.export._export import SAFE_PATH
from automl.metrics import classification_metrics, device_event_metrics, event_matches
from automl.pipeline import FittedPipeline, PipelineRun

#: A recording's sample rate may differ from the trial's by at most this fraction (as between training captures).
RATE_TOLERANCE = 0.05


@dataclass(frozen=True)
class EventRow:
    """One line of the per-event table.

    Attributes:
        time_s: when the output is emitted: the window's last sample + 1, in
            seconds since the start of the recording (for a missed event: its start).
        window: window index in the capture (-1 for a missed event).
        label: the labelled event the output is matched to, else the labelled
            class the window overlaps most (background if none).
        firmware, python: the emitted output (class name, ``unknown``, or
            ``-`` when nothing was emitted), with the decision in parentheses
            when post-processing suppressed it.
        note: ``"firmware != Python"``; for an event output not matched to a
            labelled event by the device metric (:func:`automl.metrics.event_matches`),
            ``"duplicate: …"`` (its event is matched to another output of its
            class), ``"wrong class"`` (it overlaps only events of other classes)
            or ``"false activation"`` (it overlaps no labelled event);
            ``"missed"`` (a labelled event matched to no output); else ``""``.
            Counting the rows: matched outputs are the metric's true positives.
    """

    time_s: float
    window: int
    label: str
    firmware: str
    python: str
    note: str = ""


@dataclass
class CaptureReplay:
    """One capture (one continuous stream) of a replay.

    Attributes:
        capture: capture name.
        n_samples: samples streamed.
        sample_rate_hz: the recording's rate (Hz).
        labelled: the recording has labelled event segments (so events are scored).
        python: the Python pipeline's run (per window; ``outputs`` after post-processing).
        firmware: what ``kp_stream`` printed.
        agree: ``(n_windows,) bool`` window start, decision and emitted output equal
            (all False when the two produced different numbers of windows).
        events: device event metrics of the Python outputs (= the firmware's when they
            agree), or None when the recording has no labelled events or the model
            has no background class (as in the search: a model without one is
            scored by windows, every window being one of its classes).
        firmware_events: the same for the firmware's outputs, or None.
        window_metrics: :func:`automl.metrics.classification_metrics` of the class
            decisions against the windows' labels (the search's ``window_f1``), or
            None without labels.
        rows: the per-event table.
        counts: ``(n_samples, n_channels) int16`` what both were fed.
        segments: the recording's labelled segments (:class:`automl.data.Segment`).
    """

    capture: str
    n_samples: int
    sample_rate_hz: float
    labelled: bool
    python: PipelineRun
    firmware: StreamRun
    agree: np.ndarray
    events: dict | None
    firmware_events: dict | None
    rows: list[EventRow]
    counts: np.ndarray = field(repr=False)
    segments: list = field(default_factory=list, repr=False)
    window_metrics: dict | None = None

    @property
    def n_windows(self) -> int:
        return int(self.python.start.shape[0])

    @property
    def identical(self) -> bool:
        """Firmware and Python classified the same windows and agree on every one."""
        return bool(self.firmware.start.shape[0] == self.n_windows and self.agree.all())


@dataclass
class Replay:
    """A replay of one trial on one or more recordings.

    Attributes:
        study, trial: the trial replayed.
        on: ``"host"`` or ``"qemu"``.
        firmware_dir: the export that ran (a temporary one is gone afterwards).
        pipeline: the trial's fitted pipeline.
        captures: one :class:`CaptureReplay` per capture, in recording order.
        events: device event metrics over all scored captures together, or None.
        window_metrics: window metrics over all labelled captures together, or None.
    """

    study: str
    trial: int
    on: str
    firmware_dir: str
    pipeline: FittedPipeline = field(repr=False)
    captures: list[CaptureReplay]
    events: dict | None
    window_metrics: dict | None = None

    @property
    def identical(self) -> bool:
        """Firmware and Python agree on every window of every capture."""
        return all(c.identical for c in self.captures)


def replay_trial(study_dir: Path, trial: int, recordings: Sequence[Path], *, study_name: str = "",
                 study_attrs: Mapping[str, Any] | None = None, fmt: str = "auto", on: str = "host",
                 firmware: Path | None = None, write_counts_to: Path | None = None, held_out: bool = False,
                 timeout: float = 1800.0) -> Replay:
    """Replay trial ``trial`` of the study in ``study_dir`` on ``recordings``.

    Args:
        study_dir: the study folder (holds ``artifacts/trial-<n>``).
        trial: trial number.
        recordings: files or folders in any import format
            (:func:`automl.data.import_dataset`; a single ``.csv`` is one capture);
            each capture is one stream. Labels are optional.
        study_name: for messages and the counts files.
        study_attrs: the study's user attributes (``space.data.background`` and
            ``label_column`` are used to read the recordings; ``data_source`` and
            ``test_glob`` for ``held_out``).
        fmt: import format of the recordings (``auto`` detects it).
        on: ``"host"`` (gcc) or ``"qemu"`` (the Cortex-M4 build under QEMU, with
            instruction counts).
        firmware: an existing export of this trial; default: the trial is exported
            into a temporary folder (without measuring) and deleted afterwards.
        write_counts_to: keep the int16 counts streamed: a ``.csv`` file for one
            capture, else a folder holding ``<capture>.csv`` per capture.
        held_out: also replay the study's held-out captures (its ``data_source``
            split by ``test_glob``, as the search held them out).
        timeout: seconds allowed for the firmware on each capture.

    Returns:
        The :class:`Replay`.

    Raises:
        StudyError: the trial has no artifacts, or ``firmware`` is not an export of it.
        DataError: a recording cannot be read, lacks a channel of the trial, or
            has another sample rate.
        ConfigError: bad ``on``, ``fmt`` or ``write_counts_to``.
        AutomlError: the firmware failed to build or run.
    """
    if on not in ("host", "qemu"):
        raise ConfigError(f"The '--on' parameter must be 'host' or 'qemu'. Got {on!r} instead.")
    if not recordings and not held_out:
        raise ConfigError("give at least one recording to replay, or --held-out for the study's held-out captures")
    from automl.search import load_trial_pipeline

    pipe = load_trial_pipeline(Path(study_dir), int(trial))
    data_opts = _data_options(study_attrs or {})
    captures = _held_out(study_attrs or {}, pipe, data_opts) if held_out else []
    captures += _read_recordings(recordings, fmt, pipe, data_opts)
    names = [c.captures[0].name for c in captures]
    if len(set(names)) != len(names):
        raise DataError(f"capture {next(n for n in names if names.count(n) > 1)!r} is given twice")
    if write_counts_to is not None:
        write_counts_to = Path(write_counts_to)
        if len(captures) > 1 and (write_counts_to.suffix.lower() == ".csv" or write_counts_to.is_file()):
            raise ConfigError(f"--write-counts {str(write_counts_to)!r}: the recordings hold {len(captures)} "
                              "captures; give a folder (one <capture>.csv each)")
    work = Path(tempfile.mkdtemp(prefix="automl-replay-"))
    try:
        if firmware is None:
            fw = work / "firmware"
            export_trial(study_dir, int(trial), fw, measure=False)
            shown = "a temporary export"
        else:
            fw = Path(firmware).absolute()
            _check_export(fw, int(trial))
            shown = str(firmware)
        results = []
        for k, ds in enumerate(captures):
            cap = ds.captures[0]
            counts = cap.data.astype(np.int16)
            note = f"study {study_name or Path(study_dir).name}, trial {trial}, recording {cap.name}"
            if write_counts_to is not None:
                target = write_counts_to if len(captures) == 1 else write_counts_to / f"{cap.name}.csv"
                rec = write_counts(target.absolute(), counts, pipe.channels, note)
            else:
                rec = write_counts(work / f"counts-{k}.csv", counts, pipe.channels, note)
            if on == "qemu" and not SAFE_PATH.fullmatch(str(rec)):  # QEMU's semihosting command line
                rec = Path(shutil.copy(rec, work / f"counts-{k}.csv"))
            out = run_stream(fw, rec, work / "build", on=on, timeout=timeout)
            results.append(_compare(ds, pipe, parse_stream(out, pipe.quantization == "int8"), counts))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    scored = [c for c in results if c.events is not None]
    events = windows = None
    if scored:
        events = device_event_metrics(
            {c.capture: c.python.start for c in scored}, {c.capture: c.python.outputs for c in scored},
            pipe.segmenter.window_size, [s for c in scored for s in c.segments], pipe.classes,
            pipe.sample_rate_hz, {c.capture: c.n_samples for c in scored})
    labelled = [c for c in results if c.labelled]
    if labelled:
        windows = classification_metrics(np.concatenate([c.python.y_true for c in labelled]),
                                         np.concatenate([c.python.predicted for c in labelled]), pipe.classes)
    return Replay(study=study_name or Path(study_dir).name, trial=int(trial), on=on, firmware_dir=shown,
                  pipeline=pipe, captures=results, events=events, window_metrics=windows)


def _data_options(attrs: Mapping[str, Any]) -> dict[str, Any]:
    space = attrs.get("space") if isinstance(attrs.get("space"), Mapping) else {}
    data = space.get("data") if isinstance(space.get("data"), Mapping) else {}
    return {"background": data.get("background"), "label_column": data.get("label_column")}


def _read_recordings(recordings: Sequence[Path], fmt: str, pipe: FittedPipeline,
                     data_opts: Mapping[str, Any]) -> list[Dataset]:
    """Each capture of every recording as a one-capture dataset of the trial's int16 counts."""
    from automl.data import detect_format

    out: list[Dataset] = []
    for path in recordings:
        path = Path(path)
        chosen = detect_format(path) if fmt == "auto" else fmt
        options: dict[str, Any] = {"background": _background(pipe, data_opts)}
        if chosen == "label-column":
            options["require_labels"] = False  # a field recording may have no labels
            if data_opts.get("label_column"):
                options["label_column"] = data_opts["label_column"]
        out += _streams(import_dataset(path, chosen, **options), pipe, str(path), _background(pipe, data_opts))
    return out


def _held_out(attrs: Mapping[str, Any], pipe: FittedPipeline, data_opts: Mapping[str, Any]) -> list[Dataset]:
    """The study's held-out captures (:func:`automl.report.held_out_data`) as one-capture count datasets."""
    from automl.report import held_out_data

    return _streams(held_out_data(attrs), pipe, f"held-out captures of {attrs.get('data_source')}",
                    _background(pipe, data_opts))


def _background(pipe: FittedPipeline, data_opts: Mapping[str, Any]) -> str:
    return pipe.background or data_opts.get("background") or "NoActivity"


def _streams(ds: Dataset, pipe: FittedPipeline, where: str, background: str) -> list[Dataset]:
    """Each capture of ``ds`` as a dataset of one capture, channels in the pipeline's order, in int16 counts.

    Raises:
        DataError: naming ``where``, if a channel of the pipeline is missing or the sample rate is off.
    """
    missing = [c for c in pipe.channels if c not in ds.channels]
    if missing:
        raise DataError(f"{where}: no channel {missing[0]!r}; trial {pipe.trial} reads {list(pipe.channels)} "
                        f"and the recording has {list(ds.channels)}")
    if abs(ds.sample_rate_hz - pipe.sample_rate_hz) > RATE_TOLERANCE * pipe.sample_rate_hz:
        raise DataError(f"{where}: sampled at {ds.sample_rate_hz:.4g} Hz; trial {pipe.trial} was trained at "
                        f"{pipe.sample_rate_hz:.4g} Hz (more than {RATE_TOLERANCE:.0%} apart): resample it first")
    order = [ds.channels.index(c) for c in pipe.channels]
    return [to_counts(Dataset(ds.name, tuple(pipe.channels), ds.sample_rate_hz,
                              [Capture(cap.name, np.ascontiguousarray(cap.data[:, order]), dict(cap.metadata))],
                              [s for s in ds.segments if s.capture == cap.name], background), pipe.sample_scale)
            for cap in ds.captures]


def _check_export(folder: Path, trial: int) -> None:
    try:
        first = (folder / MANIFEST_NAME).read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError):
        raise StudyError(f"--firmware {str(folder)!r} is not an export (no {MANIFEST_NAME}); export the trial "
                         "with `automl export` or leave --firmware out") from None
    if f", trial {trial}." not in first:
        raise StudyError(f"--firmware {str(folder)!r} is not an export of trial {trial} ({first.lstrip('# ')})")


def _names(ids: np.ndarray, classes: Sequence[str]) -> list[str]:
    """Firmware class ids (0 unknown, -1 nothing) as names."""
    return ["-" if i < 0 else ("unknown" if i == 0 else classes[i - 1]) for i in ids.tolist()]


def _compare(ds: Dataset, pipe: FittedPipeline, fw: StreamRun, counts: np.ndarray) -> CaptureReplay:
    cap = ds.captures[0]
    py = pipe.run(ds, counts=True)
    n = py.start.shape[0]
    py_dec = np.where(py.predicted < 0, 0, py.predicted + 1)
    py_out = device_ids(py.outputs)
    if fw.start.shape[0] == n:
        agree = (fw.start == py.start) & (fw.decision == py_dec) & (fw.emitted == py_out)
    else:
        agree = np.zeros(n, bool)
    events_segments = [s for s in ds.segments if s.label in pipe.classes and s.label != ds.background]
    labelled = bool(events_segments)
    truth = _window_truth(ds, pipe, py)
    events = fw_events = windows = None
    if labelled:
        scored = truth >= 0
        windows = classification_metrics(truth[scored], py.predicted[scored], pipe.classes)
    if labelled and pipe.background_index is not None:  # the device metric needs a background class
        common = (pipe.segmenter.window_size, ds.segments, pipe.classes, ds.sample_rate_hz,
                  {cap.name: cap.n_samples})
        events = device_event_metrics({cap.name: py.start}, {cap.name: py.outputs}, *common)
        fw_out = output_indices(fw.emitted)
        fw_events = device_event_metrics({cap.name: fw.start}, {cap.name: fw_out}, *common)
    rows = _rows(ds, pipe, py, fw, agree, events_segments, truth if labelled else None)
    return CaptureReplay(cap.name, cap.n_samples, ds.sample_rate_hz, labelled, py, fw, agree, events, fw_events,
                         rows, counts, list(ds.segments), windows)


def _window_truth(ds: Dataset, pipe: FittedPipeline, py: PipelineRun) -> np.ndarray:
    """``(n_windows,) int64`` model class index of each window's label (:func:`automl.segmentation.label_windows`).

    With a background class this is ``py.y_true``. Without one, ``label_windows`` would call a window over an
    unlabelled stretch (or a label the model does not know) its first class; such windows get -1 (no class
    applies: not scored, not judged).
    """
    if pipe.background_index is not None:
        return np.asarray(py.y_true, np.int64)
    from automl.segmentation import label_windows

    none = "\0no model class"  # a first "class" no segment carries: unlabelled windows fall to it
    return label_windows(py.start, int(pipe.segmenter.window_size), list(ds.segments), [none, *pipe.classes]) - 1


def _rows(ds: Dataset, pipe: FittedPipeline, py: PipelineRun, fw: StreamRun, agree: np.ndarray,
          events_segments: list, truth: np.ndarray | None = None) -> list[EventRow]:
    """Windows that emitted an event class (firmware or Python) or where they disagree, and missed events.

    Without a background class (no event metric, as in the search) every window with a class output is a
    row, labelled with ``truth`` (:func:`_window_truth`; None: an unlabelled recording), noted "wrong class"
    when the output differs from a label the model knows; nothing is "missed".
    """
    classes, rate, w = list(pipe.classes), float(ds.sample_rate_hz), int(pipe.segmenter.window_size)
    background = pipe.background_index
    n = py.start.shape[0]
    same_count = fw.start.shape[0] == n
    py_dec = np.where(py.predicted < 0, 0, py.predicted + 1)
    py_ids = device_ids(py.outputs)

    def shown(emitted: int, decided: int) -> str:
        name = _names(np.array([emitted]), classes)[0]
        if emitted < 0:  # suppressed: say what was decided
            return f"- ({_names(np.array([decided]), classes)[0]} suppressed)"
        return name

    def is_event(cid: int) -> bool:
        return cid >= 1 and (background is None or cid - 1 != background)

    segs = [seg for seg in ds.segments if seg.label != ds.background]
    # The pairs the device metric counts (one output per labelled event): the table says what the metric says.
    # Without a background class there is no event metric (as in the search): each window against its label.
    by_windows = background is None
    matched = {} if by_windows else event_matches(py.start, py.outputs, w, segs, classes)
    rows: list[EventRow] = []
    for i in range(n):
        fw_e, fw_d = (int(fw.emitted[i]), int(fw.decision[i])) if same_count else (-1, -1)
        py_e, py_d = int(py_ids[i]), int(py_dec[i])
        if not (is_event(py_e) or is_event(fw_e) or not agree[i]):
            continue
        a, b = int(py.start[i]), int(py.start[i]) + w
        over = [(min(b, seg.end) - max(a, seg.start), k) for k, seg in enumerate(segs)
                if min(b, seg.end) > max(a, seg.start)]
        label = segs[matched[i]].label if i in matched else segs[max(over)[1]].label if over else ds.background
        note = "firmware != Python" if not agree[i] else ""
        if by_windows:
            t = -1 if truth is None else int(truth[i])
            label = classes[t] if t >= 0 else label
            if not note and t >= 0 and py_e >= 1 and py_e - 1 != t:
                note = "wrong class"
        elif not note and is_event(py_e) and i not in matched:
            same = any(segs[k].label == classes[py_e - 1] for _, k in over)
            note = ("false activation" if not over else
                    "duplicate: its event is counted for another output" if same else "wrong class")
        rows.append(EventRow(b / rate, i, label, shown(fw_e, fw_d) if same_count else "(no window)",
                             shown(py_e, py_d), note))
    event_labels = {seg.label for seg in events_segments}
    detected = set(matched.values())
    for k, seg in enumerate(segs):
        if not by_windows and k not in detected and seg.label in event_labels:
            rows.append(EventRow(seg.start / rate, -1, seg.label, "", "", "missed"))
    rows.sort(key=lambda r: (r.time_s, r.window))
    return rows


# --------------------------------------------------------------------------- #
# Text for the terminal
# --------------------------------------------------------------------------- #

def _events_text(m: Mapping[str, Any]) -> str:
    return (f"precision {m['precision']:.3f} ({m['tp']}/{m['n_detections']}), recall {m['recall']:.3f} "
            f"({m['tp']}/{m['n_events']}), F1 {m['f1']:.3f}; false activations {m['false_activations']} "
            f"({m['false_activations_per_hour']:.1f} per hour of background)")


def _windows_text(m: Mapping[str, Any]) -> str:
    return (f"{int(round(m['accuracy'] * m['n_windows']))} of {m['n_windows']} class decisions are the label "
            f"(accuracy {m['accuracy']:.1%}), macro F1 {m['macro_f1']:.3f}")


def replay_lines(replay: Replay, table: bool = True) -> list[str]:
    """The terminal output of ``automl replay``: per capture the event table and a summary.

    Args:
        replay: from :func:`replay_trial`.
        table: include the per-event tables.

    Returns:
        Lines without trailing newlines.
    """
    pipe = replay.pipeline
    where = "host build (gcc)" if replay.on == "host" else "Cortex-M4 build under QEMU mps2-an386"
    lines = [f"trial {replay.trial} of study {replay.study!r}: firmware ({where}, {replay.firmware_dir}) vs Python; "
             f"{pipe.segmenter.kind} windows of {pipe.segmenter.window_size} samples, vote {pipe.vote}, "
             f"refractory {pipe.refractory} samples"]
    for c in replay.captures:
        lines.append("")
        lines.append(f"{c.capture}: {c.n_samples:,} samples ({c.n_samples / c.sample_rate_hz:.1f} s at "
                     f"{c.sample_rate_hz:.4g} Hz), {c.n_windows} windows classified"
                     + ("" if c.labelled else "; no labelled events (not scored)"))
        if table:
            width = max([5, *(len(r.label) for r in c.rows)])
            cols = max([8, *(len(r.firmware) for r in c.rows)])
            lines.append(f"  {'time [s]':>8}  {'window':>6}  {'label':<{width}}  {'firmware':<{cols}}  python")
            for r in c.rows:
                win = "" if r.window < 0 else str(r.window)
                tail = f"  <- {r.note}" if r.note else ""
                lines.append(f"  {r.time_s:8.2f}  {win:>6}  {r.label:<{width}}  {r.firmware:<{cols}}  {r.python}{tail}")
            if not c.rows:
                lines.append("  (no event output and no labelled event)")
        n_fw = c.firmware.start.shape[0]
        if n_fw != c.n_windows:
            lines.append(f"  DISAGREE: the firmware classified {n_fw} windows, Python {c.n_windows}")
        else:
            lines.append(f"  agreement: {int(c.agree.sum())} of {c.n_windows} windows have the same start, class "
                         f"decision and emitted output" + ("" if c.identical else "  DISAGREE"))
        if c.events is not None:
            lines.append(f"  events (device metric of the search): {_events_text(c.events)}")
            if c.firmware_events is not None and c.firmware_events != c.events:
                lines.append(f"  events of the firmware's outputs: {_events_text(c.firmware_events)}")
        elif c.window_metrics is not None:
            lines.append(f"  windows (the model has no background class, so no events): {_windows_text(c.window_metrics)}")
        insns = c.firmware.insns
        if insns is not None:
            lines.append(f"  instructions per classification (QEMU): mean {insns['classify']['mean']:,}, "
                         f"max {insns['classify']['max']:,} over {insns['classify']['calls']} windows; per other "
                         f"sample: mean {insns['idle']['mean']:,}, max {insns['idle']['max']:,} "
                         f"(resolution {insns['per_tick']} instructions)")
    lines.append("")
    if replay.events is not None and len([c for c in replay.captures if c.events is not None]) > 1:
        lines.append(f"all recordings: events {_events_text(replay.events)}")
    elif replay.events is None and replay.window_metrics is not None and len(replay.captures) > 1:
        lines.append(f"all recordings: windows {_windows_text(replay.window_metrics)}")
    n_agree = sum(int(c.agree.sum()) for c in replay.captures)
    n_all = sum(c.n_windows for c in replay.captures)
    lines.append(f"firmware = Python on {n_agree} of {n_all} windows" if replay.identical else
                 f"DISAGREEMENT: firmware and Python differ ({n_agree} of {n_all} windows agree)")
    return lines
