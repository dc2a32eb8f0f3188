"""Sensor groups: which three channels are the axes of one sensor (accelerometer, gyroscope, ...).

A group gives the magnitude channel ``<group>Mag`` (``accMag``, ``gyrMag``)
and the ColumnFusion pairs. Groups are declared (``data.sensors`` in the
search space), come from the file of each sensor when a recording is several
files (see ``automl/data/_recordings.py``), or are inferred from channel
names by :func:`infer_sensors`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from automl.errors import ConfigError

#: Channel-name prefixes that name a sensor group (case-insensitive): the
#: SensiML / Sensor Logger convention ``accX``, ``gyrZ``.
SENSOR_PREFIXES: tuple[str, ...] = ("acc", "gyr")

#: A unit at the end of a channel name (``x-axis (g)``, ``gyro x (deg/s)``,
#: MetaBase and phyphox exports) -> sensor group.
UNIT_SENSORS: dict[str, str] = {
    "g": "acc", "m/s^2": "acc", "m/s2": "acc", "m/s²": "acc",
    "deg/s": "gyr", "°/s": "gyr", "dps": "gyr", "rad/s": "gyr",
}

#: Axes of a sensor group.
AXES = 3

_UNIT = re.compile(r"\(\s*([^()]+?)\s*\)\s*$")
_GROUP_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _unit_group(channel: str) -> str | None:
    m = _UNIT.search(channel)
    return UNIT_SENSORS.get(m.group(1).lower()) if m else None


def infer_sensors(channels: Sequence[str]) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Sensor groups of ``channels`` from their names.

    Rules, per group: the channels whose name starts with ``acc`` / ``gyr``
    (case-insensitive, :data:`SENSOR_PREFIXES`); for a group no prefix
    names, the channels whose name ends with a unit of
    :data:`UNIT_SENSORS` (``(g)``, ``(deg/s)``, ...). A group is kept only
    with exactly three channels (x, y, z); members are in channel order.

    Returns:
        ``({group: channel names}, notes)``: notes say which name matches
        were not used and why (e.g. two ``acc*`` channels).
    """
    groups: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    for prefix in SENSOR_PREFIXES:
        by_prefix = [c for c in channels if c.lower().startswith(prefix)]
        by_unit = [c for c in channels if _unit_group(c) == prefix]
        members = by_prefix or by_unit
        if len(members) == AXES:
            groups[prefix] = tuple(members)
        elif members:
            how = f"start with {prefix!r}" if by_prefix else f"carry a {prefix} unit"
            notes.append(f"no {prefix}Mag channel: {len(members)} channels {members} {how}, a sensor group needs "
                         f"exactly {AXES} (declare groups with data.sensors)")
    return groups, notes


def check_sensors(channels: Sequence[str], sensors: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Declared sensor groups, checked against the channels; members reordered to channel order.

    Raises:
        ConfigError: a group name that is not an identifier, a group without
            exactly three channels, a channel the data does not have, or a
            channel in two groups.
    """
    if not isinstance(sensors, Mapping):
        raise ConfigError(f"The 'sensors' parameter must map a group name to its {AXES} channels, e.g. "
                          f"{{acc: [accX, accY, accZ]}}. Got {sensors!r} instead.")
    out: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for group, members in sensors.items():
        if not isinstance(group, str) or not _GROUP_NAME.match(group):
            raise ConfigError(f"The 'sensors' parameter's group names must be identifiers such as 'acc' "
                              f"(they name the magnitude channel accMag). Got {group!r} instead.")
        members = [members] if isinstance(members, str) else list(members)
        if len(members) != AXES:
            raise ConfigError(f"The 'sensors' parameter's group {group!r} must list exactly {AXES} channels (its "
                              f"x, y and z axes). Got {members!r} instead.")
        for m in members:
            if m not in channels:
                raise ConfigError(f"The 'sensors' parameter's group {group!r} names channel {m!r}, which the data "
                                  f"does not have; its channels are {list(channels)}.")
            if m in owner:
                raise ConfigError(f"The 'sensors' parameter puts channel {m!r} in both {owner[m]!r} and {group!r}.")
            owner[m] = group
        out[group] = tuple(sorted(members, key=list(channels).index))
    return out
