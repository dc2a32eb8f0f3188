"""The recommended trial replayed on one held-out recording (SensiML's "Explore Model").

:func:`timeline_data` turns a capture, its labelled segments and a
:class:`~automl.pipeline.PipelineRun` into plain arrays (a decimated signal,
the segments and one predicted class per window); :func:`load_timeline` finds
the data and the trial's artifacts from the study and returns either that
data or a sentence saying why it is not available. Nothing here raises for
missing data or artifacts: the report says what is missing instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Upper bound on the points of the drawn signal (min/max pairs per bucket).
MAX_SIGNAL_POINTS = 4000
UNKNOWN = "unknown"


@dataclass(frozen=True)
class TimelineData:
    """What the timeline shows.

    Attributes:
        trial: trial number.
        capture: capture (recording) name.
        sample_rate_hz: sample rate of the capture (Hz).
        n_samples: samples in the capture.
        signal_name: what ``signal`` is, e.g. ``"|acc| = sqrt(accX² + accY² + accZ²)"``.
        t: ``(n_points,) float64`` seconds from the capture start of each drawn sample.
        signal: ``(n_points,) float64`` the drawn signal, sensor units of the source files.
        decimation: samples per min/max bucket (1 = every sample drawn).
        segments: labelled segments ``(start s, end s, label)`` other than the
            background, ascending start (end exclusive).
        window_start / window_end: ``(n_windows,) float64`` seconds; a window
            covers ``[start, end)``.
        predicted: ``n_windows`` predicted class names (the class decision;
            ``"unknown"`` below the unknown threshold).
        truth: ``n_windows`` class names the segmenter gave each window.
        classes: the model's classes (background first).
        background: the background class name.
        emitted: ``n_windows`` device outputs after post-processing (what
            ``kp_add_sample`` returns): a class name, ``"unknown"``, or ``""``
            when the output was suppressed; empty when not known.
        firmware: the exported firmware's outputs on the same windows, same
            encoding (``automl replay``); empty when the firmware did not run.
        agree: ``n_windows`` firmware and Python agree on the window (start,
            decision, output); empty when the firmware did not run.
    """

    trial: int
    capture: str
    sample_rate_hz: float
    n_samples: int
    signal_name: str
    t: np.ndarray
    signal: np.ndarray
    decimation: int
    segments: tuple[tuple[float, float, str], ...]
    window_start: np.ndarray
    window_end: np.ndarray
    predicted: tuple[str, ...]
    truth: tuple[str, ...]
    classes: tuple[str, ...]
    background: str
    emitted: tuple[str, ...] = ()
    firmware: tuple[str, ...] = ()
    agree: tuple[bool, ...] = ()

    @property
    def n_windows(self) -> int:
        return int(self.window_start.shape[0])

    @property
    def n_correct(self) -> int:
        return sum(p == t for p, t in zip(self.predicted, self.truth))


def magnitude_signal(data: np.ndarray, channels: Sequence[str]) -> tuple[np.ndarray, str]:
    """The accelerometer magnitude of a capture, or its first channel if it has no ``acc*`` channel.

    Args:
        data: ``(n_samples, n_channels) float32`` sensor units.
        channels: ``n_channels`` names.

    Returns:
        ``((n_samples,) float64, description)``.
    """
    acc = [i for i, c in enumerate(channels) if str(c).lower().startswith("acc")]
    x = np.asarray(data, dtype=np.float64)
    if acc:
        names = " + ".join(f"{channels[i]}²" for i in acc)
        return np.sqrt(np.sum(x[:, acc] ** 2, axis=1)), f"|acc| = sqrt({names})"
    return x[:, 0].copy(), str(channels[0])


def decimate_minmax(y: np.ndarray, max_points: int = MAX_SIGNAL_POINTS) -> tuple[np.ndarray, np.ndarray, int]:
    """Keep the minimum and the maximum of each bucket of samples, in time order.

    Peaks (punches) survive, unlike with plain striding. With ``n <= max_points``
    every sample is kept.

    Args:
        y: ``(n,) float64`` samples.
        max_points: at most this many points are returned (>= 2).

    Returns:
        ``(index (m,) int64, values (m,) float64, bucket)``: sample indices
        (ascending), their values and the bucket size in samples.

    Example:
        >>> decimate_minmax(np.array([0., 5, 1, 2, -3, 4, 9, 0]), 4)[0].tolist()
        [0, 1, 4, 6]
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.shape[0]
    if n <= max_points:
        return np.arange(n, dtype=np.int64), y.copy(), 1
    bucket = math.ceil(n / (max_points // 2))
    idx: list[int] = []
    for s in range(0, n, bucket):
        chunk = y[s:s + bucket]
        lo, hi = s + int(np.argmin(chunk)), s + int(np.argmax(chunk))
        idx.extend(sorted({lo, hi}))
    index = np.asarray(idx, dtype=np.int64)
    return index, y[index], bucket


def timeline_data(trial: int, capture, channels: Sequence[str], sample_rate_hz: float,
                  segments: Sequence, background: str, classes: Sequence[str],
                  window_start: np.ndarray, window_size: int, predicted: np.ndarray,
                  truth: np.ndarray, max_points: int = MAX_SIGNAL_POINTS, outputs: np.ndarray | None = None,
                  firmware: np.ndarray | None = None, agree: np.ndarray | None = None) -> TimelineData:
    """Plain timeline data of one capture.

    Args:
        trial: trial number.
        capture: an :class:`automl.data.Capture` (``name``, ``data``
            ``(n_samples, n_channels) float32`` sensor units).
        channels: channel names of ``capture.data``.
        sample_rate_hz: Hz.
        segments: :class:`automl.data.Segment` s of this capture (samples, end exclusive).
        background: background class name (its segments are not listed).
        classes: the model's class names.
        window_start: ``(n_windows,) int64`` first sample of each window.
        window_size: samples per window.
        predicted: ``(n_windows,) int64`` class index into ``classes``, -1 = unknown.
        truth: ``(n_windows,) int64`` labelled class index of each window.
        max_points: bound on drawn signal points.
        outputs: ``(n_windows,) int64`` device outputs after post-processing
            (:attr:`automl.pipeline.PipelineRun.outputs`: class index, -1 unknown,
            -2 nothing emitted), or None.
        firmware: ``(n_windows,) int64`` the firmware's outputs, same encoding, or None.
        agree: ``(n_windows,) bool`` firmware and Python agree on the window, or None.

    Returns:
        The :class:`TimelineData`.
    """
    rate = float(sample_rate_hz)
    y, name = magnitude_signal(capture.data, channels)
    index, values, bucket = decimate_minmax(y, max_points)
    segs = tuple(sorted((s.start / rate, s.end / rate, str(s.label)) for s in segments
                        if s.label != background))
    start = np.asarray(window_start, dtype=np.float64)
    names = [str(c) for c in classes]

    def name_of(i: int) -> str:
        return names[i] if 0 <= i < len(names) else UNKNOWN

    def output_names(values) -> tuple[str, ...]:
        return () if values is None else tuple("" if int(i) == -2 else name_of(int(i)) for i in np.asarray(values))

    return TimelineData(
        trial=int(trial), capture=str(capture.name), sample_rate_hz=rate, n_samples=int(y.shape[0]),
        signal_name=name, t=index / rate, signal=values, decimation=int(bucket), segments=segs,
        window_start=start / rate, window_end=(start + int(window_size)) / rate,
        predicted=tuple(name_of(int(i)) for i in np.asarray(predicted)),
        truth=tuple(name_of(int(i)) for i in np.asarray(truth)),
        classes=tuple(names), background=str(background), emitted=output_names(outputs),
        firmware=output_names(firmware), agree=() if agree is None else tuple(bool(a) for a in agree),
    )


def load_timeline(study_dir: Path | None, study_attrs: Mapping[str, Any], trial: int,
                  artifact_dir: str | None, capture: str | None = None,
                  max_points: int = MAX_SIGNAL_POINTS) -> tuple[TimelineData | None, str]:
    """Replay ``trial`` on one held-out capture of the study's data.

    Re-reads the data from the study's ``data_source`` (a folder, or
    ``basic-motions``) with the recorded reader options (``data_format``,
    ``data_options``: resampling, channels, ...) and takes the recorded
    ``test_captures`` (older studies: reads it as detected and splits it with
    ``test_glob``), loads
    the trial's ``pipeline.json`` and ``model.tflite`` (from its artifact
    folder or a pack, :func:`automl.search.read_artifact`) and runs it
    on the capture (default: the first held-out capture).

    Returns:
        ``(data, "")``, or ``(None, sentence saying what is missing)``.
    """
    from automl.errors import AutomlError, StudyError

    if study_dir is None:
        return None, "The report was built without the study folder, so the trial's model cannot be replayed."
    source = study_attrs.get("data_source")
    test_glob = study_attrs.get("test_glob")
    if not source:
        return None, "The study does not record its data source, so there is no recording to replay."
    if not test_glob and not study_attrs.get("test_captures"):
        return None, "The study does not record which captures are held out (test_glob)."
    if not artifact_dir:
        return None, f"Trial {trial} records no artifact folder, so its model cannot be replayed."
    from automl.search import load_trial_pipeline

    try:  # the artifacts first (from the trial's folder or a pack): cheaper to check than re-reading the data
        pipe = load_trial_pipeline(Path(study_dir), trial)
    except StudyError as exc:
        return None, f"{exc}."
    space = study_attrs.get("space") if isinstance(study_attrs.get("space"), Mapping) else {}
    data_opts = space.get("data") if isinstance(space.get("data"), Mapping) else {}
    background = str(data_opts.get("background") or "NoActivity")
    try:
        test = held_out_data(study_attrs)
    except AutomlError as exc:
        return None, f"The study's data could not be re-read ({exc})."
    except Exception as exc:  # a reader failing in an unexpected way must not break the report
        return None, f"The study's data could not be re-read ({type(exc).__name__}: {exc})."
    names = test.capture_names()
    wanted = capture or next((c for c in study_attrs.get("test_captures") or () if c in names), names[0])
    if wanted not in names:
        return None, f"Held-out capture {wanted!r} is not in the data (held-out captures: {', '.join(names)})."
    one = test.subset([wanted])
    try:
        run = pipe.run(one)
    except Exception as exc:  # a broken model file, a missing channel, ...
        return None, f"Replaying trial {trial} on {wanted!r} failed ({type(exc).__name__}: {exc})."
    cap = one.captures[0]
    return timeline_data(trial, cap, one.channels, one.sample_rate_hz,
                         [s for s in one.segments if s.capture == wanted], background, pipe.classes,
                         run.start, pipe.segmenter.window_size, run.predicted, run.y_true, max_points,
                         outputs=run.outputs), ""


def held_out_data(study_attrs: Mapping[str, Any]):
    """The study's held-out captures, read again from its data source (sensor units).

    Searches that record their reader options (``data_format``, ``data_paths``,
    ``data_options``) are read with :class:`automl.data.DataSource` and its
    ``test_captures``; older ones from ``data_source`` split by ``test_glob``.

    Returns:
        The held-out :class:`automl.data.Dataset`.

    Raises:
        StudyError: the study records no data source or held-out captures.
        DataError / ConfigError: as the data's reader (e.g. the source is not on this machine).
    """
    from automl.errors import StudyError

    source = study_attrs.get("data_source")
    if not source or not (study_attrs.get("test_glob") or study_attrs.get("test_captures")):
        raise StudyError("the study records no data source or held-out captures (data_source, test_glob)")
    if study_attrs.get("data_format"):  # recorded by searches that record the reader options
        from automl.data import DataSource

        dataset = DataSource(list(study_attrs.get("data_paths") or []),
                             None if study_attrs.get("data_paths") else str(source),
                             str(study_attrs["data_format"]), dict(study_attrs.get("data_options") or {})).load()
        return dataset.subset(list(study_attrs.get("test_captures") or ()))
    space = study_attrs.get("space") if isinstance(study_attrs.get("space"), Mapping) else {}
    data_opts = space.get("data") if isinstance(space.get("data"), Mapping) else {}
    background = str(data_opts.get("background") or "NoActivity")
    return _load_source(str(source), background, data_opts.get("label_column")).split(str(study_attrs["test_glob"]))[1]


def _load_source(source: str, background: str, label_column: Any):
    from automl.data import detect_format, import_dataset, load_basic_motions
    from automl.errors import DataError

    if source == "basic-motions":
        return load_basic_motions()
    path = Path(source)
    if not path.exists():
        raise DataError(f"data source {source} does not exist on this machine")
    fmt = detect_format(path)
    options: dict[str, Any] = {"background": background}
    if fmt == "label-column" and label_column:
        options["label_column"] = label_column
    return import_dataset(path, fmt, **options)
