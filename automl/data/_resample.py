"""Resampling a capture onto a fixed clock, and its label segments with it.

Method, for a capture with sample times ``t`` (seconds, any spacing: jitter
and dropped samples included) and a target rate ``f``:

1. ``up / down`` = the fraction nearest to ``f / f0`` (``f0`` = the
   capture's ``1 / median interval``) with ``down <= MAX_DOWN``
   (``fractions.Fraction.limit_denominator``), and the intermediate rate
   ``fi = f * down / up`` (within ``1 / (2 * MAX_DOWN**2)`` relative of
   ``f0``: 100.5 Hz -> 50 Hz gives 1/2 and 100 Hz).
2. Every channel is linearly interpolated (``numpy.interp``) at
   ``k / fi``, ``k = 0 .. floor(t[-1] * fi)``: a uniform clock at about the
   recorded rate; gaps are bridged by straight lines.
3. ``scipy.signal.resample_poly(x, up, down, padtype="line")``: polyphase
   filtering with scipy's default Kaiser-window FIR (beta 5), which is the
   anti-aliasing low-pass when downsampling; ``padtype="line"`` keeps
   gravity's offset from ringing at the capture's ends. Output sample ``j``
   is at ``j / f`` s; samples after ``t[-1]`` are dropped.

Segments are mapped by time, exactly: a segment ``[s, e)`` spans the times
``t[s] <= tau < t[e]`` (``t[n]`` = ``t[n-1]`` + the median interval), and the
new segment is the output samples whose time ``j / f`` falls in that span
(half-open, so segments that tiled the capture still tile it). A segment too
short to hold any output sample is dropped (and counted).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from automl.data._dataset import Segment

#: Largest ``down`` of the polyphase ratio; bounds the filter length
#: (scipy uses ``20 * max(up, down) + 1`` taps) and the intermediate-rate error.
MAX_DOWN = 64


def resample_ratio(source_hz: float, target_hz: float) -> tuple[int, int, float]:
    """``(up, down, intermediate rate)`` of step 1 above."""
    frac = Fraction(target_hz / source_hz).limit_denominator(MAX_DOWN)
    if frac.numerator == 0:  # target far below the source: decimate by MAX_DOWN
        frac = Fraction(1, MAX_DOWN)
    return frac.numerator, frac.denominator, target_hz * frac.denominator / frac.numerator


def resample(data: np.ndarray, t: np.ndarray, source_hz: float, target_hz: float) -> np.ndarray:
    """A capture resampled to ``target_hz`` (method in the module docstring).

    Args:
        data: ``(n_samples, n_channels) float32``, sensor units.
        t: ``(n_samples,) float64`` sample times, seconds from the first
            sample, strictly increasing.
        source_hz: the capture's rate, ``1 / median(diff(t))``.
        target_hz: the new rate (Hz).

    Returns:
        ``(floor(t[-1] * target_hz) + 1, n_channels) float32``: sample ``j``
        at ``j / target_hz`` s.
    """
    from scipy.signal import resample_poly  # ~0.3 s import; only when resampling

    up, down, mid_hz = resample_ratio(source_hz, target_hz)
    grid = np.arange(int(np.floor(t[-1] * mid_hz + 1e-9)) + 1, dtype=np.float64) / mid_hz
    x = np.column_stack([np.interp(grid, t, data[:, c].astype(np.float64)) for c in range(data.shape[1])])
    if (up, down) != (1, 1) and grid.size > 1:
        x = resample_poly(x, up, down, axis=0, padtype="line")
    n_out = int(np.floor(t[-1] * target_hz + 1e-9)) + 1
    return np.ascontiguousarray(x[:n_out], dtype=np.float32)


def map_segments(segments: Sequence[Segment], t: np.ndarray, target_hz: float, n_out: int) -> tuple[list[Segment], int]:
    """Segments of one capture moved onto the resampled clock (rule in the module docstring).

    Args:
        segments: segments of one capture, original sample indices.
        t: ``(n_samples,) float64`` original sample times (s).
        target_hz: the new rate (Hz).
        n_out: number of resampled samples.

    Returns:
        ``(segments in new sample indices, number dropped as too short)``.
    """
    n = t.size
    step = float(np.median(np.diff(t))) if n > 1 else 1.0 / target_hz
    edges = np.append(t, t[-1] + step)
    tol = 1e-6 / target_hz  # float rounding of j / f against t
    out, dropped = [], 0
    for s in segments:
        first = int(np.ceil((edges[s.start] - tol) * target_hz))
        stop = min(int(np.ceil((edges[s.end] - tol) * target_hz)), n_out)
        if stop > first:
            out.append(Segment(s.capture, s.label, max(first, 0), stop))
        else:
            dropped += 1
    return out, dropped
