"""The ``ColumnFusion`` family: two axes of the same sensor together.

Pair generators: evaluated on every pair ``(a, b)`` of channels of one sensor
(``acc*`` with ``acc*``, ``gyr*`` with ``gyr*``, ``a`` before ``b`` in channel
order; see :func:`automl.features._transforms.plan_pairs`). The feature name's
channel is ``"a-b"``, e.g. ``ColumnFusion.mean_diff[accX-accY]``.

Feature order: ``mean_diff, range_diff, correlation``.

Definitions, float32, ``e_i = a_i - b_i``:

* ``mean_diff = S(e) / n``, channel units;
* ``range_diff = max(e) - min(e)``, channel units;
* ``correlation``: Pearson's r of ``a`` and ``b`` from their mean-removed
  samples (:attr:`WindowBlock.centered`): ``Sab = S(ca*cb)``, ``Saa =
  S(ca*ca)``, ``Sbb = S(cb*cb)``, ``r = Sab / (sqrtf(Saa) * sqrtf(Sbb))``,
  clamped to [-1, 1] (rounding can overshoot by an ulp).

Defined values: ``correlation = 0`` when the denominator is 0 (either channel
constant, which includes ``n == 1``); ``range_diff = 0`` when ``n == 1``.
"""

from __future__ import annotations

import numpy as np

from automl.features._block import F32, WindowBlock, safe_divide, seqsum
from automl.features._registry import register_generator

FAMILY = "ColumnFusion"


def _difference(a: WindowBlock, b: WindowBlock) -> WindowBlock:
    return WindowBlock(a.T - b.T, a.ctx)


@register_generator(FAMILY, "mean_diff", kind="pair")
def mean_diff(a: WindowBlock, b: WindowBlock) -> np.ndarray:
    """Mean of ``a - b``, channel units."""
    return _difference(a, b).mean


@register_generator(FAMILY, "range_diff", kind="pair")
def range_diff(a: WindowBlock, b: WindowBlock) -> np.ndarray:
    """``max(a - b) - min(a - b)``, channel units."""
    e = _difference(a, b)
    return e.max - e.min


@register_generator(FAMILY, "correlation", kind="pair")
def correlation(a: WindowBlock, b: WindowBlock) -> np.ndarray:
    """Pearson correlation of ``a`` and ``b``, dimensionless in [-1, 1]; 0 if either is constant."""
    sab = seqsum(a.centered * b.centered)
    den = np.sqrt(seqsum(a.centered_sq)) * np.sqrt(seqsum(b.centered_sq))
    r = safe_divide(sab, den)
    return np.clip(r, F32(-1.0), F32(1.0))
