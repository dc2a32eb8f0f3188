"""Sliding-window segmentation with overlap-majority labelling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from automl.data import Dataset, Segment
from automl.errors import ConfigError


@dataclass
class Windows:
    """Windows cut from a dataset.

    Attributes:
        X: ``(n_windows, window_size, n_channels) float32`` sensor values, units
            of the source data.
        y: ``(n_windows,) int64`` class index into ``classes``.
        capture: ``(n_windows,) int64`` index of the source capture in
            ``capture_names``.
        start: ``(n_windows,) int64`` first sample of each window in its capture
            (samples).
        classes: class names; index 0 is the background class.
        capture_names: names of the captures the windows came from.
    """

    X: np.ndarray
    y: np.ndarray
    capture: np.ndarray
    start: np.ndarray
    classes: list[str]
    capture_names: list[str]

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def groups(self) -> np.ndarray:
        """``(n_windows,) <U`` capture name of each window (for grouped splits)."""
        return np.asarray(self.capture_names, dtype=object)[self.capture].astype(str)

    def take(self, mask: np.ndarray) -> "Windows":
        """The windows selected by a boolean mask or index array."""
        return Windows(
            self.X[mask], self.y[mask], self.capture[mask], self.start[mask],
            self.classes, self.capture_names,
        )


def label_windows(
    starts: np.ndarray,
    window_size: int,
    segments: list[Segment],
    classes: list[str],
) -> np.ndarray:
    """Label windows of one capture by the labelled segment they overlap most.

    A window ``[s, s + window_size)`` takes the label of the non-background
    segment with the largest overlap (samples) if that overlap is at least half
    of ``min(window_size, segment length)``: the window covers at least half of
    the event, or the event fills at least half of the window. (Measuring only
    against the window length would call a 200-sample window holding a whole
    110-sample punch "background".) Two segments of different labels tied for the
    largest overlap, or too little overlap, give the background class (index 0).

    Args:
        starts: ``(n_windows,) int64`` window starts (samples).
        window_size: window length (samples).
        segments: segments of this capture (any order; background segments and
            labels not in ``classes`` are ignored).
        classes: class names, background first.

    Returns:
        ``(n_windows,) int64`` class indices.
    """
    starts = np.asarray(starts, dtype=np.int64)
    n = starts.shape[0]
    labels = np.zeros(n, dtype=np.int64)
    index = {c: i for i, c in enumerate(classes)}
    fg = [s for s in segments if s.label != classes[0] and s.label in index]
    if n == 0 or not fg:
        return labels
    seg_start = np.array([s.start for s in fg], dtype=np.int64)
    seg_end = np.array([s.end for s in fg], dtype=np.int64)
    seg_cls = np.array([index[s.label] for s in fg], dtype=np.int64)
    ends = starts + window_size
    # overlap[w, s] in samples, vectorised over windows x segments.
    overlap = np.minimum(ends[:, None], seg_end[None, :]) - np.maximum(starts[:, None], seg_start[None, :])
    overlap = np.clip(overlap, 0, None)
    need = np.minimum(window_size, seg_end - seg_start)[None, :]  # samples
    best = overlap.argmax(axis=1)
    best_ov = overlap[np.arange(n), best]
    # A tie between different labels at the best overlap -> background.
    at_best = overlap == best_ov[:, None]
    enough = (at_best & (2 * overlap >= need)).any(axis=1)
    big = np.iinfo(np.int64).max
    lo = np.where(at_best, seg_cls[None, :], big).min(axis=1)
    hi = np.where(at_best, seg_cls[None, :], -1).max(axis=1)
    ok = enough & (best_ov > 0) & (lo == hi)
    labels[ok] = seg_cls[best[ok]]
    return labels


class SlidingWindow:
    """Fixed-size windows every ``slide`` samples (SensiML "Windowing").

    Args:
        window_size: window length (samples), >= 1.
        slide: step between window starts (samples), >= 1.

    Raises:
        ConfigError: if ``window_size`` or ``slide`` is not a positive integer.
    """

    def __init__(self, window_size: int, slide: int):
        self.window_size = window_size
        self.slide = slide

    def _check(self) -> None:
        for name in ("window_size", "slide"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"The {name!r} parameter of SlidingWindow must be an int >= 1 (samples). Got {value!r} instead.")

    def transform(self, dataset: Dataset, classes: list[str] | None = None) -> Windows:
        """Cut every capture into windows and label them.

        A capture shorter than ``window_size`` yields no window. Windows start
        at 0, slide, 2*slide, ... while ``start + window_size <= n_samples``.

        Args:
            dataset: the captures and their segments.
            classes: class names, background first; default
                ``dataset.labels()``.

        Returns:
            The windows; ``X`` is ``(n_windows, window_size, n_channels) float32``.
            May be empty (``n_windows == 0``).

        Raises:
            ConfigError: on an invalid ``window_size`` or ``slide``.
        """
        self._check()
        classes = list(classes) if classes is not None else dataset.labels()
        w, s = int(self.window_size), int(self.slide)
        n_ch = len(dataset.channels)
        by_capture: dict[str, list[Segment]] = {}
        for seg in dataset.segments:
            by_capture.setdefault(seg.capture, []).append(seg)
        xs, ys, caps, starts = [], [], [], []
        for ci, cap in enumerate(dataset.captures):
            if cap.n_samples < w:
                continue
            st = np.arange(0, cap.n_samples - w + 1, s, dtype=np.int64)
            view = np.lib.stride_tricks.sliding_window_view(cap.data, w, axis=0)[st]  # (n, c, w)
            xs.append(np.ascontiguousarray(view.transpose(0, 2, 1), dtype=np.float32))
            ys.append(label_windows(st, w, by_capture.get(cap.name, []), classes))
            caps.append(np.full(st.shape[0], ci, dtype=np.int64))
            starts.append(st)
        if not xs:
            return Windows(
                np.zeros((0, w, n_ch), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64),
                np.zeros(0, np.int64), classes, dataset.capture_names(),
            )
        return Windows(
            np.concatenate(xs), np.concatenate(ys), np.concatenate(caps), np.concatenate(starts),
            classes, dataset.capture_names(),
        )
