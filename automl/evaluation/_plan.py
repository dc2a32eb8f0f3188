"""The validation plan of a study: folds, early-stopping splits and validation streams.

Made once per study (every trial is validated on the same folds, so trials
compare fairly and share cached windows) by the search driver, and handed to
every trial.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from automl.data import Capture, Dataset, Segment, capture_groups, grouped_folds
from automl.errors import DataError
from automl.evaluation._cache import dataset_fingerprint
from automl.evaluation._streams import deployment_streams, turned


@dataclass(frozen=True)
class Fold:
    """One cross-validation fold.

    Attributes:
        index: fold number (0-based).
        train: names of the fold's training captures.
        val: names of its validation captures.
        inner_train, inner_val: a grouped split of ``train`` for early
            stopping (``inner_val`` empty when ``train`` cannot be split: then
            training runs all epochs).
        streams: the validation streams made from ``val``
            (:func:`automl.evaluation.deployment_streams`, or ``val`` as it is),
            one set per draw (:func:`fold_streams`).
        streams_key: :func:`dataset_fingerprint` of ``streams``.
    """

    index: int
    train: tuple[str, ...]
    val: tuple[str, ...]
    inner_train: tuple[str, ...]
    inner_val: tuple[str, ...]
    streams: Dataset = field(repr=False)
    streams_key: str = ""


@dataclass(frozen=True)
class TrialData:
    """Everything a trial evaluates on, made once per study.

    Attributes:
        train: training captures (tuning and final fit), ADC counts.
        test: held-out captures, ADC counts (scored once per trial, never used
            for a choice).
        folds: the validation folds.
        group_by: how the folds group captures (``"capture"`` or metadata keys).
        train_key, test_key: :func:`dataset_fingerprint` of ``train`` / ``test``
            (empty: no window/feature cache).
        streams: ``"auto"`` (assemble single-class validation captures into
            deployment streams) or ``"captures"`` (validate on captures as they are).
        has_background: some training sample is background (labelled with the
            background class, or outside every event).
    """

    train: Dataset = field(repr=False)
    test: Dataset = field(repr=False)
    folds: tuple[Fold, ...]
    group_by: tuple[str, ...] = ("capture",)
    train_key: str = ""
    test_key: str = ""
    streams: str = "auto"
    has_background: bool = False


def has_background(ds: Dataset) -> bool:
    """Whether some sample of ``ds`` is background: labelled so, or covered by no event segment."""
    if any(s.label == ds.background for s in ds.segments):
        return True
    by_capture: dict[str, list] = {}
    for s in ds.segments:
        by_capture.setdefault(s.capture, []).append(s)
    for c in ds.captures:
        mask = np.zeros(c.n_samples, bool)
        for s in by_capture.get(c.name, []):
            mask[max(s.start, 0):s.end] = True
        if not mask.all():
            return True
    return False


def _inner_split(ds: Dataset, n_splits: int, seed: int, group_by) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Early-stopping split of a fold's training captures: the first of ``min(n_splits, groups)`` grouped folds."""
    names = ds.capture_names()
    n_groups = len(set(capture_groups(ds, list(group_by)).values()))
    try:
        tr, va = grouped_folds(ds, max(2, min(n_splits, n_groups)), seed=seed, group_by=list(group_by))[0]
    except DataError:  # too few captures or groups to hold any out
        return tuple(names), ()
    return tuple(tr), tuple(va)


#: Seed offset between two draws of a fold's validation streams (more than any fold count).
DRAW_SEED_STEP = 1000


def _suffixed(ds: Dataset, suffix: str) -> Dataset:
    """``ds`` with ``suffix`` appended to every capture name (segments follow), so that draws can be pooled."""
    return ds.replace(captures=[Capture(c.name + suffix, c.data, dict(c.metadata)) for c in ds.captures],
                      segments=[Segment(g.capture + suffix, g.label, g.start, g.end) for g in ds.segments])


