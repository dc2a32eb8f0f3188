"""Threshold ("windowing threshold") segmentation: one window per trigger event.

For discrete events such as punches: a window is cut around every sample at
which a detection signal (see :mod:`automl.segmentation._detection`) crosses a
threshold. The semantics are those of a streaming segmenter fed one sample at
a time, exactly what ``firmware/runtime/kp_segment.h`` does; the Python code is
vectorised per capture but gives the same windows.
"""

from __future__ import annotations

import math

import numpy as np

from automl.data import Dataset, Segment
from automl.errors import ConfigError
from automl.segmentation._detection import _check_mode, column_sources, detection_signal, threshold_from_quantile
from automl.segmentation._sliding import Windows, label_windows


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def select_triggers(detection: np.ndarray, threshold: float, slide: int) -> np.ndarray:
    """Trigger samples of one capture, with the refractory period applied.

    Streaming rule: ``next_allowed = 0``; at each sample ``t``, if
    ``detection[t] > threshold`` (float32 compare) and ``t >= next_allowed``,
    then ``t`` is a trigger and ``next_allowed = t + slide``.

    Args:
        detection: ``(n_samples,) float32`` detection signal (NaN = undefined,
            never triggers).
        threshold: threshold in the detection signal's units (cast to float32).
        slide: refractory period (samples), >= 1.

    Returns:
        ``(n_triggers,) int64`` trigger samples, ascending.
    """
    above = np.flatnonzero(np.asarray(detection, np.float32) > np.float32(threshold))
    if above.size == 0:
        return above.astype(np.int64)
    if slide == 1:
        return above.astype(np.int64)
    # One step per trigger (not per sample): jump to the first candidate >= t + slide.
    out = []
    i = 0
    while i < above.size:
        t = int(above[i])
        out.append(t)
        i = int(np.searchsorted(above, t + slide, side="left"))
    return np.asarray(out, dtype=np.int64)


def cut_windows(data: np.ndarray, starts: np.ndarray, window_size: int) -> np.ndarray:
    """``(n, window_size, n_channels) float32`` copies of ``data[s:s + window_size]``."""
    view = np.lib.stride_tricks.sliding_window_view(data, window_size, axis=0)[starts]  # (n, c, w)
    return np.ascontiguousarray(view.transpose(0, 2, 1), dtype=np.float32)


