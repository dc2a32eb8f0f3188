"""Channel transforms applied before the feature generators.

Only the SensiML "Magnitude" transform for now: the Euclidean norm of the three
accelerometer axes (``accMag``) and of the three gyroscope axes (``gyrMag``),
appended after the raw channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from automl.errors import ConfigError

# (channel-name prefix, matched case-insensitively; name of the new channel).
# The order of this tuple is the order in which magnitude channels are appended.
MAGNITUDE_SOURCES: tuple[tuple[str, str], ...] = (("acc", "accMag"), ("gyr", "gyrMag"))


@dataclass(frozen=True)
class Magnitude:
    """One magnitude channel to compute.

    Attributes:
        name: name of the new channel, ``"accMag"`` or ``"gyrMag"``.
        sources: indices of its three source channels in the raw channel
            list, in channel order.
    """

    name: str
    sources: tuple[int, int, int]


def plan_magnitudes(channels: Sequence[str]) -> tuple[Magnitude, ...]:
    """Which magnitude channels ``channels`` allows, in append order.

    A magnitude is planned when exactly three channel names start with its
    prefix (``acc`` / ``gyr``, case-insensitive) and skipped when none does.

    Args:
        channels: raw channel names, in the order of the data's last axis.

    Returns:
        The magnitudes to append (possibly empty), ``accMag`` before ``gyrMag``.

    Raises:
        ConfigError: if one, two, or more than three channels share a prefix:
            the three axes are ambiguous or incomplete.
    """
    plans = []
    for prefix, name in MAGNITUDE_SOURCES:
        idx = [i for i, ch in enumerate(channels) if ch.lower().startswith(prefix)]
        if not idx:
            continue
        if len(idx) != 3:
            found = [channels[i] for i in idx]
            raise ConfigError(
                f"magnitude=True needs exactly 3 channels whose name starts with {prefix!r} "
                f"(case-insensitive) to compute {name}; found {len(idx)}: {found}. "
                "Pass magnitude=False or provide exactly the three axes."
            )
        plans.append(Magnitude(name=name, sources=(idx[0], idx[1], idx[2])))
    return tuple(plans)


def add_magnitudes(X: np.ndarray, magnitudes: Sequence[Magnitude]) -> np.ndarray:
    """Append magnitude channels to windowed data.

    Each new channel is ``sqrt(a*a + b*b + c*c)`` of its three sources, summed
    left to right in channel order, in ``X``'s dtype.

    Args:
        X: ``(n_windows, window_size, n_channels) float64``, sensor units.
        magnitudes: from :func:`plan_magnitudes` for the same channels.

    Returns:
        ``(n_windows, window_size, n_channels + len(magnitudes)) float64``:
        ``X``'s channels followed by the magnitudes, in sensor units. ``X``
        itself when ``magnitudes`` is empty.
    """
    if not magnitudes:
        return X
    extra = []
    for m in magnitudes:
        a, b, c = (X[:, :, i] for i in m.sources)
        extra.append(np.sqrt(a * a + b * b + c * c))
    return np.concatenate([X, np.stack(extra, axis=2)], axis=2)
