"""The ``RateOfChange`` family: statistics of the first difference.

Feature order: ``mean, std, max, min``.

Definitions, float32, on the ``n - 1`` differences ``r_i = x_{i+1} - x_i``
(channel units per sample), with the ``Statistical`` definitions applied to
``r``: ``mean = S(r) / (float)(n-1)``, ``std = sqrtf(S(c*c) / (float)(n-1))``
with ``c`` the mean-removed differences (shifted by ``r_0``), ``max``/``min``
the first extreme difference.

Defined values: a window of one sample has no difference: all four are 0.
With two samples ``std = 0``. A constant window gives 0 for all four.
"""

from __future__ import annotations

import numpy as np

from automl.features._block import WindowBlock
from automl.features._registry import register_generator

FAMILY = "RateOfChange"


@register_generator(FAMILY, "mean")
def mean(b: WindowBlock) -> np.ndarray:
    """Mean first difference, channel units per sample; 0 when ``n == 1``."""
    d = b.diff
    return b.zeros() if d is None else d.mean


@register_generator(FAMILY, "std")
def std(b: WindowBlock) -> np.ndarray:
    """Population std of the first differences; 0 when ``n <= 2``."""
    d = b.diff
    return b.zeros() if d is None else np.sqrt(d.m2)


@register_generator(FAMILY, "max")
def maximum(b: WindowBlock) -> np.ndarray:
    """Largest first difference; 0 when ``n == 1``."""
    d = b.diff
    return b.zeros() if d is None else d.max


@register_generator(FAMILY, "min")
def minimum(b: WindowBlock) -> np.ndarray:
    """Smallest first difference; 0 when ``n == 1``."""
    d = b.diff
    return b.zeros() if d is None else d.min
