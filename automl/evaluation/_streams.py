"""Validation streams that look like deployment.

A device sees one continuous stream in which events of different classes
follow each other. Training data often does not look like that: a session per
class ("twenty jabs, then twenty hooks"), where a decision that lags or
repeats is never caught because the next event is of the same class. The
validation part of each fold is therefore scored on streams:

* A capture is used **as it is** when its labelled events are of two or more
  classes (a mixed recording: the best evidence there is) or when it has no
  event at all (pure background: false activations).
* The other captures (events of one class only) are **assembled** into one
  stream per fold: each is cut into *chunks*, one cut in the middle of every
  background gap between two consecutive events (``floor((end_i + start_{i+1}) / 2)``;
  events that touch or overlap are never separated), so a chunk is one or more
  whole events with the real background around them, and every sample of the
  capture is in exactly one chunk. The chunks of all such captures of the fold
  are put in a random order (``numpy.random.default_rng(seed).permutation``)
  and joined.
* **Joins.** Two sessions differ in sensor orientation, so a plain
  concatenation would put a step into the signal that no device sees. At each
  join up to ``crossfade // 2`` background samples at the end of one chunk and
  up to ``crossfade - crossfade // 2`` at the start of the next (never more
  than the background there, so a join never touches an event) are replaced
  by a straight line from the last sample before them to the first sample
  after them. No sample is added or removed: the gap between two events is
  half of each one's real gap, so their timing (what a vote or a refractory
  time reacts to) is the recordings'. ``crossfade`` defaults to a quarter of
  a second of samples (:data:`CROSSFADE_S`): a join then moves no faster than
  a relaxed hand.

If fewer than two classes occur among the single-class captures there is
nothing to mix and they are used as they are.

**Another placement** (:func:`turned`, ``search.validation_rotation``). A new
session is a new strap placement, a new person a new wrist: the sensor sits
turned by some degrees against the training sessions. Where a data set has
one class per session, anything that depends on how the sensor was turned
(the resting posture's gravity direction, an axis's mean) also tells the
class in every fold, so a validation that keeps the placement cannot see a
model relying on it. :func:`turned` gives each validation capture its own
random rotation (one per capture, the same for all its 3-axis sensor groups).
"""

from __future__ import annotations

import numpy as np

from automl.data import Capture, Dataset, Segment

#: Cross-fade length at a join (seconds): a quarter period of a ~1 Hz movement, about a relaxed hand's pace.
CROSSFADE_S = 0.25


def _events(ds: Dataset) -> dict[str, list[Segment]]:
    out: dict[str, list[Segment]] = {c.name: [] for c in ds.captures}
    for s in ds.segments:
        if s.label != ds.background and s.capture in out:
            out[s.capture].append(s)
    return {k: sorted(v, key=lambda s: (s.start, s.end)) for k, v in out.items()}


