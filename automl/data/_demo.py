"""Demo dataset that ships with sktime and needs no download: UEA BasicMotions."""

from __future__ import annotations

import numpy as np

from automl.data._dataset import Capture, Dataset, Segment

#: Channel names of BasicMotions' six dimensions, in order. Neither sktime's
#: docstring (``sktime.datasets.load_basic_motions``) nor the ``.ts`` header
#: state the order, only "3D accelerometer and a 3D gyroscope". Dimensions 0-2
#: are the accelerometer judged from the data: their per-case means are far
#: from zero (gravity / orientation, up to ~9 in running cases) while the means
#: of dimensions 3-5 stay near zero in every class, as a gyroscope's do for
#: repetitive motion. Units are not documented by the archive.
BASIC_MOTIONS_CHANNELS: tuple[str, ...] = ("accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ")

#: Sample rate of BasicMotions, Hz: "sampled once every tenth of a second"
#: (sktime ``load_basic_motions`` docstring and the ``.ts`` file header).
BASIC_MOTIONS_RATE_HZ = 10.0


def load_basic_motions() -> Dataset:
    """The UEA BasicMotions data set as a :class:`Dataset` (offline).

    The data is bundled in the sktime wheel (``sktime.datasets.load_basic_motions``):
    four students wearing a smart watch, classes ``badminton``, ``running``,
    ``standing``, ``walking``; 40 train and 40 test cases of 100 samples
    (10 s at 10 Hz), 10 per class in each split.

    Each case becomes one capture, named ``train_000`` .. ``train_039`` and
    ``test_000`` .. ``test_039`` in sktime's order, with one segment over the
    whole case labelled with its class and metadata ``split`` (``train`` or
    ``test``). The background class ``NoActivity`` does not occur in the data.

    Returns:
        A dataset named ``basic-motions`` with 80 captures, each ``data``
        ``(100, 6) float32`` (channels :data:`BASIC_MOTIONS_CHANNELS`, units
        as in the archive), at 10 Hz, and 80 segments.
    """
    from sktime.datasets import load_basic_motions as _sktime_load  # slow import; only here

    captures: list[Capture] = []
    segments: list[Segment] = []
    for split in ("train", "test"):
        X, y = _sktime_load(split=split, return_type="numpy3D")  # X: (40, 6, 100) float64
        for i in range(X.shape[0]):
            name = f"{split}_{i:03d}"
            data = np.ascontiguousarray(X[i].T, dtype=np.float32)  # (100, 6)
            captures.append(Capture(name=name, data=data, metadata={"split": split}))
            segments.append(Segment(name, str(y[i]), 0, data.shape[0]))
    return Dataset(
        name="basic-motions",
        channels=BASIC_MOTIONS_CHANNELS,
        sample_rate_hz=BASIC_MOTIONS_RATE_HZ,
        captures=captures,
        segments=segments,
        background="NoActivity",
    )
