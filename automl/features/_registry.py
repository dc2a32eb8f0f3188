"""Registry of feature generators, grouped by family, with their C-twin metadata.

A generator is a plain function evaluated on a :class:`~automl.features.WindowBlock`
(float32 windows of some channels, time-major, with shared intermediates such
as the mean-removed samples or a sorted copy computed once):

* a **channel** generator ``func(block) -> F`` reduces every window of every
  channel of ``block``: ``F`` is ``(n_windows, n_channels) float32``;
* a **pair** generator ``func(a, b) -> F`` reduces column pairs: ``a`` and
  ``b`` hold the first and second channel of each pair, ``F`` is
  ``(n_windows, n_pairs) float32``;
* a generator with several **outputs** (e.g. one energy per frequency band)
  returns ``(n_outputs, n_windows, n_channels) float32``; the number and names
  of the outputs depend on the :class:`FeatureContext` (``outputs=``).

Every generator is the Python reference of one C function in
``firmware/runtime/kp_features.h`` (``Generator.c_function``) and must compute
the same float32 bits (``docs/C_TWINS.md``): float32 intermediates, sequential
sums, the same association as the C loop. It must be vectorised over windows
and channels (a Python loop over the samples of a window is fine, a loop per
window is not), must not modify its input, and must return a defined, finite
value for finite input of any ``window_size >= 1`` (within the range documented
in ``automl/features/__init__.py``).

Registration order inside a family is the feature order, fixed by the source
order of the module that registers them; a new generator is appended at the end
of its family so existing feature indices stay valid.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Family names and generator names are identifiers: the feature name
# "Family.generator[channel]" is parsed with "." and "[", and the C function
# is kp_<family lower-case>_<generator>, so a family has no underscore.
_FAMILY_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

KINDS = ("channel", "pair")

# Extra C arguments a generator may take after (x, n, stride) -- or after
# (a, b, n, stride) for a pair generator -- in this vocabulary:
#   "scratch"   float[n] work buffer from the caller (sorted copy);
#   "dt"        float, seconds per sample, FeatureContext.dt;
#   "fs"        float, sample rate in Hz, FeatureContext.fs;
#   "cos_table", "sin_table"  const float[n] from automl.features.dft_tables(n);
#   "band", "n_bands"         int, the output index and FeatureContext.frequency_bands.
C_ARGS = ("scratch", "dt", "fs", "cos_table", "sin_table", "band", "n_bands")

_REGISTRY: dict[str, dict[str, "Generator"]] = {}


@dataclass(frozen=True)
class FeatureContext:
    """Parameters shared by the generators of one extractor.

    Attributes:
        sample_rate_hz: samples per second of the windows (Hz), > 0.
        frequency_bands: number of energy bands of the ``Frequency`` family, >= 1.
    """

    sample_rate_hz: float = 100.0
    frequency_bands: int = 4

    @property
    def dt(self) -> np.float32:
        """Seconds per sample as float32: ``float32(1 / sample_rate_hz)`` (division in float64)."""
        return np.float32(1.0 / self.sample_rate_hz)

    @property
    def fs(self) -> np.float32:
        """Sample rate in Hz as float32."""
        return np.float32(self.sample_rate_hz)


@dataclass(frozen=True)
class Generator:
    """One registered feature generator and what its C twin needs.

    Attributes:
        family: family name, e.g. ``"Statistical"``.
        name: generator name inside the family, e.g. ``"kurtosis"``.
        func: the reference function (see the module docstring).
        kind: ``"channel"`` (one channel in, one value out) or ``"pair"``
            (two channels of the same sensor in).
        c_args: extra arguments of the C function, in order, from ``C_ARGS``.
        needs_sorted: the C function sorts a copy of the window into
            ``scratch`` (several such features can share one sorted copy).
        outputs: ``None`` for one output named ``name``; else a function of
            the :class:`FeatureContext` returning the output names.
    """

    family: str
    name: str
    func: Callable[..., np.ndarray]
    kind: str = "channel"
    c_args: tuple[str, ...] = ()
    needs_sorted: bool = False
    outputs: Callable[[FeatureContext], tuple[str, ...]] | None = None

    @property
    def c_function(self) -> str:
        """Name of the C twin in ``kp_features.h``, e.g. ``"kp_statistical_mean"``."""
        return f"kp_{self.family.lower()}_{self.name}"

    @property
    def needs_scratch(self) -> bool:
        """The C function takes a ``float[n]`` work buffer."""
        return "scratch" in self.c_args

    @property
    def needs_dft_tables(self) -> bool:
        """The C function takes the cos/sin tables of :func:`automl.features.dft_tables`."""
        return "cos_table" in self.c_args

    @property
    def needs_dt(self) -> bool:
        """The C function takes ``dt`` (seconds per sample, float32)."""
        return "dt" in self.c_args

    @property
    def needs_sample_rate(self) -> bool:
        """The C function takes ``fs`` (sample rate in Hz, float32)."""
        return "fs" in self.c_args

    def output_names(self, ctx: FeatureContext) -> tuple[str, ...]:
        """Names of this generator's outputs under ``ctx``, e.g. ``("mean",)``."""
        return (self.name,) if self.outputs is None else tuple(self.outputs(ctx))

    def feature_name(self, channel: str, output: str | None = None) -> str:
        """Stable feature name of this generator (or one of its outputs) on ``channel``.

        Args:
            channel: channel name, e.g. ``"accX"``, ``"accMag"``, or a pair
                ``"accX-accY"``.
            output: one of :meth:`output_names`; defaults to ``name``.

        Returns:
            ``"<family>.<output>[<channel>]"``, e.g. ``"Statistical.mean[accX]"``.
        """
        return f"{self.family}.{output or self.name}[{channel}]"


