"""The ``Frequency`` family: a direct DFT of the mean-removed window.

Feature order: ``dominant_freq``, then ``band_energy_<b>of<B>`` for ``b =
0..B-1`` (``B`` = the extractor's ``frequency_bands``; the band count is part
of the name because the band edges depend on it).

Definitions, float32, ``n`` = window size, ``K = n // 2``, ``c_i`` the
mean-removed samples, tables of :func:`dft_tables` (the C twin receives the
same constants), for bins ``k = 1..K`` (bin ``k`` is ``k * fs / n`` Hz):

* ``re_k = S_i(c_i * cos_table[(k*i) mod n])``, ``im_k = S_i(c_i *
  sin_table[(k*i) mod n])``, ``P_k = re_k*re_k + im_k*im_k``
  ((channel units)^2; ``|rfft(c)[k]|**2`` up to float32 rounding);
* ``dominant_freq = (float)k* * (fs / (float)n)`` Hz, ``k*`` the first bin
  with the largest ``P_k`` (``fs`` = float32 sample rate);
* ``band_energy_<b>of<B> = S(P_k for k in band b)``, bins ascending, band
  edges of :func:`band_bins` (bins ``1..K`` split into ``B`` contiguous runs).

Defined values: when every ``P_k`` is 0 (constant window) or there is no bin
(``n == 1``), ``dominant_freq = 0`` and every band energy is 0. A band
without bins (``K < B``) has energy 0.
"""

from __future__ import annotations

import numpy as np

from automl.features._block import F32, WindowBlock, band_bins, first_argmax, seqsum, take0
from automl.features._registry import FeatureContext, register_generator

FAMILY = "Frequency"


def band_output_names(ctx: FeatureContext) -> tuple[str, ...]:
    """``("band_energy_0of4", ..., "band_energy_3of4")`` for 4 bands."""
    B = ctx.frequency_bands
    return tuple(f"band_energy_{b}of{B}" for b in range(B))


@register_generator(FAMILY, "dominant_freq", c_args=("cos_table", "sin_table", "fs"))
def dominant_freq(b: WindowBlock) -> np.ndarray:
    """Frequency of the strongest non-DC bin, Hz; 0 for a flat spectrum."""
    P = b.power
    if P.shape[0] == 0:
        return b.zeros()
    k = first_argmax(P)
    strongest = take0(P, k)
    k = np.where(strongest > F32(0.0), k + 1, 0).astype(F32)
    df = b.ctx.fs / F32(b.n)
    return k * df


@register_generator(
    FAMILY, "band_energy", c_args=("cos_table", "sin_table", "band", "n_bands"), outputs=band_output_names
)
def band_energy(b: WindowBlock) -> np.ndarray:
    """Spectral energy in each band, (channel units)^2; ``(frequency_bands, n_windows, n_channels)``."""
    P = b.power
    bands = band_bins(b.n, b.ctx.frequency_bands)
    return np.stack([seqsum(P[lo - 1 : hi - 1]) for lo, hi in bands])
