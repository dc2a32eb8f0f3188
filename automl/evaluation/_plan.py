"""The validation plan of a study: folds, early-stopping splits and validation streams.

Made once per study (every trial is validated on the same folds, so trials
compare fairly and share cached windows) by the search driver, and handed to
every trial.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from automl.data import Dataset, capture_groups, grouped_folds
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
            (:func:`automl.evaluation.deployment_streams`, or ``val`` as it is).
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


def plan_validation(train: Dataset, test: Dataset, n_splits: int, seed: int = 0, group_by=("capture",),
                    streams: str = "auto", cache: bool = True, rotation: float = 0.0) -> TrialData:
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

    Returns:
        The :class:`TrialData`.

    Raises:
        DataError / ConfigError: from :func:`automl.data.grouped_folds` (too few
            captures or groups for the folds, unknown metadata key).
    """
    keys = (group_by,) if isinstance(group_by, str) else tuple(group_by)
    folds = []
    for i, (tr, va) in enumerate(grouped_folds(train, n_splits, seed=seed, group_by=list(keys))):
        val = turned(train.subset(va), rotation, seed=seed + 100 + i)
        st = deployment_streams(val, seed=seed + i, name=f"fold{i}-stream") if streams == "auto" else val
        inner_tr, inner_va = _inner_split(train.subset(tr), n_splits, seed, keys)
        folds.append(Fold(i, tuple(tr), tuple(va), inner_tr, inner_va, st,
                          dataset_fingerprint(st) if cache else ""))
    return TrialData(train, test, tuple(folds), keys, dataset_fingerprint(train) if cache else "",
                     dataset_fingerprint(test) if cache else "", streams, has_background(train))
