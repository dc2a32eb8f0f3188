"""Cross-validation folds grouped by capture."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np

from automl.data._dataset import Dataset
from automl.errors import ConfigError, DataError


def capture_classes(dataset: Dataset) -> list[str]:
    """Each capture's majority non-background label, in capture order.

    The label covering the most samples among the capture's non-background
    segments; ties go to the alphabetically first label. A capture without
    such segments gets the background label.

    Returns:
        One label per capture, in ``dataset.captures`` order.
    """
    samples: dict[str, Counter[str]] = {c.name: Counter() for c in dataset.captures}
    for s in dataset.segments:
        if s.label != dataset.background and s.capture in samples:
            samples[s.capture][s.label] += s.length
    out = []
    for c in dataset.captures:
        counts = samples[c.name]
        out.append(min(counts, key=lambda lab: (-counts[lab], lab)) if counts else dataset.background)
    return out


def grouped_folds(dataset: Dataset, n_splits: int, seed: int = 0) -> list[tuple[list[str], list[str]]]:
    """K-fold split of the captures; a capture is never in train and validation.

    Uses scikit-learn ``StratifiedGroupKFold(n_splits, shuffle=True,
    random_state=seed)`` with each capture as its own group and its majority
    non-background label (:func:`capture_classes`) as the class, so every
    fold's validation set gets captures of as many classes as possible. A
    class with fewer captures than ``n_splits`` cannot be in every fold
    (scikit-learn's "least populated class" warning is silenced; that is
    expected). When no class has ``n_splits`` captures stratification is
    impossible and ``GroupKFold(n_splits, shuffle=True, random_state=seed)``
    is used instead.

    Args:
        dataset: the captures to split (usually the training part).
        n_splits: number of folds, ``2 <= n_splits <= number of captures``.
        seed: random seed of the shuffle; the same seed gives the same folds.

    Returns:
        ``n_splits`` pairs ``(train capture names, validation capture names)``,
        names in dataset order; the validation sets partition the captures.

    Raises:
        ConfigError: ``n_splits < 2``.
        DataError: fewer captures than ``n_splits``.
    """
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise ConfigError(f"The 'n_splits' parameter of grouped_folds must be an int >= 2. Got {n_splits!r} instead.")
    names = dataset.capture_names()
    if len(names) < n_splits:
        raise DataError(
            f"{dataset.name!r} has {len(names)} captures, fewer than the {n_splits} folds asked for; "
            "every fold needs at least one capture to validate on: lower the number of folds or add captures"
        )
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold  # ~2 s import; only when splitting

    y = np.asarray(capture_classes(dataset))
    groups = np.arange(len(names))
    X = np.zeros((len(names), 1))
    if max(Counter(y.tolist()).values()) >= n_splits:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    else:
        splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    folds = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class in y", category=UserWarning)
        for train, val in splitter.split(X, y, groups=groups):
            folds.append(([names[i] for i in sorted(train)], [names[i] for i in sorted(val)]))
    return folds
