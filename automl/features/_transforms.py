"""Channel transforms applied before the feature generators, and column pairs.

The SensiML "Magnitude" transform: the Euclidean norm of the three
accelerometer axes (``accMag``) and of the three gyroscope axes (``gyrMag``),
appended after the raw channels. C twin: ``kp_magnitude`` in
``firmware/runtime/kp_features.h``, ``sqrtf((x*x + y*y) + z*z)`` in float32.

Column pairs of the ``ColumnFusion`` family: :func:`plan_pairs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from automl.data import SENSOR_PREFIXES
from automl.errors import ConfigError

# (channel-name prefix, matched case-insensitively; name of the new channel), used
# when no sensor groups are given (a pipeline.json written before they were recorded).
# The order of this tuple is the order in which magnitude channels are appended.
MAGNITUDE_SOURCES: tuple[tuple[str, str], ...] = tuple((p, f"{p}Mag") for p in SENSOR_PREFIXES)

#: Sensor groups: ``{group: its channel names}``; group ``g`` gives the magnitude ``gMag``.
Sensors = Mapping[str, Sequence[str]]


def _group_indices(channels: Sequence[str], sensors: Sensors) -> list[tuple[str, list[int]]]:
    """``(group, channel indices in channel order)`` of declared groups; ConfigError for an unknown channel."""
    out = []
    for group, members in sensors.items():
        missing = [m for m in members if m not in channels]
        if missing:
            raise ConfigError(f"The 'sensors' parameter's group {group!r} names channel(s) {missing} that are not "
                              f"among the channels {list(channels)}.")
        out.append((group, sorted(list(channels).index(m) for m in members)))
    return out


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


def plan_magnitudes(channels: Sequence[str], sensors: Sensors | None = None) -> tuple[Magnitude, ...]:
    """Which magnitude channels ``channels`` allows, in append order.

    With ``sensors`` (the data set's declared or inferred sensor groups,
    ``automl.data.Dataset.sensors``): one magnitude ``<group>Mag`` per group,
    in the groups' order. Without (a pipeline recorded before groups were):
    a magnitude is planned when exactly three channel names start with its
    prefix (``acc`` / ``gyr``, case-insensitive) and skipped when none does.

    Args:
        channels: raw channel names, in the order of the data's last axis.
        sensors: ``{group: 3 channel names}``, or None for the prefix rule.

    Returns:
        The magnitudes to append (possibly empty); sources in channel order.

    Raises:
        ConfigError: a group without exactly three channels or naming an
            unknown channel; without ``sensors``, one, two, or more than
            three channels sharing a prefix (the axes are ambiguous or incomplete).
    """
    if sensors is not None:
        plans = []
        for group, idx in _group_indices(channels, sensors):
            if len(idx) != 3:
                raise ConfigError(f"magnitude=True needs exactly 3 channels in sensor group {group!r} to compute "
                                  f"{group}Mag; it has {len(idx)}: {[channels[i] for i in idx]}.")
            plans.append(Magnitude(name=f"{group}Mag", sources=(idx[0], idx[1], idx[2])))
        return tuple(plans)
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


def add_magnitudes(T: np.ndarray, magnitudes: Sequence[Magnitude]) -> np.ndarray:
    """Append magnitude channels to time-major windows.

    Each new channel is ``sqrt((x*x + y*y) + z*z)`` of its three sources
    ``(x, y, z)`` in channel order, every step in float32 (C twin:
    ``kp_magnitude3``; products and sums rounded to float32, ``sqrt``
    correctly rounded).

    Args:
        T: ``(window_size, n_windows, n_channels) float32``, channel units.
        magnitudes: from :func:`plan_magnitudes` for the same channels.

    Returns:
        ``(window_size, n_windows, n_channels + len(magnitudes)) float32``:
        ``T``'s channels followed by the magnitudes. ``T`` itself when
        ``magnitudes`` is empty.
    """
    if not magnitudes:
        return T
    return np.concatenate([T, *(magnitude(T, m)[:, :, None] for m in magnitudes)], axis=2)


def magnitude(T: np.ndarray, m: Magnitude) -> np.ndarray:
    """One magnitude channel ``sqrt((x*x + y*y) + z*z)`` in float32.

    Args:
        T: ``(window_size, n_windows, n_channels) float32``.
        m: which three channels.

    Returns:
        ``(window_size, n_windows) float32``, channel units.
    """
    x, y, z = (T[:, :, i] for i in m.sources)
    return np.sqrt((x * x + y * y) + z * z)


def plan_pairs(channels: Sequence[str], sensors: Sensors | None = None) -> tuple[tuple[int, int], ...]:
    """Column pairs of the ``ColumnFusion`` family.

    For each sensor group (``sensors``, in its order; without it, each prefix
    of :data:`MAGNITUDE_SOURCES`, ``acc`` then ``gyr``, case-insensitive),
    every pair ``(i, j)``, ``i < j``, of its channels, in channel order: for
    ``accX, accY, accZ`` that is ``(X, Y), (X, Z), (Y, Z)``. A group with
    fewer than two channels gives no pair; other channels are never paired.

    Args:
        channels: raw channel names, in the order of the data's last axis.
        sensors: ``{group: channel names}``, or None for the prefix rule.

    Returns:
        ``(i, j)`` indices into ``channels``.
    """
    if sensors is not None:
        groups = [idx for _, idx in _group_indices(channels, sensors)]
    else:
        groups = [[i for i, ch in enumerate(channels) if ch.lower().startswith(prefix)]
                  for prefix, _ in MAGNITUDE_SOURCES]
    pairs = []
    for idx in groups:
        pairs.extend((a, b) for k, a in enumerate(idx) for b in idx[k + 1 :])
    return tuple(pairs)
