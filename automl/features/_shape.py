"""The ``Shape`` family: trend line, crossings, peaks and where the extremes are.

Feature order: ``slope, intercept, stderr, zero_crossings, mean_crossings,
peak_count, argmax, argmin``.

Definitions, float32, one window ``x_0..x_{n-1}`` of one channel, sample
index ``t_i = (float)i``, ``tm = (float)(n-1) / 2``, ``u_i = t_i - tm``,
``c_i`` the mean-removed samples (:attr:`WindowBlock.centered`),
``mean = S(x) / n``:

* Least-squares line of ``x`` on ``t``: ``Stt = S(u*u)``, ``Sty = S(u*c)``,
  ``slope = Sty / Stt`` (channel units per sample), ``intercept = mean -
  slope * tm`` (value at ``t = 0``), residuals ``r_i = c_i - slope * u_i``,
  ``stderr = sqrtf((S(r*r) / (float)(n-2)) / Stt)``: the standard error of
  the slope, as ``scipy.stats.linregress(t, x).stderr``.
* ``zero_crossings``: number of ``i = 1..n-1`` with ``(x_{i-1} < 0) !=
  (x_i < 0)`` (0 counts as non-negative).
* ``mean_crossings``: the same with ``x < mean`` in place of ``x < 0``.
* ``peak_count``: number of strict local maxima above the mean, ``i =
  1..n-2`` with ``x_i > x_{i-1}``, ``x_i > x_{i+1}`` and ``x_i > mean``
  (a plateau is not a peak).
* ``argmax``/``argmin``: index (in samples, 0-based) of the first maximum /
  minimum.

Counts and indices are returned as float32 (exact below 2**24).

Defined values: ``n == 1``: ``slope = 0``, ``intercept = x_0``; ``n <= 2``:
``stderr = 0`` (the line fits exactly); a constant window has ``slope = 0``,
``stderr = 0``, no crossings, no peaks and ``argmax = argmin = 0``;
``peak_count = 0`` when ``n < 3``.
"""

from __future__ import annotations

import numpy as np

from automl.features._block import F32, WindowBlock, safe_divide, seqsum
from automl.features._registry import register_generator

FAMILY = "Shape"


def _centered_time(n: int) -> tuple[np.ndarray, np.float32, np.float32]:
    """``u_i = (float)i - tm`` as ``(n, 1, 1) float32``, ``tm`` and ``Stt = S(u*u)``."""
    tm = F32(n - 1) / F32(2.0)
    u = np.arange(n, dtype=F32) - tm
    return u[:, None, None], tm, seqsum(u * u)


def _slope(b: WindowBlock) -> np.ndarray:
    u, _, stt = _centered_time(b.n)
    sty = seqsum(u * b.centered)
    return safe_divide(sty, stt)


@register_generator(FAMILY, "slope")
def slope(b: WindowBlock) -> np.ndarray:
    """Least-squares slope of the window on its sample index, channel units per sample."""
    return _slope(b)


@register_generator(FAMILY, "intercept")
def intercept(b: WindowBlock) -> np.ndarray:
    """Least-squares line's value at sample 0, ``mean - slope * tm``, channel units."""
    _, tm, _ = _centered_time(b.n)
    return b.mean - _slope(b) * tm


@register_generator(FAMILY, "stderr")
def stderr(b: WindowBlock) -> np.ndarray:
    """Standard error of the slope, channel units per sample; 0 when ``n <= 2``."""
    n = b.n
    if n <= 2:
        return b.zeros()
    u, _, stt = _centered_time(n)
    r = b.centered - _slope(b) * u
    sse = seqsum(r * r)
    return np.sqrt((sse / F32(n - 2)) / stt)


def _crossings(below: np.ndarray) -> np.ndarray:
    return (below[1:] != below[:-1]).sum(axis=0).astype(F32)


@register_generator(FAMILY, "zero_crossings")
def zero_crossings(b: WindowBlock) -> np.ndarray:
    """Sign changes between consecutive samples (0 counts as positive), a count."""
    return _crossings(b.T < F32(0.0))


@register_generator(FAMILY, "mean_crossings")
def mean_crossings(b: WindowBlock) -> np.ndarray:
    """Crossings of the window mean between consecutive samples, a count."""
    return _crossings(b.T < b.mean)


@register_generator(FAMILY, "peak_count")
def peak_count(b: WindowBlock) -> np.ndarray:
    """Strict local maxima above the mean, a count; 0 when ``n < 3``."""
    if b.n < 3:
        return b.zeros()
    T = b.T
    mid = T[1:-1]
    peak = (mid > T[:-2]) & (mid > T[2:]) & (mid > b.mean)
    return peak.sum(axis=0).astype(F32)


@register_generator(FAMILY, "argmax")
def argmax(b: WindowBlock) -> np.ndarray:
    """Index of the first maximum, in samples from the window start."""
    return b.argmax.astype(F32)


@register_generator(FAMILY, "argmin")
def argmin(b: WindowBlock) -> np.ndarray:
    """Index of the first minimum, in samples from the window start."""
    return b.argmin.astype(F32)
