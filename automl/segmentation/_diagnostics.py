"""How well a segmenter's windows catch the labelled events (before any model)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from automl.data import Dataset
from automl.errors import ConfigError
from automl.segmentation._sliding import Windows


@dataclass(frozen=True)
class TriggerDiagnostics:
    """Trigger quality of a set of windows on a set of captures.

    Attributes:
        n_events: labelled events (segments of a non-background class in
            ``classes``) in the captures.
        missed_events: events no window catches (see :func:`trigger_diagnostics`).
        false_triggers: windows labelled background.
        n_windows: windows in total.
        minutes: recording length of the captures (minutes).
        missed_per_minute: ``missed_events / minutes`` (0 if no recording).
        false_triggers_per_minute: ``false_triggers / minutes`` (0 if no recording).
    """

    n_events: int
    missed_events: int
    false_triggers: int
    n_windows: int
    minutes: float
    missed_per_minute: float
    false_triggers_per_minute: float


def trigger_diagnostics(dataset: Dataset, windows: Windows) -> TriggerDiagnostics:
    """Missed events and false triggers of windows cut from ``dataset``.

    A labelled event ``e`` (a segment whose label is a non-background class of
    ``windows.classes``) is *caught* if some window ``[s, s + W)`` of its capture
    is labelled with ``e``'s class and overlaps ``e`` enough by the labelling
    rule of :func:`label_windows`: ``overlap > 0`` and
    ``2 * overlap >= min(W, len(e))``. Otherwise it is *missed*. A *false
    trigger* is a window labelled background (index 0).

    Works for any segmenter (threshold or sliding windows).

    Args:
        dataset: the captures the windows were cut from (the capture names of
            ``windows`` must be among its captures).
        windows: windows from ``ThresholdWindow`` / ``SlidingWindow.transform``.

    Returns:
        The counts and the per-minute rates; minutes are
        ``sum(n_samples) / dataset.sample_rate_hz / 60`` over
        ``windows.capture_names``.

    Raises:
        ConfigError: if a capture of ``windows`` is not in ``dataset``.
    """
    caps = {c.name: c for c in dataset.captures}
    missing = [n for n in windows.capture_names if n not in caps]
    if missing:
        raise ConfigError(
            f"The windows come from {len(missing)} capture(s) not in dataset {dataset.name!r}: {missing[:3]}; "
            "pass the dataset the windows were cut from."
        )
    w = int(windows.X.shape[1])
    index = {c: i for i, c in enumerate(windows.classes)}
    names = set(windows.capture_names)
    events = [s for s in dataset.segments
              if s.capture in names and s.label in index and s.label != windows.classes[0]]
    missed = 0
    for ci, name in enumerate(windows.capture_names):
        evs = [e for e in events if e.capture == name]
        if not evs:
            continue
        sel = windows.capture == ci
        st, y = windows.start[sel], windows.y[sel]
        for e in evs:
            mine = y == index[e.label]
            ov = np.minimum(st[mine] + w, e.end) - np.maximum(st[mine], e.start)
            if not np.any((ov > 0) & (2 * ov >= min(w, e.length))):
                missed += 1
    false = int(np.count_nonzero(windows.y == 0))
    samples = sum(caps[n].n_samples for n in windows.capture_names)
    minutes = samples / float(dataset.sample_rate_hz) / 60.0
    rate = (lambda k: k / minutes) if minutes > 0 else (lambda k: 0.0)
    return TriggerDiagnostics(
        n_events=len(events), missed_events=missed, false_triggers=false, n_windows=len(windows),
        minutes=minutes, missed_per_minute=rate(missed), false_triggers_per_minute=rate(false),
    )
