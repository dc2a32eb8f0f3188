"""Feature generation: windows ``(n_windows, window_size, n_channels)`` ->
features ``(n_windows, n_features)``.

:class:`FeatureExtractor` appends the magnitude channels and runs the feature
generators of the requested families. Generators live in a registry
(:func:`register_generator`), one function per feature, so new families
(Shape, Column Fusion, Area, Rate of Change, Frequency) are added as new
private modules imported below; nothing else changes.

Families available now: ``Statistical`` (mean, std, min, max, p25, p75, iqr,
sum, skewness, kurtosis); see ``_statistical.py`` for exact definitions.
"""

from automl.features import _statistical  # noqa: F401  (registers the Statistical family)
from automl.features._extractor import FeatureExtractor
from automl.features._registry import (
    Generator,
    available_families,
    get_generators,
    register_generator,
)
from automl.features._transforms import MAGNITUDE_SOURCES

__all__ = [
    "MAGNITUDE_SOURCES",
    "FeatureExtractor",
    "Generator",
    "available_families",
    "get_generators",
    "register_generator",
]
