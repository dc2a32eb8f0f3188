"""float32 primitives shared by the generators, each the twin of a C loop.

Windows are held **time-major**, ``T (window_size, n_windows, n_channels)
float32``: sample ``i`` of every window and channel is the contiguous slice
``T[i]``, so a Python loop over the samples of a window is one vectorised
numpy operation per sample (the C loop ``for (i = 0; i < n; ++i)``).

C twin rules (``docs/C_TWINS.md``) applied here:

* :func:`seqsum` is the C loop ``s = 0.0f; for i: s += t[i];`` -- numpy's
  ``sum`` is pairwise and would round differently;
* element-wise expressions keep the C association and stay float32
  (``np.float32`` scalars only);
* extremes are taken at the *first* index attaining them (the C loop with a
  strict comparison), so ``-0.0`` vs ``+0.0`` comes out as in C;
* sorting is stable (C: insertion sort), so equal values keep their order.
"""

from __future__ import annotations

from functools import cached_property, lru_cache

import numpy as np

from automl.features._registry import FeatureContext

F32 = np.float32


def seqsum(A: np.ndarray) -> np.ndarray:
    """Sequential float32 sum over axis 0: ``s = 0; for i: s += A[i]``.

    Args:
        A: ``(m, ...) float32``; ``m`` may be 0.

    Returns:
        ``A.shape[1:] float32``; zeros when ``m == 0``.
    """
    s = np.zeros(A.shape[1:], dtype=F32)
    for a in A:
        s += a
    return s


def first_argmax(A: np.ndarray) -> np.ndarray:
    """Index of the first maximum over axis 0 (C: ``if (x > best)``), int64."""
    return np.argmax(A, axis=0)


def first_argmin(A: np.ndarray) -> np.ndarray:
    """Index of the first minimum over axis 0 (C: ``if (x < best)``), int64."""
    return np.argmin(A, axis=0)


