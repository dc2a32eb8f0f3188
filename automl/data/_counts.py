"""ADC counts: the int16 sample values the device sees.

The firmware API takes ``int16_t`` samples, so the Python pipeline computes
every feature on the same integers: ``counts = clip(round(x * scale), -32768,
32767)`` per channel, stored as float32 (exact for |counts| <= 2**24).
"""

from __future__ import annotations

import math

import numpy as np

from automl.data._dataset import Capture, Dataset
from automl.errors import ConfigError

INT16_MIN, INT16_MAX = -32768, 32767
# Full-scale headroom over the largest training value: a capture 25 % stronger
# than anything seen in training still does not clip.
HEADROOM = 1.25


def sensor_group(channel: str) -> str:
    """``acc`` / ``gyr`` by name prefix (case-insensitive), else the channel itself."""
    low = channel.lower()
    for prefix in ("acc", "gyr"):
        if low.startswith(prefix):
            return prefix
    return channel


def auto_counts_scale(dataset: Dataset) -> dict[str, float]:
    """Counts per sensor unit for each channel, as an IMU's full-scale range would give.

    One scale per sensor group (all ``acc*`` channels share one, as do all
    ``gyr*``): the largest power of two ``s`` with ``s * HEADROOM * max|x| <=
    32767`` over the group's samples. Powers of two make ``x * s`` exact in
    float32, and sharing a scale per sensor keeps magnitudes meaningful.

    Args:
        dataset: captures whose data is in sensor units (e.g. m/s^2, rad/s).

    Returns:
        ``{channel: counts per unit}``.
    """
    peaks: dict[str, float] = {}
    for ci, ch in enumerate(dataset.channels):
        g = sensor_group(ch)
        peak = max((float(np.abs(c.data[:, ci]).max()) if c.n_samples else 0.0) for c in dataset.captures)
        peaks[g] = max(peaks.get(g, 0.0), peak)
    scales = {}
    for ch in dataset.channels:
        peak = peaks[sensor_group(ch)] * HEADROOM
        scales[ch] = 1.0 if peak <= 0 else float(2.0 ** math.floor(math.log2(INT16_MAX / peak)))
    return scales


def to_counts(dataset: Dataset, scales: dict[str, float]) -> Dataset:
    """The dataset with every sample converted to int16 ADC counts (as float32).

    Args:
        dataset: captures in sensor units, ``(n_samples, n_channels) float32`` each.
        scales: counts per unit for every channel (e.g. from :func:`auto_counts_scale`).

    Returns:
        A new Dataset whose captures hold ``(n_samples, n_channels) float32``
        integer values in [-32768, 32767] (round half to even, then clipped).

    Raises:
        ConfigError: if a channel has no scale or a scale is not a positive number.
    """
    missing = [ch for ch in dataset.channels if ch not in scales]
    if missing:
        raise ConfigError(f"The 'sample_scale' parameter has no scale for channel(s) {missing}.")
    bad = {ch: s for ch, s in scales.items() if not (isinstance(s, (int, float)) and math.isfinite(s) and s > 0)}
    if bad:
        raise ConfigError(f"The 'sample_scale' parameter must be positive numbers. Got {bad} instead.")
    k = np.array([scales[ch] for ch in dataset.channels], dtype=np.float64)
    captures = [
        Capture(c.name, np.clip(np.rint(c.data.astype(np.float64) * k), INT16_MIN, INT16_MAX).astype(np.float32),
                dict(c.metadata))
        for c in dataset.captures
    ]
    return Dataset(dataset.name, dataset.channels, dataset.sample_rate_hz, captures, list(dataset.segments),
                   dataset.background)
