"""The ``Statistical`` family: per-channel moments, extremes and percentiles.

Every generator maps ``X (n_windows, window_size, n_channels) float64`` in
sensor units to ``(n_windows, n_channels) float64``, reducing along axis 1
(time). Feature order inside the family is the registration order below:
``mean, std, min, max, p25, p75, iqr, sum, skewness, kurtosis``.

Definitions (``x_1..x_w`` one window of one channel, ``w = window_size``):

* ``mean = sum(x) / w``; ``sum = sum(x)`` (sensor units).
* Central moments ``m_r = sum((x - mean)^r) / w`` (population, ddof=0).
  They are computed about the window's first sample first,
  ``d_i = x_i - x_1``, then ``c_i = d_i - mean(d)`` ("shifted data"
  algorithm): this loses less precision when ``|mean| >> std``, and a constant
  window gives ``d = c = 0`` exactly, so ``m_2 = 0`` exactly (with a plain
  ``x - mean(x)`` the rounded mean of a constant window can differ from the
  samples and leave a spurious ``m_2 ~ 1e-34``).
* ``std = sqrt(m_2)`` (numpy ``std(ddof=0)``).
* ``skewness = m_3 / m_2^1.5``: Fisher-Pearson coefficient, biased
  (= ``scipy.stats.skew(bias=True)``).
* ``kurtosis = m_4 / m_2^2 - 3``: excess (Fisher) kurtosis, biased
  (= ``scipy.stats.kurtosis(fisher=True, bias=True)``).
* **Convention:** when ``m_2 == 0`` (a constant window, including every window
  of length 1) ``skewness = 0`` and ``kurtosis = 0``, so no output is NaN.
  (scipy returns NaN there.) A window of length 2 with distinct samples has
  ``skewness = 0`` and ``kurtosis = -2``, as in scipy.
* ``p25``, ``p75``: numpy ``percentile(method="linear")`` (Hyndman & Fan
  definition 7): sort the window, position ``h = (w - 1) * p / 100``
  (0-based), ``lo = floor(h)``, value ``s[lo] + (h - lo) * (s[lo+1] - s[lo])``.
* ``iqr = p75 - p25``.
"""

from __future__ import annotations

import numpy as np

from automl.features._registry import register_generator

FAMILY = "Statistical"


def _central_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Population central moments m2, m3, m4 of every window and channel.

    Args:
        X: ``(n_windows, window_size, n_channels) float64``, sensor units.

    Returns:
        ``(m2, m3, m4)``, each ``(n_windows, n_channels) float64`` in sensor
        units squared, cubed and to the fourth power. ``m2 == 0`` exactly for a
        constant window (see the module docstring for the shifted algorithm).
    """
    # Two (n, w, c) temporaries, updated in place: the window arrays are the
    # large ones (20000 windows x 120 x 8 channels = 150 MB each in float64).
    c = X - X[:, :1, :]  # d = x - x_1
    c -= c.mean(axis=1, keepdims=True)  # c = d - mean(d)
    c2 = c * c
    m2 = c2.mean(axis=1)
    c *= c2  # c^3
    m3 = c.mean(axis=1)
    c2 *= c2  # c^4
    return m2, m3, c2.mean(axis=1)


def _percentile(X: np.ndarray, q: float) -> np.ndarray:
    """numpy ``percentile(method="linear")`` of every window and channel.

    Args:
        X: ``(n_windows, window_size, n_channels) float64``, sensor units.
        q: percentile in percent, 0..100.

    Returns:
        ``(n_windows, n_channels) float64``, sensor units.
    """
    return np.percentile(X, q, axis=1, method="linear")


@register_generator(FAMILY, "mean")
def mean(X: np.ndarray) -> np.ndarray:
    """Arithmetic mean over the window, sensor units."""
    return X.mean(axis=1)


@register_generator(FAMILY, "std")
def std(X: np.ndarray) -> np.ndarray:
    """Population standard deviation (ddof=0), sensor units; 0 when constant."""
    m2, _, _ = _central_moments(X)
    return np.sqrt(m2)


@register_generator(FAMILY, "min")
def minimum(X: np.ndarray) -> np.ndarray:
    """Smallest sample of the window, sensor units."""
    return X.min(axis=1)


@register_generator(FAMILY, "max")
def maximum(X: np.ndarray) -> np.ndarray:
    """Largest sample of the window, sensor units."""
    return X.max(axis=1)


@register_generator(FAMILY, "p25")
def p25(X: np.ndarray) -> np.ndarray:
    """25th percentile, numpy "linear" method, sensor units."""
    return _percentile(X, 25.0)


@register_generator(FAMILY, "p75")
def p75(X: np.ndarray) -> np.ndarray:
    """75th percentile, numpy "linear" method, sensor units."""
    return _percentile(X, 75.0)


@register_generator(FAMILY, "iqr")
def iqr(X: np.ndarray) -> np.ndarray:
    """Interquartile range ``p75 - p25``, sensor units."""
    q25, q75 = np.percentile(X, [25.0, 75.0], axis=1, method="linear")  # one sort
    return q75 - q25


@register_generator(FAMILY, "sum")
def total(X: np.ndarray) -> np.ndarray:
    """Sum of the window's samples, sensor units."""
    return X.sum(axis=1)


@register_generator(FAMILY, "skewness")
def skewness(X: np.ndarray) -> np.ndarray:
    """Biased Fisher-Pearson skewness ``m3 / m2**1.5``, dimensionless; 0 when m2 == 0."""
    m2, m3, _ = _central_moments(X)
    den = m2**1.5
    out = np.zeros_like(m2)
    # den > 0 rather than m2 > 0: also guards against m2**1.5 underflowing to
    # 0 for a (non-float32) input with m2 < ~1e-205.
    np.divide(m3, den, out=out, where=den > 0.0)
    return out


@register_generator(FAMILY, "kurtosis")
def kurtosis(X: np.ndarray) -> np.ndarray:
    """Biased excess kurtosis ``m4 / m2**2 - 3``, dimensionless; 0 when m2 == 0."""
    m2, _, m4 = _central_moments(X)
    den = m2 * m2
    out = np.zeros_like(m2)
    positive = den > 0.0  # see skewness() for why den, not m2
    np.divide(m4, den, out=out, where=positive)
    out[positive] -= 3.0
    return out
