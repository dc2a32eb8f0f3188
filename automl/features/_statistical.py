"""The ``Statistical`` family: per-channel moments, extremes and percentiles.

Feature order (registration order; the first ten kept their indices when the
last three were appended): ``mean, std, min, max, p25, p75, iqr, sum,
skewness, kurtosis, variance, median, abs_mean``.

Definitions, float32, for one window ``x_0..x_{n-1}`` of one channel
(``S(.)`` the sequential sum over ``i = 0..n-1``, ``c_i`` the mean-removed
samples ``(x_i - x_0) - S(x - x_0)/n`` of :attr:`WindowBlock.centered`):

* ``sum = S(x)``; ``mean = S(x) / n``; ``abs_mean = S(|x|) / n``.
* ``variance = m2 = S(c*c) / n`` (population); ``std = sqrtf(m2)``.
* ``skewness = m3 / (m2 * sqrtf(m2))`` with ``m3 = S((c*c)*c) / n``
  (biased Fisher-Pearson, scipy ``skew(bias=True)``).
* ``kurtosis = m4 / (m2 * m2) - 3`` with ``m4 = S((c*c)*(c*c)) / n``
  (biased excess kurtosis, scipy ``kurtosis(bias=True)``).
* ``min``/``max``: the first sample attaining the extreme.
* ``median``, ``p25``, ``p75``: on a stable sorted copy, position
  ``h = q (n-1)`` (``q`` = 1/2, 1/4, 3/4) in exact integers, value
  ``s[lo] + frac * (s[lo+1] - s[lo])`` (see :func:`percentile_sorted`);
  numpy ``percentile(method="linear")`` up to float32 rounding.
* ``iqr = p75 - p25``.

Defined values: a window of one sample or a constant window has ``std =
variance = iqr = 0`` and, by convention, ``skewness = kurtosis = 0`` (scipy
gives NaN): whenever the denominator ``m2*sqrtf(m2)`` / ``m2*m2`` is 0, which
also covers a variance so small that it underflows. A window of two distinct
samples has ``skewness = 0`` and ``kurtosis = -2``, as in scipy.
"""

from __future__ import annotations

import numpy as np

from automl.features._block import F32, WindowBlock, percentile_sorted, safe_divide, seqsum
from automl.features._registry import register_generator

FAMILY = "Statistical"


@register_generator(FAMILY, "mean")
def mean(b: WindowBlock) -> np.ndarray:
    """Arithmetic mean ``S(x) / n``, channel units."""
    return b.mean


@register_generator(FAMILY, "std")
def std(b: WindowBlock) -> np.ndarray:
    """Population standard deviation ``sqrtf(m2)``, channel units; 0 when constant."""
    return np.sqrt(b.m2)


@register_generator(FAMILY, "min")
def minimum(b: WindowBlock) -> np.ndarray:
    """Smallest sample, channel units."""
    return b.min


@register_generator(FAMILY, "max")
def maximum(b: WindowBlock) -> np.ndarray:
    """Largest sample, channel units."""
    return b.max


@register_generator(FAMILY, "p25", c_args=("scratch",), needs_sorted=True)
def p25(b: WindowBlock) -> np.ndarray:
    """25th percentile (linear interpolation on the sorted window), channel units."""
    return percentile_sorted(b.sorted, 1, 4)


@register_generator(FAMILY, "p75", c_args=("scratch",), needs_sorted=True)
def p75(b: WindowBlock) -> np.ndarray:
    """75th percentile (linear interpolation on the sorted window), channel units."""
    return percentile_sorted(b.sorted, 3, 4)


@register_generator(FAMILY, "iqr", c_args=("scratch",), needs_sorted=True)
def iqr(b: WindowBlock) -> np.ndarray:
    """Interquartile range ``p75 - p25``, channel units."""
    return percentile_sorted(b.sorted, 3, 4) - percentile_sorted(b.sorted, 1, 4)


@register_generator(FAMILY, "sum")
def total(b: WindowBlock) -> np.ndarray:
    """Sequential sum of the window's samples, channel units."""
    return b.total


@register_generator(FAMILY, "skewness")
def skewness(b: WindowBlock) -> np.ndarray:
    """Biased skewness ``m3 / (m2 * sqrtf(m2))``, dimensionless; 0 when the denominator is 0."""
    c2 = b.centered_sq
    m3 = seqsum(c2 * b.centered) / F32(b.n)
    m2 = b.m2
    return safe_divide(m3, m2 * np.sqrt(m2))


@register_generator(FAMILY, "kurtosis")
def kurtosis(b: WindowBlock) -> np.ndarray:
    """Biased excess kurtosis ``m4 / (m2 * m2) - 3``, dimensionless; 0 when ``m2 * m2 == 0``."""
    c2 = b.centered_sq
    m4 = seqsum(c2 * c2) / F32(b.n)
    m2 = b.m2
    den = m2 * m2
    out = safe_divide(m4, den)
    positive = den > F32(0.0)
    out[positive] -= F32(3.0)
    return out


@register_generator(FAMILY, "variance")
def variance(b: WindowBlock) -> np.ndarray:
    """Population variance ``m2 = S(c*c) / n``, channel units squared; 0 when constant."""
    return b.m2.copy()


@register_generator(FAMILY, "median", c_args=("scratch",), needs_sorted=True)
def median(b: WindowBlock) -> np.ndarray:
    """Median (50th percentile, mean of the two middle samples for even n), channel units."""
    return percentile_sorted(b.sorted, 1, 2)


@register_generator(FAMILY, "abs_mean")
def abs_mean(b: WindowBlock) -> np.ndarray:
    """Mean absolute value ``S(|x|) / n``, channel units."""
    return seqsum(np.abs(b.T)) / F32(b.n)
