"""Device event metrics: score exactly what the firmware emits on a continuous recording.

A trigger device (a boxing glove) is judged by its outputs: did every punch get
one output of the right class, and how often does it fire when nothing
happened? The metric takes the outputs after post-processing
(:mod:`automl.postprocessing`), one per classified window, and counts them as
the user of the device would.

Rules (per capture; a capture is one continuous stream):

1. **Detections.** Every emitted output of an *event class* (any model class
   but the background, index 0) is one detection. Background outputs,
   ``unknown`` (-1) and suppressed windows (-2, nothing emitted) are not.
   A detection *covers* the samples of the window it was emitted for,
   ``[start, start + window_size)`` (the firmware emits it when the window's
   last sample arrives).
2. **Matching.** A detection and a labelled event (a segment of an event
   class) *may match* when they have the same class and the detection's
   window shares at least one sample with the event. Matching is one to one:
   the largest number of matched pairs, and among those the largest total
   overlap in samples (an assignment problem, solved with
   ``scipy.optimize.linear_sum_assignment``). So a duplicate output for one
   punch is a false positive, and a correct double jab (two jabs, two jab
   outputs) is two true positives.
3. **Counts.** ``tp`` = matched pairs, ``fn`` = labelled events left
   unmatched, ``fp`` = detections left unmatched (duplicates, wrong classes,
   outputs on background). Precision ``tp / (tp + fp)``, recall
   ``tp / (tp + fn)``, F1 their harmonic mean (0 when undefined).
4. **False activations.** Detections whose window overlaps no labelled event
   of any class, per hour of *background*: the samples of the capture
   covered by no labelled event, ``/ sample_rate_hz / 3600``. (A wrong-class
   output on a punch is a false positive, not a false activation.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from automl.data import Segment
from automl.errors import ConfigError


def _safe(num: float, den: float) -> float:
    return float(num / den) if den > 0 else 0.0


def _match(events: np.ndarray, dets: np.ndarray, window_size: int) -> list[tuple[int, int]]:
    """Matched pairs ``(event row, detection position)`` between events ``(m, 2) [start, end)`` and detection
    starts ``(n,)`` of one class (rule 2)."""
    if events.shape[0] == 0 or dets.shape[0] == 0:
        return []
    from scipy.optimize import linear_sum_assignment

    ov = (np.minimum(events[:, 1:2], dets[None, :] + window_size)
          - np.maximum(events[:, 0:1], dets[None, :])).clip(min=0)  # (m, n) samples
    rows, cols = np.flatnonzero(ov.any(axis=1)), np.flatnonzero(ov.any(axis=0))
    if rows.size == 0:
        return []
    ov = ov[np.ix_(rows, cols)]
    # A pair is worth more than any sum of overlaps: maximise the count first, then the overlap.
    big = float(window_size) * min(ov.shape) + 1.0
    weight = np.where(ov > 0, big + ov, 0.0)
    r, c = linear_sum_assignment(weight, maximize=True)
    return [(int(rows[i]), int(cols[j])) for i, j in zip(r, c) if ov[i, j] > 0]


def event_matches(starts: np.ndarray, outputs: np.ndarray, window_size: int, segments: Sequence[Segment],
                  classes: Sequence[str]) -> dict[int, int]:
    """Which labelled event each emitted output of one capture is matched to, by the rule of this module.

    The pairs :func:`device_event_metrics` counts as true positives, for a
    per-output table (``automl replay``).

    Args:
        starts: ``(n_windows,) int64`` window starts (samples) of one capture.
        outputs: ``(n_windows,) int64`` output per window (class index, -1 unknown, -2 nothing emitted).
        window_size: window length (samples).
        segments: the capture's labelled segments (any order; background and
            labels not in ``classes`` are never matched).
        classes: model class names, background first.

    Returns:
        ``{window index: index into segments}`` of the matched outputs.
    """
    st, out = np.asarray(starts, np.int64).reshape(-1), np.asarray(outputs, np.int64).reshape(-1)
    index = {c: i for i, c in enumerate(classes)}
    matched: dict[int, int] = {}
    for c in range(1, len(classes)):
        ev = [k for k, s in enumerate(segments) if index.get(s.label) == c]
        det = np.flatnonzero(out == c)
        bounds = np.array([[segments[k].start, segments[k].end] for k in ev], np.int64).reshape(-1, 2)
        for i, j in _match(bounds, st[det], int(window_size)):
            matched[int(det[j])] = ev[i]
    return matched


def device_event_metrics(
    starts: Mapping[str, np.ndarray],
    outputs: Mapping[str, np.ndarray],
    window_size: int,
    segments: Iterable[Segment],
    classes: Sequence[str],
    sample_rate_hz: float,
    n_samples: Mapping[str, int],
) -> dict:
    """Event precision, recall, F1 and false activations per hour of background.

    See the module docstring for the rules.

    Args:
        starts: capture name -> ``(n_windows,) int64`` window starts (samples).
        outputs: capture name -> ``(n_windows,) int64`` output per window after
            post-processing: a class index into ``classes``, -1 (unknown) or -2
            (nothing emitted).
        window_size: window length (samples).
        segments: labelled segments; those of captures not in ``n_samples``,
            of the background class (``classes[0]``) or of a label not in
            ``classes`` are ignored.
        classes: model class names, background first.
        sample_rate_hz: sample rate (Hz).
        n_samples: capture name -> capture length (samples); these are the
            captures scored (a capture without windows has only misses).

    Returns:
        ``{"precision", "recall", "f1", "tp", "fp", "fn", "n_events",
        "n_detections", "false_activations", "background_hours",
        "false_activations_per_hour", "per_class": {name: {"recall",
        "precision", "tp", "support", "detections"}}}`` for the event classes;
        fractions in [0, 1]; ``false_activations_per_hour`` 0 when there is no
        background.

    Raises:
        ConfigError: if ``starts`` / ``outputs`` disagree in captures or
            lengths, name a capture not in ``n_samples``, or an output is not a
            class index, -1 or -2.

    Example:
        >>> from automl.data import Segment
        >>> m = device_event_metrics({"c": [0, 50, 300]}, {"c": [1, 1, 1]}, 100,
        ...                          [Segment("c", "jab", 60, 120)], ["NoActivity", "jab"], 100.0, {"c": 6000})
        >>> m["tp"], m["fp"], m["fn"], m["false_activations"]
        (1, 2, 0, 1)
    """
    classes = list(classes)
    k = len(classes)
    w = int(window_size)
    if w < 1:
        raise ConfigError(f"The 'window_size' parameter of device_event_metrics must be an int >= 1 (samples). "
                          f"Got {window_size!r} instead.")
    if set(starts) != set(outputs):
        raise ConfigError(
            f"starts and outputs must name the same captures; only in starts: {sorted(set(starts) - set(outputs))[:3]}, "
            f"only in outputs: {sorted(set(outputs) - set(starts))[:3]}")
    unknown = sorted(set(starts) - set(n_samples))
    if unknown:
        raise ConfigError(f"{len(unknown)} capture(s) of starts have no length in n_samples: {unknown[:3]}")
    index = {c: i for i, c in enumerate(classes)}
    truth: dict[str, list[tuple[int, int, int]]] = {name: [] for name in n_samples}
    for s in segments:
        if s.capture in truth and s.label in index and index[s.label] != 0:
            truth[s.capture].append((index[s.label], int(s.start), int(s.end)))

    tp_c, sup_c, det_c = (np.zeros(k, np.int64) for _ in range(3))
    false_act = 0
    bg_samples = 0
    for name, length in n_samples.items():
        gts = np.asarray(truth[name], np.int64).reshape(-1, 3)
        covered = np.zeros(int(length), bool)
        for _, a, b in gts:
            covered[max(a, 0):b] = True
        bg_samples += int(length) - int(covered.sum())
        st = np.asarray(starts.get(name, np.zeros(0)), np.int64).reshape(-1)
        out = np.asarray(outputs.get(name, np.zeros(0)), np.int64).reshape(-1)
        if st.shape != out.shape:
            raise ConfigError(f"Capture {name!r}: starts has {st.shape[0]} windows but outputs has {out.shape[0]}; "
                              "give one output per window")
        if out.size and (out.min() < -2 or out.max() >= k):
            raise ConfigError(f"Capture {name!r}: outputs must be class indices in [0, {k}), -1 (unknown) or -2 "
                              f"(nothing emitted). Got {sorted(set(out.tolist()))[:5]}")
        det = out >= 1
        d_st, d_cls = st[det], out[det]
        np.add.at(det_c, d_cls, 1)
        np.add.at(sup_c, gts[:, 0], 1)
        for c in np.unique(np.concatenate([d_cls, gts[:, 0]])):
            tp_c[c] += len(_match(gts[gts[:, 0] == c, 1:], d_st[d_cls == c], w))
        if d_st.size:
            # False activation: the window [s, s + w) holds no labelled sample at all.
            csum = np.concatenate([[0], np.cumsum(covered)])
            lo, hi = np.clip(d_st, 0, length), np.clip(d_st + w, 0, length)
            false_act += int(np.count_nonzero(csum[hi] - csum[lo] == 0))

    tp, n_events, n_det = int(tp_c.sum()), int(sup_c.sum()), int(det_c.sum())
    fp, fn = n_det - tp, n_events - tp
    precision, recall = _safe(tp, tp + fp), _safe(tp, tp + fn)
    f1 = _safe(2 * precision * recall, precision + recall)
    bg_hours = bg_samples / float(sample_rate_hz) / 3600.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "fp": int(fp),
        "fn": int(fn),
        "n_events": n_events,
        "n_detections": n_det,
        "false_activations": int(false_act),
        "background_hours": float(bg_hours),
        "false_activations_per_hour": _safe(false_act, bg_hours),
        "per_class": {
            classes[c]: {"recall": _safe(tp_c[c], sup_c[c]), "precision": _safe(tp_c[c], det_c[c]),
                         "tp": int(tp_c[c]), "support": int(sup_c[c]), "detections": int(det_c[c])}
            for c in range(1, k)
        },
    }


def _window_streams(windows, outputs: np.ndarray, dataset) -> tuple[dict, dict, dict]:
    """Per capture of ``windows``: window starts, outputs and capture length, checked against ``dataset``."""
    outputs = np.asarray(outputs, np.int64).reshape(-1)
    if outputs.shape[0] != len(windows):
        raise ConfigError(f"outputs has {outputs.shape[0]} entries for {len(windows)} windows; give one per window")
    lengths = {c.name: c.n_samples for c in dataset.captures}
    missing = [n for n in windows.capture_names if n not in lengths]
    if missing:
        raise ConfigError(f"The windows come from {len(missing)} capture(s) not in dataset {dataset.name!r}: {missing[:3]}")
    starts = {n: windows.start[windows.capture == i] for i, n in enumerate(windows.capture_names)}
    outs = {n: outputs[windows.capture == i] for i, n in enumerate(windows.capture_names)}
    return starts, outs, {n: lengths[n] for n in windows.capture_names}


def window_device_metrics(windows, outputs: np.ndarray, dataset) -> dict:
    """:func:`device_event_metrics` for a ``Windows`` object cut from ``dataset``.

    Args:
        windows: ``automl.segmentation.Windows`` (starts, captures, classes).
        outputs: ``(n_windows,) int64`` output per window after post-processing
            (class index, -1 unknown, -2 nothing emitted).
        dataset: the ``automl.data.Dataset`` the windows were cut from; every
            capture in ``windows.capture_names`` is scored.

    Returns:
        As :func:`device_event_metrics`: the counts pooled over the captures.

    Raises:
        ConfigError: if ``outputs`` has the wrong length or a capture is missing.
    """
    starts, outs, lengths = _window_streams(windows, outputs, dataset)
    return device_event_metrics(starts, outs, int(windows.X.shape[1]), dataset.segments, windows.classes,
                                dataset.sample_rate_hz, lengths)


def window_device_metrics_by_capture(windows, outputs: np.ndarray, dataset) -> dict[str, dict]:
    """:func:`device_event_metrics` of each capture on its own, for a ``Windows`` object cut from ``dataset``.

    Each capture is scored alone (its windows, outputs, labelled events and
    length only). The rules work per capture, so the counts (``tp``, ``fp``,
    ``fn``, ``n_events``, ``n_detections``, ``false_activations``, per-class
    ``tp`` / ``support`` / ``detections``) and ``background_hours`` of the
    captures add up to those of :func:`window_device_metrics` on the same
    arguments; the fractions and rates are each capture's own.

    Args:
        windows: ``automl.segmentation.Windows`` (starts, captures, classes).
        outputs: ``(n_windows,) int64`` output per window after post-processing
            (class index, -1 unknown, -2 nothing emitted).
        dataset: the ``automl.data.Dataset`` the windows were cut from; every
            capture in ``windows.capture_names`` is scored (one without
            windows has only misses).

    Returns:
        ``{capture name: metrics}`` in ``windows.capture_names`` order, each
        metrics dict as :func:`device_event_metrics` returns it.

    Raises:
        ConfigError: if ``outputs`` has the wrong length or a capture is missing.
    """
    starts, outs, lengths = _window_streams(windows, outputs, dataset)
    w, classes, rate = int(windows.X.shape[1]), windows.classes, dataset.sample_rate_hz
    return {n: device_event_metrics({n: starts[n]}, {n: outs[n]}, w, dataset.segments, classes, rate,
                                    {n: lengths[n]})
            for n in windows.capture_names}
