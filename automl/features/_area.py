"""The ``Area`` family: areas under the signal, rectangle rule.

Feature order: ``total_area, abs_area, abs_area_dc``.

Definitions, float32, ``dt = float32(1 / sample_rate_hz)`` seconds
(:attr:`FeatureContext.dt`, passed to C as a constant), ``c_i`` the
mean-removed samples (:attr:`WindowBlock.centered`):

* ``total_area = S(x) * dt`` (channel units x seconds);
* ``abs_area = S(|x|) * dt``;
* ``abs_area_dc = S(|c|) * dt``: area of ``|x - mean|`` (SensiML "AbsAreaDc").

Defined for every ``n >= 1``; a constant window has ``abs_area_dc = 0``
exactly.
"""

from __future__ import annotations

import numpy as np

from automl.features._block import WindowBlock, seqsum
from automl.features._registry import register_generator

FAMILY = "Area"


@register_generator(FAMILY, "total_area", c_args=("dt",))
def total_area(b: WindowBlock) -> np.ndarray:
    """``S(x) * dt``, channel units x seconds."""
    return b.total * b.ctx.dt


@register_generator(FAMILY, "abs_area", c_args=("dt",))
def abs_area(b: WindowBlock) -> np.ndarray:
    """``S(|x|) * dt``, channel units x seconds."""
    return seqsum(np.abs(b.T)) * b.ctx.dt


@register_generator(FAMILY, "abs_area_dc", c_args=("dt",))
def abs_area_dc(b: WindowBlock) -> np.ndarray:
    """``S(|x - mean|) * dt`` on the mean-removed samples, channel units x seconds."""
    return seqsum(np.abs(b.centered)) * b.ctx.dt