def _chunks(cap: Capture, events: list[Segment]) -> list[tuple[np.ndarray, list[Segment], int, int]]:
    """(samples, events relative to the chunk, background before the first event, after the last) per chunk."""
    cuts = [0]
    reach = events[0].end
    for prev_end, nxt in zip([e.end for e in events[:-1]], events[1:]):
        reach = max(reach, prev_end)
        if nxt.start > reach:  # a background gap: cut in its middle
            cuts.append((reach + nxt.start) // 2)
    cuts.append(cap.n_samples)
    out = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        inside = [e for e in events if a <= e.start < b]
        if not inside:
            continue
        rel = [Segment("", e.label, e.start - a, e.end - a) for e in inside]
        out.append((cap.data[a:b], rel, rel[0].start, (b - a) - max(e.end for e in rel)))
    return out


def turned(ds: Dataset, max_deg: float, seed: int = 0) -> Dataset:
    """Each capture of ``ds`` turned by its own random rotation of at most ``max_deg`` degrees.

    Per capture (in order), one rotation from ``numpy.random.default_rng(seed)``:
    an axis uniform on the sphere (a normalised 3-D normal draw) and an angle
    uniform in ``[-max_deg, max_deg]`` (``scipy.spatial.transform.Rotation.from_rotvec``),
    applied to the ``(x, y, z)`` columns of every sensor group (``ds.sensors``;
    the groups of one device share its frame) and rounded
    to whole counts, clipped to the int16 range the firmware reads. Other
    channels, segments, names and metadata are unchanged.

    Args:
        ds: captures in ADC counts, ``(n_samples, n_channels) float32`` each.
        max_deg: the largest angle (degrees); ``0`` returns ``ds`` itself.
        seed: seed of the rotations.

    Returns:
        A dataset with the turned captures (``ds`` itself when ``max_deg`` is 0
        or the data declares no sensor group).

    Raises:
        ValueError: if ``max_deg`` is not in [0, 180].
    """
    from scipy.spatial.transform import Rotation

    if not 0.0 <= float(max_deg) <= 180.0:
        raise ValueError(f"rotation {max_deg!r} degrees is not in [0, 180]")
    index = {c: i for i, c in enumerate(ds.channels)}
    groups = [[index[c] for c in members] for members in (ds.sensors or {}).values()]  # (x, y, z) each
    if float(max_deg) == 0.0 or not groups:
        return ds
    rng = np.random.default_rng(seed)
    out = []
    for cap in ds.captures:
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        turn = Rotation.from_rotvec(axis * np.deg2rad(rng.uniform(-max_deg, max_deg))).as_matrix()
        data = cap.data.astype(np.float64)
        for cols in groups:
            data[:, cols] = data[:, cols] @ turn.T
        data = np.clip(np.round(data), -32768, 32767).astype(cap.data.dtype)
        out.append(Capture(cap.name, data, dict(cap.metadata)))
    return ds.replace(captures=out)


def deployment_streams(ds: Dataset, seed: int = 0, name: str = "stream", crossfade: int | None = None) -> Dataset:
    """The captures of ``ds`` as validation streams (see the module docstring).

    Args:
        ds: a validation fold's captures (ADC counts or sensor units) and segments.
        seed: seed of the chunk order.
        name: name of the assembled stream (a capture name; must not clash
            with a capture of ``ds``).
        crossfade: cross-fade length at joins (samples); default
            ``round(CROSSFADE_S * ds.sample_rate_hz)``.

    Returns:
        A dataset with the captures kept as they are and at most one assembled
        capture ``name`` (metadata ``{"assembled_from": "a,b,..."}``), with its
        event segments; background segments are dropped (windows outside every
        event are background anyway).

    Raises:
        ValueError: if ``name`` is the name of a capture of ``ds``.
    """
    if name in ds.capture_names():
        raise ValueError(f"stream name {name!r} is already a capture name")
    fade = int(round(CROSSFADE_S * ds.sample_rate_hz)) if crossfade is None else int(crossfade)
    events = _events(ds)
    single = [c for c in ds.captures if len({e.label for e in events[c.name]}) == 1]
    if len({events[c.name][0].label for c in single}) < 2:
        return ds
    keep = [c for c in ds.captures if c not in single]
    chunks = [ch for c in single for ch in _chunks(c, events[c.name])]
    order = np.random.default_rng(seed).permutation(len(chunks))
    parts: list[np.ndarray] = []
    segments: list[Segment] = []
    length, tail = 0, 0  # samples so far; background after the last event so far
    for i in order:
        data, rel, head, after = chunks[int(i)]
        data = np.array(data, copy=True)
        if parts:
            la, lb = min(fade // 2, tail, len(parts[-1]) - 1), min(fade - fade // 2, head, len(data) - 1)
            if la + lb > 0:
                prev = parts[-1]
                a, b = prev[-la - 1].astype(np.float64), data[lb].astype(np.float64)
                w = ((np.arange(1, la + lb + 1, dtype=np.float64)) / (la + lb + 1))[:, None]
                line = ((1.0 - w) * a + w * b).astype(prev.dtype)
                if la:
                    prev[-la:] = line[:la]
                data[:lb] = line[la:]
        segments += [Segment(name, e.label, e.start + length, e.end + length) for e in rel]
        parts.append(data)
        length += len(data)
        tail = after
    stream = Capture(name, np.ascontiguousarray(np.concatenate(parts)),
                     {"assembled_from": ",".join(c.name for c in single)})
    kept_names = {c.name for c in keep}
    # Dataset.replace keeps everything else of ``ds``: sensor groups, resample rate, notes.
    return ds.replace(captures=[*keep, stream],
                      segments=[s for s in ds.segments if s.capture in kept_names and s.label != ds.background]
                      + segments)
