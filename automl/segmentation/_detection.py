"""Detection signals for threshold segmentation (the float32 C twin of ``kp_segment.h``).

The detection signal of a capture is one float32 value per sample, computed
from one *column*: a raw channel, or ``accMag`` / ``gyrMag``, the Euclidean
norm of the three ``acc*`` / ``gyr*`` channels. Two modes:

- ``"absolute"``: ``d[t] = |v[t]|``, defined from sample 0;
- ``"std"``: the population standard deviation of the last
  ``detection_window`` column values ``v[t - D + 1 .. t]`` (``D`` =
  ``detection_window``), defined from sample ``D - 1`` on.

Every value is computed in float32 in the order of the C loop (see
``docs/C_TWINS.md``), so ``kp_segment.h`` fed the same numbers gives the same
bits:

- magnitude of channels ``a, b, c`` (in dataset channel order):
  ``sqrtf((a*a + b*b) + c*c)``;
- std: ``s = 0; for i in oldest..newest: s += x[i]``; ``mean = s / (float)D``;
  ``q = 0; for i: { e = x[i] - mean; q += e*e; }``; ``sqrtf(q / (float)D)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from automl.data import Dataset
from automl.errors import ConfigError

#: Detection modes understood by :func:`detection_signal` and ``kp_segment.h``.
MODES: tuple[str, ...] = ("absolute", "std")

# Magnitude column name -> channel-name prefix of its three sources (case-insensitive).
_MAGNITUDES: dict[str, str] = {"accMag": "acc", "gyrMag": "gyr"}


def column_sources(channels: Sequence[str], column: str,
                   sensors: Mapping[str, Sequence[str]] | None = None) -> tuple[int, ...]:
    """Indices of the channels a column is computed from.

    Args:
        channels: channel names, in the order of the data's last axis.
        column: a channel name (an exact match wins), or a magnitude
            ``"<group>Mag"`` of a sensor group (``"accMag"``, ``"gyrMag"``).
        sensors: sensor groups ``{group: 3 channel names}`` (``Dataset.sensors``);
            None for the name-prefix rule (``accMag`` of the three ``acc*``
            channels, ``gyrMag`` of the three ``gyr*``).

    Returns:
        ``(i,)`` for a raw channel; ``(i, j, k)`` (ascending, i.e. channel order)
        for a magnitude.

    Raises:
        ConfigError: if the column is unknown or a magnitude does not have
            exactly three source channels.
    """
    channels = list(channels)
    if column in channels:
        return (channels.index(column),)
    if sensors is not None:
        mags = {f"{g}Mag": members for g, members in sensors.items()}
        if column in mags:
            idx = sorted(channels.index(m) for m in mags[column] if m in channels)
            if len(idx) != 3:
                raise ConfigError(f"The 'column' {column!r} needs the 3 channels of its sensor group; found "
                                  f"{len(idx)}: {[channels[i] for i in idx]}. Use a raw channel name instead.")
            return tuple(idx)
        raise ConfigError(
            f"The 'column' parameter must be one of the channels {channels} or a sensor magnitude "
            f"{sorted(mags) or '(the data has no sensor group)'}. Got {column!r} instead."
        )
    if column in _MAGNITUDES:
        prefix = _MAGNITUDES[column]
        idx = [i for i, ch in enumerate(channels) if ch.lower().startswith(prefix)]
        if len(idx) != 3:
            raise ConfigError(
                f"The 'column' {column!r} needs exactly 3 channels whose name starts with {prefix!r} "
                f"(case-insensitive); found {len(idx)}: {[channels[i] for i in idx]}. "
                "Use a raw channel name instead."
            )
        return tuple(idx)
    raise ConfigError(
        f"The 'column' parameter must be one of the channels {channels} or 'accMag' / 'gyrMag'. "
        f"Got {column!r} instead."
    )


def column_signal(data: np.ndarray, channels: Sequence[str], column: str,
                  sensors: Mapping[str, Sequence[str]] | None = None) -> np.ndarray:
    """The column's value at every sample.

    Args:
        data: ``(n_samples, n_channels)`` sensor values (any float dtype; cast to
            float32), units of the source.
        channels: channel names of ``data``'s last axis.
        column, sensors: see :func:`column_sources`.

    Returns:
        ``(n_samples,) float32`` column values, units of the source channels.
    """
    src = column_sources(channels, column, sensors)
    x = np.asarray(data, dtype=np.float32)
    if len(src) == 1:
        return np.ascontiguousarray(x[:, src[0]])
    a, b, c = (x[:, i] for i in src)
    return np.sqrt((a * a + b * b) + c * c)


def _check_mode(mode: str, detection_window: int) -> None:
    if mode not in MODES:
        raise ConfigError(f"The 'mode' parameter must be one of {list(MODES)}. Got {mode!r} instead.")
    if isinstance(detection_window, bool) or not isinstance(detection_window, (int, np.integer)) or detection_window < 1:
        raise ConfigError(
            f"The 'detection_window' parameter must be an int >= 1 (samples). Got {detection_window!r} instead."
        )


def detection_signal(
    data: np.ndarray,
    channels: Sequence[str],
    column: str,
    mode: str,
    detection_window: int = 1,
    sensors: Mapping[str, Sequence[str]] | None = None,
) -> np.ndarray:
    """The detection value at every sample of one capture.

    Args:
        data: ``(n_samples, n_channels)`` sensor values, units of the source.
        channels: channel names of ``data``'s last axis.
        column: a channel name or a sensor magnitude (``"accMag"``); with
            ``sensors``, see :func:`column_sources`.
        mode: ``"absolute"`` (``|v[t]|``) or ``"std"`` (population std of
            ``v[t - detection_window + 1 .. t]``).
        detection_window: samples in the std window (``"std"`` only).

    Returns:
        ``(n_samples,) float32`` detection values in the column's units; NaN
        where undefined (``t < detection_window - 1`` in ``"std"`` mode), so
        ``d > threshold`` is False there.

    Raises:
        ConfigError: on an unknown column or mode, or a bad ``detection_window``.

    Example:
        >>> import numpy as np
        >>> detection_signal(np.array([[1.0], [3.0], [3.0]]), ["x"], "x", "std", 2).tolist()
        [nan, 1.0, 0.0]
    """
    _check_mode(mode, detection_window)
    v = column_signal(data, channels, column, sensors)
    if mode == "absolute":
        return np.abs(v)
    d = int(detection_window)
    n = v.shape[0]
    out = np.full(n, np.nan, dtype=np.float32)
    if n < d:
        return out
    x = np.lib.stride_tricks.sliding_window_view(v, d)  # (n - d + 1, d), oldest first
    s = np.zeros(x.shape[0], np.float32)
    for i in range(d):  # sequential float32 sum, as the C loop
        s += x[:, i]
    mean = s / np.float32(d)
    q = np.zeros(x.shape[0], np.float32)
    for i in range(d):
        e = x[:, i] - mean
        q += e * e
    out[d - 1:] = np.sqrt(q / np.float32(d))
    return out


def threshold_from_quantile(
    dataset: Dataset,
    column: str,
    mode: str,
    detection_window: int,
    q: float,
) -> float:
    """A threshold at the ``q`` quantile of the dataset's detection signal.

    Pools the defined detection values of every capture (pass the training
    split only) and takes ``np.quantile(values, q)`` (linear interpolation),
    rounded to float32 because the segmenters compare in float32. With
    ``q = 0.95`` about 5 % of the samples exceed the threshold.

    Args:
        dataset: the captures (training split).
        column: a channel name or a magnitude of one of ``dataset.sensors``.
        mode: ``"absolute"`` or ``"std"``.
        detection_window: samples in the std window (``"std"`` only).
        q: quantile in ``[0, 1]``.

    Returns:
        The threshold in the column's units (a float32 value as a Python float).

    Raises:
        ConfigError: on a bad ``q``, column, mode or ``detection_window``, or if
            no capture has a defined detection value.
    """
    if isinstance(q, bool) or not isinstance(q, (int, float, np.floating, np.integer)) or not 0.0 <= float(q) <= 1.0:
        raise ConfigError(f"The 'q' parameter of threshold_from_quantile must be a number in [0, 1]. Got {q!r} instead.")
    parts = [detection_signal(c.data, dataset.channels, column, mode, detection_window, dataset.sensors)
             for c in dataset.captures]
    values = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise ConfigError(
            f"No detection values to take a quantile of: the {len(dataset.captures)} captures of "
            f"{dataset.name!r} are all shorter than detection_window={detection_window}."
        )
    return float(np.float32(np.quantile(values.astype(np.float64), float(q))))
