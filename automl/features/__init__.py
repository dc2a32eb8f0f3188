"""Feature generation: windows ``(n_windows, window_size, n_channels)`` ->
features ``(n_windows, n_features)``, each generator the float32 twin of a C
function in ``firmware/runtime/kp_features.h`` (``docs/C_TWINS.md``).

:class:`FeatureExtractor` appends the magnitude channels and runs the feature
generators of the requested families; :meth:`FeatureExtractor.compute_selected`
computes only named features (what the firmware does), bit-identical to the
columns of :meth:`FeatureExtractor.transform`. Generators live in a registry
(:func:`register_generator`), one function per feature, with the metadata the
exporter and the cost model need (:class:`Generator`: C function name, extra C
arguments, sorted copy, DFT tables, ``dt``).

Families (feature names ``Family.generator[channel]``; exact definitions in
each module's docstring):

* ``Statistical`` (``_statistical.py``): mean, std, min, max, p25, p75, iqr,
  sum, skewness, kurtosis, variance, median, abs_mean.
* ``Shape`` (``_shape.py``): slope, intercept, stderr, zero_crossings,
  mean_crossings, peak_count, argmax, argmin.
* ``ColumnFusion`` (``_column_fusion.py``, channel ``a-b`` for each pair of
  axes of one sensor): mean_diff, range_diff, correlation.
* ``Area`` (``_area.py``): total_area, abs_area, abs_area_dc.
* ``RateOfChange`` (``_rate_of_change.py``): mean, std, max, min.
* ``Frequency`` (``_frequency.py``): dominant_freq, band_energy_<b>of<B>.

Every generator returns a defined value for every window of ``window_size >=
1`` (constant windows, one or two samples: see each module). Range: for
samples with ``|x| <= 2**24`` (int16 ADC counts, or sensor units) and
``window_size <= 4096`` no float32 intermediate overflows, so every feature is
finite; far outside that range a feature may overflow and
:meth:`FeatureExtractor.transform` raises ``DataError`` naming it rather than
returning infinity or NaN.
"""

from automl.features import (  # noqa: F401  (each module registers one family)
    _statistical,
    _shape,
    _column_fusion,
    _area,
    _rate_of_change,
    _frequency,
)
from automl.features._block import WindowBlock, band_bins, dft_tables, seqsum
from automl.features._extractor import FeatureExtractor, FeatureSpec
from automl.features._registry import (
    C_ARGS,
    FeatureContext,
    Generator,
    available_families,
    get_generators,
    register_generator,
)
from automl.features._transforms import MAGNITUDE_SOURCES

__all__ = [
    "C_ARGS",
    "MAGNITUDE_SOURCES",
    "FeatureContext",
    "FeatureExtractor",
    "FeatureSpec",
    "Generator",
    "WindowBlock",
    "available_families",
    "band_bins",
    "dft_tables",
    "get_generators",
    "register_generator",
    "seqsum",
]