class ThresholdWindow:
    """One window per threshold crossing (SensiML "Windowing Threshold").

    Streaming semantics (per capture, samples ``t = 0, 1, ...``), identical to
    ``kp_segment.h``:

    1. ``d[t]`` is the detection value of ``column`` at ``t`` (``mode``
       ``"absolute"``: ``|v[t]|``; ``"std"``: population std of the last
       ``detection_window`` values ending at ``t``, undefined before
       ``t = detection_window - 1``), float32.
    2. ``t`` is a *trigger* if ``d[t] > threshold`` and ``t >= next_allowed``;
       then ``next_allowed = t + slide`` (refractory period; ``next_allowed``
       starts at 0).
    3. A trigger's window is ``[t - lookback, t - lookback + window_size)``; it is
       emitted when its last sample ``t - lookback + window_size - 1`` arrives.
    4. A trigger with ``t < lookback`` (window would start before the capture)
       or whose window would run past the end of the capture is dropped. A
       dropped trigger still starts a refractory period.

    Triggers less than ``window_size - lookback`` samples apart give overlapping
    windows (several pending at once in the C ring buffer).

    Windows are labelled with :func:`label_windows`, as for
    :class:`~automl.segmentation.SlidingWindow`.

    Args:
        window_size: window length (samples), >= 1.
        column: channel name, or ``"accMag"`` / ``"gyrMag"`` (Euclidean norm of
            the three ``acc*`` / ``gyr*`` channels).
        threshold: trigger level in the column's units (finite; compared in
            float32). See :func:`threshold_from_quantile` /
            :meth:`from_quantile`.
        mode: ``"absolute"`` or ``"std"``.
        detection_window: samples in the std window, >= 1 (ignored by
            ``"absolute"``).
        lookback: samples kept before the trigger, ``0 <= lookback < window_size``.
        slide: refractory period (samples), >= 1; default ``window_size``.

    Raises:
        ConfigError: (from :meth:`transform`) on an invalid parameter.

    Example:
        >>> seg = ThresholdWindow(100, "accMag", threshold=15.0, mode="absolute", lookback=30, slide=50)
        >>> windows = seg.transform(dataset)  # doctest: +SKIP
    """

    def __init__(
        self,
        window_size: int,
        column: str,
        threshold: float,
        mode: str = "std",
        detection_window: int = 10,
        lookback: int = 0,
        slide: int | None = None,
    ):
        self.window_size = window_size
        self.column = column
        self.threshold = threshold
        self.mode = mode
        self.detection_window = detection_window
        self.lookback = lookback
        self.slide = slide

    @classmethod
    def from_quantile(
        cls,
        dataset: Dataset,
        q: float,
        window_size: int,
        column: str,
        mode: str = "std",
        detection_window: int = 10,
        lookback: int = 0,
        slide: int | None = None,
    ) -> "ThresholdWindow":
        """A segmenter whose threshold is the ``q`` quantile of ``dataset``'s detection signal.

        Args:
            dataset: the training captures (the threshold is learned here only).
            q: quantile in ``[0, 1]``; see :func:`threshold_from_quantile`.
            window_size, column, mode, detection_window, lookback, slide: as
                for the constructor.
        """
        thr = threshold_from_quantile(dataset, column, mode, detection_window, q)
        return cls(window_size, column, thr, mode, detection_window, lookback, slide)

    def _resolved_slide(self) -> int:
        return self.window_size if self.slide is None else self.slide

    def _check(self, channels, sensors=None) -> None:
        name = type(self).__name__
        for key in ("window_size", "slide"):
            value = self.window_size if key == "window_size" else self._resolved_slide()
            if not _is_int(value) or value < 1:
                raise ConfigError(f"The {key!r} parameter of {name} must be an int >= 1 (samples). Got {value!r} instead.")
        if not _is_int(self.lookback) or not 0 <= self.lookback < self.window_size:
            raise ConfigError(
                f"The 'lookback' parameter of {name} must be an int with 0 <= lookback < window_size "
                f"({self.window_size}) (samples). Got {self.lookback!r} instead."
            )
        t = self.threshold
        if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)) or not math.isfinite(float(t)):
            raise ConfigError(f"The 'threshold' parameter of {name} must be a finite number. Got {t!r} instead.")
        if not isinstance(self.column, str):
            raise ConfigError(f"The 'column' parameter of {name} must be a str. Got {self.column!r} instead.")
        _check_mode(self.mode, self.detection_window)
        column_sources(channels, self.column, sensors)

    def triggers(self, data: np.ndarray, channels, sensors=None) -> np.ndarray:
        """Trigger samples of one capture (including those whose window is dropped).

        Args:
            data: ``(n_samples, n_channels)`` sensor values, units of the source.
            channels: channel names of ``data``'s last axis.
            sensors: sensor groups for a magnitude column (``Dataset.sensors``);
                None for the name-prefix rule.

        Returns:
            ``(n_triggers,) int64`` samples, ascending.
        """
        self._check(channels, sensors)
        d = detection_signal(data, channels, self.column, self.mode, self.detection_window, sensors)
        return select_triggers(d, self.threshold, int(self._resolved_slide()))

    def starts(self, data: np.ndarray, channels, sensors=None) -> np.ndarray:
        """Starts of the emitted windows of one capture.

        Returns:
            ``(n_windows,) int64`` window starts (samples), ascending: triggers
            minus ``lookback``, without the dropped ones.
        """
        trig = self.triggers(data, channels, sensors)
        n = int(np.asarray(data).shape[0])
        st = trig - int(self.lookback)
        return st[(st >= 0) & (st + int(self.window_size) <= n)]

    def transform(self, dataset: Dataset, classes: list[str] | None = None) -> Windows:
        """Cut a window around every trigger of every capture and label it.

        Args:
            dataset: the captures and their segments.
            classes: class names, background first; default ``dataset.labels()``.

        Returns:
            The windows, in capture order then start order; ``X`` is
            ``(n_windows, window_size, n_channels) float32`` in the units of the
            source. May be empty.

        Raises:
            ConfigError: on an invalid parameter or an unknown column.
        """
        self._check(dataset.channels, dataset.sensors)
        classes = list(classes) if classes is not None else dataset.labels()
        w = int(self.window_size)
        by_capture: dict[str, list[Segment]] = {}
        for seg in dataset.segments:
            by_capture.setdefault(seg.capture, []).append(seg)
        xs, ys, caps, starts = [], [], [], []
        for ci, cap in enumerate(dataset.captures):
            st = self.starts(cap.data, dataset.channels, dataset.sensors)
            if st.size == 0:
                continue
            xs.append(cut_windows(cap.data, st, w))
            ys.append(label_windows(st, w, by_capture.get(cap.name, []), classes))
            caps.append(np.full(st.shape[0], ci, dtype=np.int64))
            starts.append(st)
        if not xs:
            return Windows(
                np.zeros((0, w, len(dataset.channels)), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64),
                np.zeros(0, np.int64), classes, dataset.capture_names(),
            )
        return Windows(
            np.concatenate(xs), np.concatenate(ys), np.concatenate(caps), np.concatenate(starts),
            classes, dataset.capture_names(),
        )
