"""Registry of feature generators, grouped by family.

A generator is a plain function ``(X) -> F`` with

* ``X``: ``(n_windows, window_size, n_channels) float64``, sensor units
  (the units of the capture, e.g. m/s^2 for ``acc*``);
* ``F``: ``(n_windows, n_channels) float64``, one value per window and channel.

It must be vectorised over windows and channels (numpy along axis 1, never a
Python loop per window), must not modify ``X``, and must return finite values
for finite input of any ``window_size >= 1``.

Generators are registered with :func:`register_generator` under a family (the
SensiML family names: ``Statistical``, later ``Shape``, ``Column Fusion``,
``Area``, ``Rate of Change``, ``Frequency``) and a short name. Within a family,
registration order is the feature order, so it is fixed by the source order of
the module that registers them; a new generator is appended at the end of its
family so existing feature indices stay valid.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

GeneratorFunc = Callable[[np.ndarray], np.ndarray]

# Family names may contain spaces (SensiML spells "Rate of Change"); generator
# names are identifiers. Neither may contain "." "[" "]", which delimit the
# parts of a feature name such as "Statistical.mean[accX]".
_FAMILY_RE = re.compile(r"[A-Za-z][A-Za-z0-9 _]*")
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

_REGISTRY: dict[str, dict[str, "Generator"]] = {}


@dataclass(frozen=True)
class Generator:
    """One registered feature generator.

    Attributes:
        family: family name, e.g. ``"Statistical"``.
        name: generator name inside the family, e.g. ``"kurtosis"``.
        func: the function ``(n_windows, window_size, n_channels) float64 ->
            (n_windows, n_channels) float64``.
    """

    family: str
    name: str
    func: GeneratorFunc

    def feature_name(self, channel: str) -> str:
        """Stable feature name of this generator applied to ``channel``.

        Args:
            channel: channel name, e.g. ``"accX"`` or ``"accMag"``.

        Returns:
            ``"<family>.<name>[<channel>]"``, e.g. ``"Statistical.mean[accX]"``.
        """
        return f"{self.family}.{self.name}[{channel}]"


def register_generator(family: str, name: str) -> Callable[[GeneratorFunc], GeneratorFunc]:
    """Decorator that registers a generator function under ``family.name``.

    Args:
        family: family name (letters, digits, spaces, underscores; starts with
            a letter).
        name: generator name (an identifier), unique within the family.

    Returns:
        A decorator that registers the function and returns it unchanged.

    Raises:
        ValueError: if a name is malformed or ``family.name`` is already
            registered (a programming error, not a user error).

    Example:
        In a new private module imported by ``automl/features/__init__.py``
        (skipped as a doctest: it would register into the global registry)::

        >>> @register_generator("Shape", "range")  # doctest: +SKIP
        ... def _range(X: np.ndarray) -> np.ndarray:
        ...     return X.max(axis=1) - X.min(axis=1)
    """
    if not _FAMILY_RE.fullmatch(family):
        raise ValueError(f"generator family {family!r} must match {_FAMILY_RE.pattern}")
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"generator name {name!r} must match {_NAME_RE.pattern}")

    def decorator(func: GeneratorFunc) -> GeneratorFunc:
        members = _REGISTRY.setdefault(family, {})
        if name in members:
            raise ValueError(f"feature generator {family}.{name} is already registered")
        members[name] = Generator(family=family, name=name, func=func)
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
