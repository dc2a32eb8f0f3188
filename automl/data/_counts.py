"""ADC counts: the int16 sample values the device sees.

The firmware API takes ``int16_t`` samples, so the Python pipeline computes
every feature on the same integers: ``counts = clip(round(x * scale), -32768,
32767)`` per channel, stored as float32 (exact for |counts| <= 2**24).
"""

from __future__ import annotations

import math

import numpy as np

from automl.data._dataset import Capture, Dataset
from automl.errors import ConfigError, DataError

INT16_MIN, INT16_MAX = -32768, 32767
# Full-scale headroom over the largest training value: a capture 25 % stronger
# than anything seen in training still does not clip.
HEADROOM = 1.25


#: A sample more than this many times its sensor group's 99.9th percentile of
#: |x| is an outlier for the automatic scale: 16 (4 bits of int16 range) is far
#: beyond the boxing data's peak / p99.9 (1.63 for acc, 1.34 for gyr) while one
#: corrupt cell (1e30) is many orders beyond it.
OUTLIER_FACTOR = 16.0

#: Percentile of |x| an outlier is measured against.
OUTLIER_PERCENTILE = 99.9


def auto_counts_scale(dataset: Dataset) -> dict[str, float]:
    """Counts per sensor unit for each channel, as an IMU's full-scale range would give.

    One scale per sensor group (``dataset.sensors``: all ``acc`` channels
    share one, as do all ``gyr``; a channel in no group is its own): the
    largest power of two ``s`` with ``s * HEADROOM * peak <= 32767``. Powers
    of two make ``x * s`` exact in float32, and sharing a scale per sensor
    keeps magnitudes meaningful.

    ``peak`` is the group's largest ``|x|`` over all samples, except that one
    outlier (a value above ``OUTLIER_FACTOR`` times the group's 99.9th
    percentile of ``|x|``) is left out, with a line in ``dataset.notes``: it
    clips to +-32767 counts instead of scaling every other sample to 0.

    Args:
        dataset: captures whose data is in sensor units (e.g. m/s^2, rad/s).

    Returns:
        ``{channel: counts per unit}``.

    Raises:
        DataError: more than one outlier in a group, naming the largest
            (capture, file, sample, channel) and how many there are.
    """
    group_of = {ch: g for g, members in (dataset.sensors or {}).items() for ch in members}
    groups: dict[str, list[int]] = {}
    for ci, ch in enumerate(dataset.channels):
        groups.setdefault(group_of.get(ch, ch), []).append(ci)
    scales = {}
    for group, idx in groups.items():
        peak = _robust_peak(dataset, group, idx) * HEADROOM
        for ci in idx:
            scales[dataset.channels[ci]] = 1.0 if peak <= 0 else float(2.0 ** math.floor(math.log2(INT16_MAX / peak)))
    return {ch: scales[ch] for ch in dataset.channels}


def _robust_peak(dataset: Dataset, group: str, idx: list[int]) -> float:
    """The group's peak |x| with a single outlier left out (see :func:`auto_counts_scale`)."""
    blocks = [np.abs(c.data[:, idx]) for c in dataset.captures if c.n_samples]
    if not blocks:
        return 0.0
    values = np.concatenate([b.ravel() for b in blocks])
    limit = OUTLIER_FACTOR * float(np.percentile(values, OUTLIER_PERCENTILE))
    if limit <= 0 or values.max() <= limit:
        return float(values.max())
    outliers = int((values > limit).sum())
    k, (row, col) = max(((k, np.unravel_index(int(np.argmax(b)), b.shape)) for k, b in enumerate(blocks)),
                        key=lambda kb: blocks[kb[0]][kb[1]])
    capture = [c for c in dataset.captures if c.n_samples][k]
    value = float(capture.data[row, idx[col]])
    where = (f"capture {capture.name!r} ({capture.metadata.get('file', capture.name)}), sample {row} (0-based), "
             f"channel {dataset.channels[idx[col]]!r}: {value:.6g}")
    ratio = f"{abs(value) / (limit / OUTLIER_FACTOR):.3g} times the {OUTLIER_PERCENTILE:g}th percentile of |x|"
    if outliers > 1:
        raise DataError(
            f"{where} is {ratio} of sensor group {group!r}, and {outliers - 1} more samples are over "
            f"{OUTLIER_FACTOR:g} times it; the automatic counts scale would squeeze every other sample to a few "
            "counts: fix or remove those samples, or give data.sample_scale"
        )
    dataset.notes.append(f"{where} is {ratio} of sensor group {group!r}: left out of the automatic counts scale "
                         "(it clips to the int16 range)")
    return float(values[values <= limit].max())


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
    return dataset.replace(captures=captures, segments=list(dataset.segments))