def take0(A: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``A[idx[j], j]`` for every position ``j`` of ``A.shape[1:]``."""
    return np.take_along_axis(A, idx[None], axis=0)[0]


def safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where ``den > 0``, else ``0.0f`` (C: ``den > 0.0f ? num / den : 0.0f``)."""
    out = np.zeros(np.broadcast_shapes(np.shape(num), np.shape(den)), dtype=F32)
    np.divide(num, den, out=out, where=den > F32(0.0))
    return out


def percentile_sorted(S: np.ndarray, num: int, den: int) -> np.ndarray:
    """Percentile ``num/den`` of sorted windows (C: ``kp_percentile_sorted``).

    Position ``h = num * (n - 1) / den`` in exact integers: ``lo = h div den``,
    ``r = h mod den``; the value is ``s[lo]`` when ``r == 0``, else
    ``s[lo] + ((float)r / (float)den) * (s[lo+1] - s[lo])`` in float32. This
    is numpy's ``percentile(method="linear")`` definition (Hyndman & Fan 7)
    with one fixed float32 rounding order.

    Args:
        S: ``(n, ...) float32``, sorted ascending along axis 0, ``n >= 1``.
        num, den: the fraction, ``0 <= num <= den``.

    Returns:
        ``S.shape[1:] float32``, units of ``S``.
    """
    n = S.shape[0]
    lo, r = divmod(num * (n - 1), den)
    if r == 0:
        return S[lo].copy()
    frac = F32(r) / F32(den)
    return S[lo] + frac * (S[lo + 1] - S[lo])


def dft_tables(window_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Twiddle tables of the direct DFT, the constants the C twin uses.

    ``cos_table[m] = float32(cos(2*pi*m / n))``, ``sin_table[m] =
    float32(sin(2*pi*m / n))`` for ``m = 0..n-1``, evaluated in float64 and
    rounded once to float32. The angle is first folded into ``[0, pi/4]``
    with exact integer symmetries (``2*pi - t``, ``pi - t``, ``pi/2 - t``), so
    the tables are exactly symmetric and hold exact ``0`` and ``+-1`` at
    multiples of ``pi/2`` (``np.cos(pi/2)`` would give ``6e-17``). Bin ``k``
    of sample ``i`` uses entry ``(k * i) mod n``, so one table of ``n``
    entries serves every bin.

    Args:
        window_size: ``n >= 1`` samples.

    Returns:
        ``(cos_table, sin_table)``, each ``(window_size,) float32``, dimensionless.

    Raises:
        ValueError: if ``window_size < 1``.
    """
    n = int(window_size)
    if n < 1:
        raise ValueError(f"window_size must be >= 1; got {window_size}")
    cos_t, sin_t = _dft_tables(n)
    return cos_t.copy(), sin_t.copy()


@lru_cache(maxsize=16)
def _dft_tables(n: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`dft_tables` of ``n >= 1``, cached (callers must not modify the arrays)."""
    cos_t = np.empty(n, dtype=np.float64)
    sin_t = np.empty(n, dtype=np.float64)
    for m in range(n):
        # angle = pi * a / b with integers, a in [0, 2b)
        a, b = 2 * m, n
        s_sign = c_sign = 1.0
        if a > b:  # t -> 2pi - t
            a, s_sign = 2 * b - a, -1.0
        if 2 * a > b:  # t -> pi - t
            a, c_sign = b - a, -1.0
        if 4 * a > b:  # t -> pi/2 - t: swap cos and sin
            r = np.pi * (b - 2 * a) / (2 * b)
            c, s = np.sin(r), np.cos(r)
        else:
            r = np.pi * a / b
            c, s = np.cos(r), np.sin(r)
        cos_t[m], sin_t[m] = c_sign * c, s_sign * s
    tables = cos_t.astype(F32), sin_t.astype(F32)
    for t in tables:
        t.setflags(write=False)
    return tables


def band_bins(window_size: int, n_bands: int) -> tuple[tuple[int, int], ...]:
    """DFT bins of each energy band: ``[lo, hi)`` over bins ``1..floor(n/2)``.

    With ``K = n // 2``: band ``b`` holds bins ``1 + (b*K) // B`` up to (not
    including) ``1 + ((b+1)*K) // B``, so the bands split the non-DC bins
    into ``B`` contiguous runs of ``floor``/``ceil(K/B)`` bins; when
    ``K < B`` some bands are empty (energy 0).

    Args:
        window_size: ``n >= 1``.
        n_bands: ``B >= 1``.

    Returns:
        ``B`` pairs ``(lo, hi)`` of bin indices.
    """
    K = int(window_size) // 2
    return tuple((1 + (b * K) // n_bands, 1 + ((b + 1) * K) // n_bands) for b in range(n_bands))


class WindowBlock:
    """float32 windows of some channels plus intermediates shared by generators.

    Every intermediate is computed on first use and cached, so e.g. ``std``,
    ``skewness`` and ``kurtosis`` share one mean-removed copy, and the
    percentiles share one sorted copy.

    Args:
        T: ``(window_size, n_windows, n_channels) float32``, time-major, in
            the channels' units (ADC counts on the device).
        ctx: the extractor's :class:`FeatureContext`.

    Attributes:
        T: as given.
        n: ``window_size``.
        ctx: as given.
    """

    def __init__(self, T: np.ndarray, ctx: FeatureContext) -> None:
        if T.dtype != F32 or T.ndim != 3:
            raise ValueError(f"WindowBlock needs (w, n, c) float32; got {T.shape} {T.dtype}")
        self.T = T
        self.n = T.shape[0]
        self.ctx = ctx

    @property
    def X(self) -> np.ndarray:
        """``(n_windows, window_size, n_channels) float32`` view of ``T``."""
        return self.T.transpose(1, 0, 2)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_windows, n_channels)``: the shape of one feature."""
        return self.T.shape[1], self.T.shape[2]

    def zeros(self) -> np.ndarray:
        """``(n_windows, n_channels) float32`` zeros."""
        return np.zeros(self.shape, dtype=F32)

    # -- sums and moments ---------------------------------------------------

    @cached_property
    def total(self) -> np.ndarray:
        """Sequential sum ``S(x)``, ``(n_windows, n_channels)``."""
        return seqsum(self.T)

    @cached_property
    def mean(self) -> np.ndarray:
        """``S(x) / (float)n``."""
        return self.total / F32(self.n)

    @cached_property
    def centered(self) -> np.ndarray:
        """Mean-removed samples ``c_i = (x_i - x_0) - md`` with ``md = S(x - x_0) / (float)n``.

        Shifting by the first sample before removing the mean keeps
        precision when ``|mean| >> std``, and makes a constant window give
        ``c = 0`` exactly (``x - mean(x)`` would not when the float32 mean
        of a constant is rounded). ``(n, n_windows, n_channels) float32``.
        """
        d = self.T - self.T[0]
        md = seqsum(d) / F32(self.n)
        d -= md
        return d

    @cached_property
    def centered_sq(self) -> np.ndarray:
        """``c_i * c_i``, ``(n, n_windows, n_channels) float32``."""
        c = self.centered
        return c * c

    @cached_property
    def m2(self) -> np.ndarray:
        """Population variance ``S(c*c) / (float)n`` (0 for a constant window)."""
        return seqsum(self.centered_sq) / F32(self.n)

    # -- order statistics ----------------------------------------------------

    @cached_property
    def argmax(self) -> np.ndarray:
        """Index of the first maximum, ``(n_windows, n_channels) int64``."""
        return first_argmax(self.T)

    @cached_property
    def argmin(self) -> np.ndarray:
        """Index of the first minimum, ``(n_windows, n_channels) int64``."""
        return first_argmin(self.T)

    @cached_property
    def max(self) -> np.ndarray:
        """Largest sample (the first one attaining it)."""
        return take0(self.T, self.argmax)

    @cached_property
    def min(self) -> np.ndarray:
        """Smallest sample (the first one attaining it)."""
        return take0(self.T, self.argmin)

    @cached_property
    def sorted(self) -> np.ndarray:
        """Stable ascending sort along time, ``(n, n_windows, n_channels)`` (C: insertion sort)."""
        return np.sort(self.T, axis=0, kind="stable")

    # -- derived blocks ------------------------------------------------------

    @cached_property
    def diff(self) -> "WindowBlock | None":
        """First differences ``x_{i+1} - x_i`` as a block of ``n - 1`` samples; None when ``n == 1``."""
        if self.n < 2:
            return None
        return WindowBlock(self.T[1:] - self.T[:-1], self.ctx)

    # -- spectrum ------------------------------------------------------------

    @cached_property
    def power(self) -> np.ndarray:
        """Power of DFT bins ``k = 1..n//2`` of the mean-removed window.

        ``re_k = S_i(c_i * cos_table[(k*i) mod n])``, ``im_k = S_i(c_i *
        sin_table[(k*i) mod n])`` (sequential over ``i``), ``P_k = re_k*re_k
        + im_k*im_k`` (C: ``kp__dft_power``). Bin 0 is left out: the mean is
        removed. Units: (channel units)^2.

        Returns:
            ``(n // 2, n_windows, n_channels) float32``; row ``k - 1`` is bin ``k``.
        """
        n = self.n
        K = n // 2
        n_w, n_c = self.shape
        re = np.zeros((K, n_w, n_c), dtype=F32)
        im = np.zeros((K, n_w, n_c), dtype=F32)
        if K == 0:
            return re
        cos_t, sin_t = _dft_tables(n)
        k = np.arange(1, K + 1)
        c = self.centered
        tmp = np.empty_like(re)
        for i in range(n):
            idx = (k * i) % n
            ci = c[i][None]
            np.multiply(ci, cos_t[idx][:, None, None], out=tmp)
            re += tmp
            np.multiply(ci, sin_t[idx][:, None, None], out=tmp)
            im += tmp
        re *= re
        im *= im
        re += im
        return re
