"""FeatureExtractor: windows -> one row of features per window."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from automl.errors import ConfigError, DataError
from automl.features._registry import Generator, available_families, get_generators
from automl.features._transforms import Magnitude, add_magnitudes, plan_magnitudes


def _param_error(param: str, must: str, got: object) -> ConfigError:
    return ConfigError(
        f"The {param!r} parameter of FeatureExtractor must be {must}. Got {got!r} instead."
    )


class FeatureExtractor(TransformerMixin, BaseEstimator):
    """Compute feature generators on windowed sensor data.

    Pipeline inside :meth:`transform`: promote to float64, append the magnitude
    channels (when ``magnitude=True``), run every generator of every requested
    family on all windows at once, cast to float32.

    Column order (deterministic; :meth:`feature_names` lists it):
    for each family in ``families`` order, for each generator in the family's
    registration order, for each channel of :meth:`output_channels` (the raw
    ``channels`` in the given order, then ``accMag``, then ``gyrMag``). So
    column ``j`` is generator ``j // n_out`` applied to channel ``j % n_out``
    with ``n_out = len(output_channels())``.

    The extractor has no learned state: ``fit`` only validates, and
    ``transform`` may be called without it.

    Args:
        channels: names of the channels, in the order of ``X``'s last axis,
            e.g. ``["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"]``. Unique,
            non-empty, without ``[`` or ``]``.
        families: feature families to compute, in output order; registered
            names (see :func:`automl.features.available_families`).
        magnitude: append ``accMag`` = ``sqrt(x^2 + y^2 + z^2)`` of the three
            channels whose name starts with ``acc`` (case-insensitive), and
            ``gyrMag`` likewise for ``gyr``. A magnitude whose prefix matches
            no channel is skipped.

    Example:
        >>> import numpy as np
        >>> fx = FeatureExtractor(["accX", "accY", "accZ"])
        >>> F = fx.transform(np.ones((5, 20, 3), dtype=np.float32))
        >>> F.shape, F.dtype, fx.feature_names()[0]
        ((5, 40), dtype('float32'), 'Statistical.mean[accX]')
    """

    def __init__(
        self,
        channels: Sequence[str],
        families: Sequence[str] = ("Statistical",),
        magnitude: bool = True,
    ) -> None:
        self.channels = channels
        self.families = families
        self.magnitude = magnitude

    # -- validation --------------------------------------------------------

    def _resolve(self) -> tuple[tuple[str, ...], tuple[Magnitude, ...], tuple[Generator, ...]]:
        """Validate the parameters; return (raw channels, magnitudes, generators)."""
        channels = self.channels
        if isinstance(channels, str) or not isinstance(channels, Sequence):
            raise _param_error("channels", "a sequence of channel names", channels)
        channels = tuple(channels)
        if not channels:
            raise _param_error("channels", "a non-empty sequence of channel names", channels)
        for ch in channels:
            if not isinstance(ch, str) or not ch or "[" in ch or "]" in ch:
                raise _param_error(
                    "channels", "non-empty strings without '[' or ']'", ch
                )
        duplicates = sorted({ch for ch in channels if channels.count(ch) > 1})
        if duplicates:
            raise _param_error("channels", f"unique names (repeated: {duplicates})", channels)

        families = self.families
        if isinstance(families, str) or not isinstance(families, Sequence) or not families:
            raise _param_error(
                "families", "a non-empty sequence of family names, e.g. ('Statistical',)", families
            )
        known = available_families()
        for fam in families:
            if fam not in known:
                raise _param_error("families", f"a subset of {list(known)}", fam)
        if len(set(families)) != len(families):
            raise _param_error("families", "free of repeats", families)

        if not isinstance(self.magnitude, (bool, np.bool_)):
            raise _param_error("magnitude", "a bool", self.magnitude)
        magnitudes = plan_magnitudes(channels) if self.magnitude else ()

        generators = tuple(g for fam in families for g in get_generators(fam))
        return channels, magnitudes, generators

    def _check_X(self, X: object, n_channels: int) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 3:
            raise DataError(
                f"X must be 3-D (n_windows, window_size, n_channels); got shape {X.shape}"
            )
        if X.dtype.kind not in "fiu":
            raise DataError(f"X must hold real numbers (float32 expected); got dtype {X.dtype}")
        if X.shape[2] != n_channels:
            raise DataError(
                f"X has {X.shape[2]} channels, but FeatureExtractor was given "
                f"{n_channels} channel names {list(self.channels)}"
            )
        if X.shape[1] < 1:
            raise DataError("X has window_size 0; windows need at least one sample")
        if X.dtype.kind == "f":
            finite = np.isfinite(X).all(axis=(1, 2))
            if not finite.all():
                bad = np.flatnonzero(~finite)
                raise DataError(
                    f"X contains NaN or infinity in {bad.size} of {X.shape[0]} windows "
                    f"(first: window {bad[0]}); drop or repair those samples before "
                    "feature extraction"
                )
        return X

    # -- public API --------------------------------------------------------

    def fit(self, X: np.ndarray, y: object = None) -> "FeatureExtractor":
        """Validate the parameters and ``X``; nothing is learned.

        Args:
            X: ``(n_windows, window_size, n_channels) float32``, sensor units.
            y: ignored; present for scikit-learn pipelines.

        Returns:
            ``self``.

        Raises:
            ConfigError: if a parameter is invalid (names the parameter).
            DataError: if ``X`` has the wrong shape or non-finite values.
        """
        channels, _, _ = self._resolve()
        self._check_X(X, len(channels))
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """Stateless: always usable (scikit-learn's ``check_is_fitted`` hook)."""
        return True

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Compute all features of all windows.

        Computation is in float64 (so that percentiles, moments and sums of
        float32 samples lose no precision before the final rounding), vectorised
        over windows; the result is rounded once to float32.

        Args:
            X: ``(n_windows, window_size, n_channels) float32`` (other real
                dtypes are accepted and promoted), sensor units (e.g. m/s^2
                for ``acc*``, rad/s for ``gyr*``); ``window_size >= 1``.
                ``n_channels == len(channels)``.

        Returns:
            ``(n_windows, n_features) float32``, column ``j`` named
            ``feature_names()[j]``; units are those of each generator
            (sensor units, or dimensionless for skewness/kurtosis). Never NaN
            or infinite.

        Raises:
            ConfigError: if a parameter is invalid.
            DataError: if ``X`` has the wrong shape, a non-finite value, or a
                feature exceeds the float32 range (|value| > 3.4e38).
        """
        channels, magnitudes, generators = self._resolve()
        X = self._check_X(X, len(channels))
        X64 = add_magnitudes(X.astype(np.float64), magnitudes)
        n_windows, _, n_out = X64.shape

        out = np.empty((n_windows, len(generators) * n_out), dtype=np.float64)
        for j, gen in enumerate(generators):
            values = gen.func(X64)
            if values.shape != (n_windows, n_out):
                raise ValueError(
                    f"feature generator {gen.family}.{gen.name} returned shape {values.shape}, "
                    f"expected {(n_windows, n_out)}"
                )
            out[:, j * n_out : (j + 1) * n_out] = values

        with np.errstate(over="ignore"):
            F = out.astype(np.float32)
        finite = np.isfinite(F)
        if not finite.all():
            col = int(np.flatnonzero(~finite.all(axis=0))[0])
            name = self.feature_names()[col]
            raise DataError(
                f"feature {name} is outside the float32 range (|value| > 3.4e38) in "
                f"{int((~finite[:, col]).sum())} of {n_windows} windows; rescale the input"
            )
        return F

    def output_channels(self) -> list[str]:
        """Channels the generators see: raw channels, then magnitudes.

        Returns:
            e.g. ``["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ", "accMag",
            "gyrMag"]``.

        Raises:
            ConfigError: if a parameter is invalid.
        """
        channels, magnitudes, _ = self._resolve()
        return [*channels, *(m.name for m in magnitudes)]

    def magnitude_sources(self) -> dict[str, list[str]]:
        """The three source channels of each magnitude channel.

        Returns:
            e.g. ``{"accMag": ["accX", "accY", "accZ"]}``; empty when
            ``magnitude=False`` or no prefix matches.

        Raises:
            ConfigError: if a parameter is invalid.
        """
        channels, magnitudes, _ = self._resolve()
        return {m.name: [channels[i] for i in m.sources] for m in magnitudes}

    def feature_names(self) -> list[str]:
        """Names of the output columns, in column order (see the class docstring).

        Returns:
            ``["<family>.<generator>[<channel>]", ...]``, e.g.
            ``"Statistical.mean[accX]"``, ``"Statistical.kurtosis[accMag]"``;
            ``len == n_features``.

        Raises:
            ConfigError: if a parameter is invalid.
        """
        _, _, generators = self._resolve()
        out_channels = self.output_channels()
        return [g.feature_name(ch) for g in generators for ch in out_channels]
