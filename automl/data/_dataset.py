"""In-memory canonical dataset: captures, labelled segments and metadata."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Segment:
    """One labelled span of one capture.

    Attributes:
        capture: name of the capture (its file stem).
        label: class name.
        start: first sample of the span (samples, 0-based, inclusive).
        end: one past the last sample (samples, exclusive), ``end > start``.
    """

    capture: str
    label: str
    start: int
    end: int

    @property
    def length(self) -> int:
        """Span length in samples."""
        return self.end - self.start


@dataclass
class Capture:
    """One continuous recording.

    Attributes:
        name: unique capture name (file stem for file-based captures).
        data: ``(n_samples, n_channels) float32`` sensor values in the units of
            the source (boxing-punches: m/s^2 for acc*, rad/s for gyr*).
        metadata: per-capture string metadata (e.g. ``hand``, ``file``).
    """

    name: str
    data: np.ndarray
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        """Number of samples in the capture."""
        return int(self.data.shape[0])


@dataclass
class Dataset:
    """Captures with their labelled segments, all at one sample rate.

    Attributes:
        name: human-readable dataset name (folder name or ``basic-motions``).
        channels: channel (column) names, in the order of ``Capture.data``'s
            second axis.
        sample_rate_hz: sample rate shared by all captures (Hz).
        captures: the recordings.
        segments: labelled spans; spans of the background class may be
            present and are ignored by segmentation.
        background: name of the background ("everything else") class.
        sensors: sensor groups, ``{group: its 3 channel names}`` in channel
            order; a group ``g`` gives the magnitude channel ``gMag``. None
            (the default) infers them from the channel names
            (:func:`~automl.data.infer_sensors`).
        resample_hz: the rate the captures were resampled to (equal to
            ``sample_rate_hz``), or None if they are as recorded.
        notes: what reading the data did that the user should know (files
            skipped, captures resampled, columns not used), one line each.
    """

    name: str
    channels: tuple[str, ...]
    sample_rate_hz: float
    captures: list[Capture]
    segments: list[Segment]
    background: str = "NoActivity"
    sensors: dict[str, tuple[str, ...]] | None = None
    resample_hz: float | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from automl.data._sensors import check_sensors, infer_sensors

        self.channels = tuple(self.channels)
        if self.sensors is None:
            self.sensors, _ = infer_sensors(self.channels)
        else:
            self.sensors = check_sensors(self.channels, self.sensors)

    def capture_names(self) -> list[str]:
        """Names of the captures, in order."""
        return [c.name for c in self.captures]

    def labels(self) -> list[str]:
        """Class names: the background first, then the other labels sorted.

        The background is included even if no segment carries it, because
        windows outside every segment are labelled with it.
        """
        others = sorted({s.label for s in self.segments} - {self.background})
        return [self.background, *others]

    def subset(self, names: list[str] | set[str]) -> "Dataset":
        """The dataset restricted to the named captures (order preserved)."""
        keep = set(names)
        return self.replace(captures=[c for c in self.captures if c.name in keep],
                            segments=[s for s in self.segments if s.capture in keep])

    def replace(self, **changes) -> "Dataset":
        """A copy with some attributes changed (captures and segments are shared, not copied)."""
        from dataclasses import replace

        changes.setdefault("notes", list(self.notes))
        changes.setdefault("sensors", dict(self.sensors or {}))
        return replace(self, **changes)

    def split(self, test_glob: str) -> tuple["Dataset", "Dataset"]:
        """Split into (train, test) by matching capture names against a glob.

        Args:
            test_glob: ``fnmatch`` pattern (e.g. ``acc_gyr_experiment_all_*``);
                captures whose name matches go to the test set.

        Raises:
            DataError: if the pattern matches no capture or every capture.
        """
        from automl.data._split import held_out_names

        test = set(held_out_names(self, test_glob))
        return self.subset([n for n in self.capture_names() if n not in test]), self.subset(test)