def register_generator(
    family: str,
    name: str,
    *,
    kind: str = "channel",
    c_args: tuple[str, ...] = (),
    needs_sorted: bool = False,
    outputs: Callable[[FeatureContext], tuple[str, ...]] | None = None,
) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
    """Decorator that registers a generator function under ``family.name``.

    Args:
        family: family name (letters and digits, starts with a letter).
        name: generator name (an identifier), unique within the family.
        kind: ``"channel"`` or ``"pair"``.
        c_args: extra C arguments, a subset of ``C_ARGS`` in call order.
        needs_sorted: the C twin sorts a copy of the window.
        outputs: see :class:`Generator`.

    Returns:
        A decorator that registers the function and returns it unchanged.

    Raises:
        ValueError: if a name or option is malformed or ``family.name`` is
            already registered (a programming error, not a user error).

    Example:
        In a new private module imported by ``automl/features/__init__.py``
        (skipped as a doctest: it would register into the global registry)::

        >>> @register_generator("Shape", "range")  # doctest: +SKIP
        ... def _range(block: WindowBlock) -> np.ndarray:
        ...     return block.max - block.min
    """
    if not _FAMILY_RE.fullmatch(family):
        raise ValueError(f"generator family {family!r} must match {_FAMILY_RE.pattern}")
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"generator name {name!r} must match {_NAME_RE.pattern}")
    if kind not in KINDS:
        raise ValueError(f"generator kind must be one of {KINDS}; got {kind!r}")
    unknown = [a for a in c_args if a not in C_ARGS]
    if unknown:
        raise ValueError(f"generator {family}.{name}: unknown C arguments {unknown}; known: {C_ARGS}")

    def decorator(func: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        members = _REGISTRY.setdefault(family, {})
        if name in members:
            raise ValueError(f"feature generator {family}.{name} is already registered")
        members[name] = Generator(family, name, func, kind, tuple(c_args), needs_sorted, outputs)
        return func

    return decorator


def available_families() -> tuple[str, ...]:
    """Names of the registered families, in registration order."""
    return tuple(_REGISTRY)


def get_generators(family: str) -> tuple[Generator, ...]:
    """The generators of one family, in feature order (registration order).

    Args:
        family: a registered family name.

    Returns:
        The family's generators.

    Raises:
        KeyError: if the family is not registered.
    """
    return tuple(_REGISTRY[family].values())