def fold_streams(val: Dataset, index: int, seed: int = 0, streams: str = "auto", rotation: float = 0.0,
                 draws: int = 1) -> Dataset:
    """The validation streams of fold ``index``: ``draws`` draws pooled into one dataset.

    Draw ``d`` turns every capture of ``val`` by its own random rotation
    (:func:`automl.evaluation.turned`, seed ``seed + 100 + index + d * DRAW_SEED_STEP``)
    and, with ``streams="auto"``, assembles the single-class captures in a
    random chunk order (:func:`automl.evaluation.deployment_streams`, seed
    ``seed + index + d * DRAW_SEED_STEP``, stream ``fold<index>-stream``).
    Draw 0 keeps its capture names; draw ``d >= 1`` appends ``~draw<d>``.
    Scoring the pooled draws estimates the score over placements and orders
    rather than for one of each; with ``rotation`` 0 and ``streams="captures"``
    the draws are identical copies (the same score, more time).

    Args:
        val: the fold's validation captures (ADC counts).
        index: fold number (0-based).
        seed: study seed.
        streams: ``"auto"`` or ``"captures"`` (see :func:`plan_validation`).
        rotation: the largest rotation (degrees, 0..180).
        draws: number of draws (>= 1).

    Returns:
        The pooled dataset.

    Raises:
        ValueError: if ``rotation`` is not in [0, 180] or ``draws`` < 1.
    """
    if draws < 1:
        raise ValueError(f"draws {draws!r} is below 1")
    parts = []
    for d in range(draws):
        step = d * DRAW_SEED_STEP
        v = turned(val, rotation, seed=seed + 100 + index + step)
        st = deployment_streams(v, seed=seed + index + step, name=f"fold{index}-stream") if streams == "auto" else v
        parts.append(st if d == 0 else _suffixed(st, f"~draw{d}"))
    if len(parts) == 1:
        return parts[0]
    return parts[0].replace(captures=[c for p in parts for c in p.captures],
                            segments=[g for p in parts for g in p.segments])


def plan_validation(train: Dataset, test: Dataset, n_splits: int, seed: int = 0, group_by=("capture",),
                    streams: str = "auto", cache: bool = True, rotation: float = 0.0,
                    draws: int = 1) -> TrialData:
    """Folds, early-stopping splits and validation streams of a study.

    Args:
        train: training captures (ADC counts).
        test: held-out captures (ADC counts).
        n_splits: number of folds (``search.cv_folds``).
        seed: study seed (fold assignment, inner splits, stream chunk order).
        group_by: ``"capture"`` or metadata keys; captures sharing the keys'
            values are never split between training and validation.
        streams: ``"auto"``: validation captures of a single event class are
            assembled into deployment streams (for event objectives: the
            search passes it when the space's objective is ``event_f1``);
            ``"captures"``: scored as they are.
        cache: compute the fingerprints that key the window/feature cache.
        rotation: turn each validation capture by its own random rotation of
            at most this many degrees before scoring (``search.validation_rotation``;
            :func:`automl.evaluation.turned`); 0: as recorded.
        draws: validation stream sets per fold, each its own rotations and
            chunk order, scored pooled (``search.validation_draws``; :func:`fold_streams`).

    Returns:
        The :class:`TrialData`.

    Raises:
        DataError / ConfigError: from :func:`automl.data.grouped_folds` (too few
            captures or groups for the folds, unknown metadata key).
        ValueError: from :func:`fold_streams` (rotation or draws out of range).
    """
    keys = (group_by,) if isinstance(group_by, str) else tuple(group_by)
    folds = []
    for i, (tr, va) in enumerate(grouped_folds(train, n_splits, seed=seed, group_by=list(keys))):
        st = fold_streams(train.subset(va), i, seed, streams, rotation, draws)
        inner_tr, inner_va = _inner_split(train.subset(tr), n_splits, seed, keys)
        folds.append(Fold(i, tuple(tr), tuple(va), inner_tr, inner_va, st,
                          dataset_fingerprint(st) if cache else ""))
    return TrialData(train, test, tuple(folds), keys, dataset_fingerprint(train) if cache else "",
                     dataset_fingerprint(test) if cache else "", streams, has_background(train))
