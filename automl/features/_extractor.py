"""FeatureExtractor: windows -> one row of features per window."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from automl.errors import ConfigError, DataError
from automl.features._block import F32, WindowBlock
from automl.features._registry import FeatureContext, Generator, available_families, get_generators
from automl.features._transforms import Magnitude, magnitude, plan_magnitudes, plan_pairs

# Windows per block: generators run on blocks of windows so that the
# (window_size, block, channels) float32 temporaries stay within a few MB
# (cache-friendly, bounded memory); results do not depend on the block size.
_BLOCK_ELEMENTS = 1 << 20


def _param_error(param: str, must: str, got: object) -> ConfigError:
    return ConfigError(
        f"The {param!r} parameter of FeatureExtractor must be {must}. Got {got!r} instead."
    )


@dataclass(frozen=True)
class FeatureSpec:
    """One output column: which generator, output and channel(s), and its C call.

    Attributes:
        name: the feature name, e.g. ``"Statistical.mean[accX]"``,
            ``"ColumnFusion.correlation[accX-accY]"``,
            ``"Frequency.band_energy_1of4[gyrMag]"``.
        generator: the registered generator (C function name and needs).
        output: index into ``generator.output_names(ctx)``; 0 for a
            single-output generator.
        channel: the channel name, or ``"a-b"`` for a pair generator.
        sources: indices into :meth:`FeatureExtractor.output_channels`: one
            for a channel generator, ``(a, b)`` for a pair generator.
        c_args: the generator's extra C arguments with ``"band"`` and
            ``"n_bands"`` replaced by their int values, e.g. ``("cos_table",
            "sin_table", 1, 4)``; the others (``"scratch"``, ``"dt"``,
            ``"fs"``, ``"cos_table"``, ``"sin_table"``) name what the caller
            passes.
    """

    name: str
    generator: Generator
    output: int
    channel: str
    sources: tuple[int, ...]
    c_args: tuple[str | int, ...]


@dataclass(frozen=True)
class _Plan:
    channels: tuple[str, ...]
    magnitudes: tuple[Magnitude, ...]
    pairs: tuple[tuple[int, int], ...]
    generators: tuple[Generator, ...]
    ctx: FeatureContext

    @property
    def output_channels(self) -> list[str]:
        return [*self.channels, *(m.name for m in self.magnitudes)]


class FeatureExtractor(TransformerMixin, BaseEstimator):
    """Compute feature generators on windowed sensor data, bit for bit as the C firmware.

    Pipeline inside :meth:`transform`: cast to float32, append the magnitude
    channels (when ``magnitude=True``), run every generator of every requested
    family on all windows at once (in blocks of windows), in float32 with the
    operation order of the C twins in ``firmware/runtime/kp_features.h``
    (``docs/C_TWINS.md``), so the firmware computes the same bits.

    Column order (deterministic; :meth:`feature_names` lists it): for each
    family in ``families`` order, for each generator in the family's
    registration order, for each of its outputs (one, or one per frequency
    band), for each channel of :meth:`output_channels` (the raw ``channels``
    in the given order, then one magnitude per sensor group, e.g. ``accMag``,
    then ``gyrMag``) -- or, for a pair
    generator (``ColumnFusion``), for each pair of :meth:`channel_pairs`.

    The extractor has no learned state: ``fit`` only validates, and
    ``transform`` may be called without it.

    Args:
        channels: names of the channels, in the order of ``X``'s last axis,
            e.g. ``["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"]``. Unique,
            non-empty, without ``[`` or ``]``.
        families: feature families to compute, in output order; registered
            names (see :func:`automl.features.available_families`):
            ``Statistical``, ``Shape``, ``ColumnFusion``, ``Area``,
            ``RateOfChange``, ``Frequency``.
        magnitude: append ``<group>Mag`` = ``sqrt((x*x + y*y) + z*z)`` of the
            three channels of each sensor group (``sensors``; without it,
            ``accMag`` of the three channels whose name starts with ``acc``,
            case-insensitive, and ``gyrMag`` likewise for ``gyr``, a prefix
            matching no channel being skipped).
        sample_rate_hz: samples per second (Hz), > 0; the ``Area`` family
            uses ``dt = float32(1 / sample_rate_hz)`` s, ``Frequency`` reports Hz.
        frequency_bands: number of energy bands of the ``Frequency`` family, >= 1.
        sensors: sensor groups ``{group: its 3 channel names}`` (a data set's
            ``Dataset.sensors``, recorded in ``pipeline.json``): magnitudes and
            ColumnFusion pairs come from them; None for the name-prefix rule.

    Example:
        >>> import numpy as np
        >>> fx = FeatureExtractor(["accX", "accY", "accZ"])
        >>> F = fx.transform(np.ones((5, 20, 3), dtype=np.float32))
        >>> F.shape, F.dtype, fx.feature_names()[0]
        ((5, 52), dtype('float32'), 'Statistical.mean[accX]')
        >>> cols = fx.compute_selected(np.ones((5, 20, 3), np.float32), ["Statistical.std[accMag]"])
        >>> cols.shape
        (5, 1)
    """

    def __init__(
        self,
        channels: Sequence[str],
        families: Sequence[str] = ("Statistical",),
        magnitude: bool = True,
        sample_rate_hz: float = 100.0,
        frequency_bands: int = 4,
        sensors: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.channels = channels
        self.families = families
        self.magnitude = magnitude
        self.sample_rate_hz = sample_rate_hz
        self.frequency_bands = frequency_bands
        self.sensors = sensors

    # -- validation --------------------------------------------------------

    def _resolve(self) -> _Plan:
        """Validate the parameters; return what to compute."""
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
        sensors = self.sensors
        if sensors is not None and not isinstance(sensors, Mapping):
            raise _param_error("sensors", "a mapping group -> channel names, or None", sensors)
        magnitudes = plan_magnitudes(channels, sensors) if self.magnitude else ()

        rate = self.sample_rate_hz
        if (isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, float, np.number))
                or not math.isfinite(float(rate)) or float(rate) <= 0.0
                or not math.isfinite(1.0 / float(rate))):
            raise _param_error("sample_rate_hz", "a finite number of Hz > 0, e.g. 100.0", rate)
        bands = self.frequency_bands
        if isinstance(bands, (bool, np.bool_)) or not isinstance(bands, (int, np.integer)) or bands < 1:
            raise _param_error("frequency_bands", "an int >= 1", bands)

        generators = tuple(g for fam in families for g in get_generators(fam))
        ctx = FeatureContext(sample_rate_hz=float(rate), frequency_bands=int(bands))
        return _Plan(channels, magnitudes, plan_pairs(channels, sensors), generators, ctx)

    def _check_X(self, X: object, n_channels: int) -> np.ndarray:
        """Validate ``X``; return it as float32 ``(n_windows, window_size, n_channels)``."""
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
        with np.errstate(over="ignore"):
            X32 = X.astype(F32, copy=False)
        finite = np.isfinite(X32).all(axis=(1, 2))
        if not finite.all():
            bad = np.flatnonzero(~finite)
            raise DataError(
                f"X contains NaN or infinity in {bad.size} of {X.shape[0]} windows "
                f"(first: window {bad[0]}; values beyond 3.4e38 count once cast to float32); "
                "drop or repair those samples before feature extraction"
            )
        return X32

    # -- public API --------------------------------------------------------

    def fit(self, X: np.ndarray, y: object = None) -> "FeatureExtractor":
        """Validate the parameters and ``X``; nothing is learned.

        Args:
            X: ``(n_windows, window_size, n_channels) float32``, channel units.
            y: ignored; present for scikit-learn pipelines.

        Returns:
            ``self``.

        Raises:
            ConfigError: if a parameter is invalid (names the parameter).
            DataError: if ``X`` has the wrong shape or non-finite values.
        """
        plan = self._resolve()
        self._check_X(X, len(plan.channels))
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """Stateless: always usable (scikit-learn's ``check_is_fitted`` hook)."""
        return True

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Compute all features of all windows.

        Args:
            X: ``(n_windows, window_size, n_channels) float32`` (other real
                dtypes are cast to float32 first), channel units -- on the
                device ADC counts, so in practice integer counts stored as
                float32; ``window_size >= 1``; ``n_channels == len(channels)``.

        Returns:
            ``(n_windows, n_features) float32``, column ``j`` named
            ``feature_names()[j]``; units are those of each generator (see
            the family modules). Bit-identical to the C twins. Never NaN or
            infinite.

        Raises:
            ConfigError: if a parameter is invalid.
            DataError: if ``X`` has the wrong shape or a non-finite value, or
                a feature's float32 computation overflows (input far outside
                the documented range, see ``automl.features``).
        """
        return self._compute(X, self.feature_specs())

    def compute_selected(self, X: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """Compute only the named features, as the firmware does.

        Only the channels and magnitudes the named features use are built,
        and only the generators they name run. The values are bit-identical
        to the corresponding columns of :meth:`transform`.

        Args:
            X: as for :meth:`transform`.
            names: feature names from :meth:`feature_names`, in the wanted
                column order (e.g. a pipeline's ``selected_names``); repeats
                are allowed.

        Returns:
            ``(n_windows, len(names)) float32``.

        Raises:
            ConfigError: if a parameter is invalid or a name is not a feature
                of this extractor.
            DataError: as for :meth:`transform`.
        """
        if isinstance(names, str):
            raise ConfigError(f"compute_selected needs a sequence of feature names; got the string {names!r}")
        by_name = {s.name: s for s in self.feature_specs()}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ConfigError(
                f"{len(unknown)} of {len(names)} feature names are not features of this extractor "
                f"(first: {unknown[:3]}); check channels, families, magnitude and frequency_bands"
            )
        return self._compute(X, [by_name[n] for n in names])

    def feature_specs(self) -> list[FeatureSpec]:
        """Every output column with its generator, channel(s) and C arguments.

        Returns:
            One :class:`FeatureSpec` per column of :meth:`transform`, in column order.

        Raises:
            ConfigError: if a parameter is invalid or the families give no
                feature for these channels (e.g. only ``ColumnFusion`` without
                two channels of one sensor).
        """
        plan = self._resolve()
        out_channels = plan.output_channels
        specs = []
        for gen in plan.generators:
            if gen.kind == "pair":
                targets = [((a, b), f"{out_channels[a]}-{out_channels[b]}") for a, b in plan.pairs]
            else:
                targets = [((i,), ch) for i, ch in enumerate(out_channels)]
            for o, out_name in enumerate(gen.output_names(plan.ctx)):
                c_args = tuple(
                    o if a == "band" else plan.ctx.frequency_bands if a == "n_bands" else a
                    for a in gen.c_args
                )
                for sources, ch in targets:
                    specs.append(FeatureSpec(gen.feature_name(ch, out_name), gen, o, ch, sources, c_args))
        if not specs:
            raise ConfigError(
                f"The 'families' parameter of FeatureExtractor gives no feature for channels "
                f"{list(plan.channels)}: {list(self.families)}. ColumnFusion needs two channels of "
                "one sensor (acc*/gyr*); add a per-channel family such as 'Statistical'."
            )
        return specs

    def feature_names(self) -> list[str]:
        """Names of the output columns, in column order (see the class docstring).

        Returns:
            ``["<family>.<generator>[<channel>]", ...]``, e.g.
            ``"Statistical.mean[accX]"``, ``"Statistical.kurtosis[accMag]"``,
            ``"ColumnFusion.correlation[accX-accY]"``,
            ``"Frequency.band_energy_0of4[accX]"``; ``len == n_features``.

        Raises:
            ConfigError: if a parameter is invalid.
        """
        return [s.name for s in self.feature_specs()]

    def output_channels(self) -> list[str]:
        """Channels the per-channel generators see: raw channels, then magnitudes.

        Returns:
            e.g. ``["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ", "accMag",
            "gyrMag"]``.

        Raises:
            ConfigError: if a parameter is invalid.
        """
        return self._resolve().output_channels

    def channel_pairs(self) -> list[tuple[str, str]]:
        """Channel pairs the pair generators (``ColumnFusion``) see, in column order.

        Returns:
            e.g. ``[("accX", "accY"), ("accX", "accZ"), ("accY", "accZ"),
            ("gyrX", "gyrY"), ...]``.

        Raises:
            ConfigError: if a parameter is invalid.
        """
        plan = self._resolve()
        return [(plan.channels[a], plan.channels[b]) for a, b in plan.pairs]

    def magnitude_sources(self) -> dict[str, list[str]]:
        """The three source channels of each magnitude channel.

        Returns:
            e.g. ``{"accMag": ["accX", "accY", "accZ"]}``; empty when
            ``magnitude=False`` or no prefix matches.

        Raises:
            ConfigError: if a parameter is invalid.
        """
        plan = self._resolve()
        return {m.name: [plan.channels[i] for i in m.sources] for m in plan.magnitudes}

    # -- computation -------------------------------------------------------

    def _compute(self, X: object, specs: Sequence[FeatureSpec]) -> np.ndarray:
        """Evaluate ``specs`` on ``X``: ``(n_windows, len(specs)) float32``."""
        plan = self._resolve()
        X32 = self._check_X(X, len(plan.channels))
        n_windows, w, _ = X32.shape
        F = np.empty((n_windows, len(specs)), dtype=F32)
        if n_windows == 0 or not specs:
            return F
        T = np.ascontiguousarray(X32.transpose(1, 0, 2))  # (w, n_windows, raw channels)
        n_raw = len(plan.channels)

        # Columns of the blocks: single channels (raw or magnitude) and pairs
        # actually used by `specs`, in first-use order.
        singles = list(dict.fromkeys(s.sources[0] for s in specs if s.generator.kind == "channel"))
        pairs = list(dict.fromkeys(s.sources for s in specs if s.generator.kind == "pair"))
        TA = np.ascontiguousarray(T[:, :, [a for a, _ in pairs]]) if pairs else None
        TB = np.ascontiguousarray(T[:, :, [b for _, b in pairs]]) if pairs else None
        width = max(len(singles), len(pairs), 1)
        step = max(1, _BLOCK_ELEMENTS // (w * width))
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
            TS = None
            if singles:  # only the magnitudes some spec uses are computed
                TS = np.stack(
                    [T[:, :, c] if c < n_raw else magnitude(T, plan.magnitudes[c - n_raw]) for c in singles],
                    axis=2,
                )
            self._fill(F, specs, plan, TS, TA, TB, singles, pairs, step)
        finite = np.isfinite(F)
        if not finite.all():
            bad_cols = np.flatnonzero(~finite.all(axis=0))
            names = [specs[c].name for c in bad_cols[:3]]
            raise DataError(
                f"{bad_cols.size} feature(s) overflow the float32 range (first: {names}) in "
                f"{int((~finite.all(axis=1)).sum())} of {n_windows} windows; the input is far "
                "outside the range of ADC counts or sensor units -- rescale it"
            )
        return F

    @classmethod
    def _fill(cls, F: np.ndarray, specs: Sequence[FeatureSpec], plan: _Plan, TS: np.ndarray | None,
              TA: np.ndarray | None, TB: np.ndarray | None, singles: list[int],
              pairs: list[tuple[int, ...]], step: int) -> None:
        """Write ``specs`` into the columns of ``F``, one block of ``step`` windows at a time."""
        single_pos = {c: k for k, c in enumerate(singles)}
        pair_pos = {p: k for k, p in enumerate(pairs)}
        for start in range(0, F.shape[0], step):
            rows = slice(start, start + step)
            single = WindowBlock(np.ascontiguousarray(TS[:, rows]), plan.ctx) if TS is not None else None
            pa = WindowBlock(np.ascontiguousarray(TA[:, rows]), plan.ctx) if TA is not None else None
            pb = WindowBlock(np.ascontiguousarray(TB[:, rows]), plan.ctx) if TB is not None else None
            results: dict[tuple[str, str], np.ndarray] = {}
            for j, spec in enumerate(specs):
                gen = spec.generator
                key = (gen.family, gen.name)
                if key not in results:
                    values = gen.func(pa, pb) if gen.kind == "pair" else gen.func(single)
                    results[key] = cls._check_values(values, gen, plan.ctx, pa if gen.kind == "pair" else single)
                values = results[key]
                if gen.outputs is not None:
                    values = values[spec.output]
                col = pair_pos[spec.sources] if gen.kind == "pair" else single_pos[spec.sources[0]]
                F[rows, j] = values[:, col]

    @staticmethod
    def _check_values(values: np.ndarray, gen: Generator, ctx: FeatureContext, block: WindowBlock) -> np.ndarray:
        expected = block.shape
        if gen.outputs is not None:
            expected = (len(gen.output_names(ctx)), *expected)
        if values.shape != expected or values.dtype != F32:
            raise ValueError(
                f"feature generator {gen.family}.{gen.name} returned {values.shape} {values.dtype}, "
                f"expected {expected} float32"
            )
        return values
