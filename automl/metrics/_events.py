"""Event-level metrics on continuous recordings: did the detector find each punch?

Window-level metrics count windows; a user counts events. Here the windows a
model calls non-background are turned into *detected events* and matched to the
labelled events (segments of a non-background class).

Rules (per capture):

1. **Detections**: the windows ``[s, s + window_size)`` predicted non-background.
2. **Merging**: the windows are taken in start order (ties: input order); a run
   of consecutive windows with the same predicted class, each starting at or
   before the end of the run so far (overlapping or touching), is one
   *detected event* spanning ``[first start, last end)``. A window of another
   class, a background window, or a gap between them ends the run: the
   classifier said something else in between.
3. **Matching**: a detected event and a labelled event *overlap* if their spans
   share at least one sample. Pairs of the same class that overlap are matched
   greedily: largest overlap (samples) first, ties by earlier labelled event,
   then earlier detected event; each labelled event and each detected event is
   matched at most once.
4. **Counts**: ``tp`` = matched pairs, ``fn`` = unmatched labelled events,
   ``fp`` = unmatched detected events. Precision ``tp/(tp+fp)``, recall
   ``tp/(tp+fn)``, F1 their harmonic mean (0 when undefined).
5. **False triggers**: detected events that overlap no labelled event of any
   class (a wrong-class detection on a punch is an ``fp`` but not a false
   trigger), per minute of background, i.e. of the recording not covered by
   labelled events: ``(n_samples - samples in the union of the labelled
   events) / sample_rate_hz / 60``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from automl.data import Segment
from automl.errors import ConfigError


def _merge(starts: np.ndarray, pred: np.ndarray, window_size: int) -> list[tuple[int, int, int]]:
    """(class, start, end) of the detected events of one capture (rule 2)."""
    order = np.argsort(starts, kind="stable")
    events: list[list[int]] = []
    run = None  # [cls, start, end] of the open run
    for i in order:
        s, c = int(starts[i]), int(pred[i])
        if c == 0:
            run = None
            continue
        if run is not None and run[0] == c and s <= run[2]:
            run[2] = max(run[2], s + window_size)
        else:
            run = [c, s, s + window_size]
            events.append(run)
    return [tuple(e) for e in events]


def _safe(num: float, den: float) -> float:
    return float(num / den) if den > 0 else 0.0


def event_metrics(
    starts: Mapping[str, np.ndarray],
    predicted: Mapping[str, np.ndarray],
    window_size: int,
    segments: Iterable[Segment],
    classes: Sequence[str],
    sample_rate_hz: float,
    n_samples: Mapping[str, int],
) -> dict:
    """Event precision, recall, F1 and false triggers per background minute.

    See the module docstring for the merging and matching rules. Works for any
    windows (threshold or sliding).

    Args:
        starts: capture name -> ``(n_windows,) int64`` window starts (samples).
        predicted: capture name -> ``(n_windows,) int64`` predicted class index
            into ``classes`` per window (0 = background).
        window_size: window length (samples).
        segments: labelled segments; those of captures not in ``n_samples``,
            of the background class or of a label not in ``classes`` are ignored.
        classes: class names, background first.
        sample_rate_hz: sample rate (Hz).
        n_samples: capture name -> capture length (samples); these are the
            captures evaluated (a capture without windows has only misses).

    Returns:
        ``{"precision", "recall", "f1", "tp", "fp", "fn", "n_events",
        "n_detections", "false_triggers", "background_minutes",
        "false_triggers_per_minute", "per_class": {name: {"recall", "tp",
        "support", "detections"}}}`` for the non-background classes; fractions in
        [0, 1], ``false_triggers_per_minute`` 0 when there is no background.

    Raises:
        ConfigError: if ``starts`` / ``predicted`` disagree in captures or
            lengths, name a capture not in ``n_samples``, or a prediction is not
            a class index.

    Example:
        >>> from automl.data import Segment
        >>> m = event_metrics({"c": [0, 50]}, {"c": [1, 1]}, 100, [Segment("c", "jab", 60, 120)],
        ...                   ["NoActivity", "jab"], 100.0, {"c": 6000})
        >>> m["tp"], m["fp"], m["fn"]
        (1, 0, 0)
    """
    classes = list(classes)
    k = len(classes)
    w = int(window_size)
    if w < 1:
        raise ConfigError(f"The 'window_size' parameter of event_metrics must be an int >= 1 (samples). Got {window_size!r} instead.")
    if set(starts) != set(predicted):
        raise ConfigError(
            f"starts and predicted must name the same captures; only in starts: {sorted(set(starts) - set(predicted))[:3]}, "
            f"only in predicted: {sorted(set(predicted) - set(starts))[:3]}"
        )
    unknown = sorted(set(starts) - set(n_samples))
    if unknown:
        raise ConfigError(f"{len(unknown)} capture(s) of starts have no length in n_samples: {unknown[:3]}")
    index = {c: i for i, c in enumerate(classes)}
    truth: dict[str, list[tuple[int, int, int]]] = {name: [] for name in n_samples}
    for s in segments:
        if s.capture in truth and s.label in index and index[s.label] != 0:
            truth[s.capture].append((index[s.label], int(s.start), int(s.end)))

    tp = fp = fn = false_trig = 0
    n_det = 0
    tp_c = np.zeros(k, np.int64)
    sup_c = np.zeros(k, np.int64)
    det_c = np.zeros(k, np.int64)
    bg_samples = 0
    for name, length in n_samples.items():
        gts = sorted(truth[name], key=lambda e: (e[1], e[2], e[0]))
        covered = np.zeros(int(length), bool)
        for _, a, b in gts:
            covered[max(a, 0):b] = True
        bg_samples += int(length) - int(covered.sum())
        for c, _, _ in gts:
            sup_c[c] += 1
        st = np.asarray(starts.get(name, np.zeros(0)), np.int64).reshape(-1)
        pr = np.asarray(predicted.get(name, np.zeros(0)), np.int64).reshape(-1)
        if st.shape != pr.shape:
            raise ConfigError(
                f"Capture {name!r}: starts has {st.shape[0]} windows but predicted has {pr.shape[0]}; give one prediction per window"
            )
        if pr.size and (pr.min() < 0 or pr.max() >= k):
            raise ConfigError(f"Capture {name!r}: predicted class indices must be in [0, {k}). Got {sorted(set(pr.tolist()))[:5]}")
        dets = _merge(st, pr, w)
        n_det += len(dets)
        for c, _, _ in dets:
            det_c[c] += 1
        # Candidate pairs (overlap, gt index, det index) of the same class.
        pairs = []
        for gi, (gc, ga, gb) in enumerate(gts):
            for di, (dc, da, db) in enumerate(dets):
                ov = min(gb, db) - max(ga, da)
                if ov > 0 and gc == dc:
                    pairs.append((-ov, gi, di))
        pairs.sort()
        g_used, d_used = set(), set()
        for _, gi, di in pairs:
            if gi in g_used or di in d_used:
                continue
            g_used.add(gi)
            d_used.add(di)
            tp_c[gts[gi][0]] += 1
        tp += len(g_used)
        fn += len(gts) - len(g_used)
        fp += len(dets) - len(d_used)
        for dc, da, db in dets:
            if not any(min(gb, db) - max(ga, da) > 0 for _, ga, gb in gts):
                false_trig += 1

    precision = _safe(tp, tp + fp)
    recall = _safe(tp, tp + fn)
    f1 = _safe(2 * precision * recall, precision + recall)
    bg_minutes = bg_samples / float(sample_rate_hz) / 60.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": int(tp),
        "fp": int(fp),
        "fn": int(fn),
        "n_events": int(tp + fn),
        "n_detections": int(n_det),
        "false_triggers": int(false_trig),
        "background_minutes": float(bg_minutes),
        "false_triggers_per_minute": _safe(false_trig, bg_minutes),
        "per_class": {
            classes[c]: {"recall": _safe(tp_c[c], sup_c[c]), "tp": int(tp_c[c]), "support": int(sup_c[c]),
                         "detections": int(det_c[c])}
            for c in range(1, k)
        },
    }


def window_event_metrics(windows, y_pred: np.ndarray, dataset) -> dict:
    """:func:`event_metrics` for a ``Windows`` object cut from ``dataset``.

    Args:
        windows: ``automl.segmentation.Windows`` (starts, captures, classes).
        y_pred: ``(n_windows,) int64`` predicted class per window.
        dataset: the ``automl.data.Dataset`` the windows were cut from; every
            capture in ``windows.capture_names`` is evaluated.

    Returns:
        As :func:`event_metrics`.

    Raises:
        ConfigError: if ``y_pred`` has the wrong length or a capture is missing.
    """
    y_pred = np.asarray(y_pred, np.int64).reshape(-1)
    if y_pred.shape[0] != len(windows):
        raise ConfigError(f"y_pred has {y_pred.shape[0]} predictions for {len(windows)} windows; give one per window")
    lengths = {c.name: c.n_samples for c in dataset.captures}
    missing = [n for n in windows.capture_names if n not in lengths]
    if missing:
        raise ConfigError(f"The windows come from {len(missing)} capture(s) not in dataset {dataset.name!r}: {missing[:3]}")
    starts = {n: windows.start[windows.capture == i] for i, n in enumerate(windows.capture_names)}
    preds = {n: y_pred[windows.capture == i] for i, n in enumerate(windows.capture_names)}
    return event_metrics(
        starts, preds, int(windows.X.shape[1]), dataset.segments, windows.classes,
        dataset.sample_rate_hz, {n: lengths[n] for n in windows.capture_names},
    )
