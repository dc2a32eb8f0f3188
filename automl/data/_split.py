"""Honest splits: held-out captures by name or metadata, cross-validation folds that never split a group."""

from __future__ import annotations

import fnmatch
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from automl.data._dataset import Dataset
from automl.errors import ConfigError, DataError

#: ``group_by`` value that makes every capture its own group.
BY_CAPTURE = "capture"


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


def _group_keys(group_by: str | Sequence[str]) -> list[str]:
    keys = [group_by] if isinstance(group_by, str) else list(group_by)
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise ConfigError(f"The 'group_by' parameter must be 'capture', a metadata key or a list of metadata keys. "
                          f"Got {group_by!r} instead.")
    return keys


def capture_groups(dataset: Dataset, group_by: str | Sequence[str] = BY_CAPTURE,
                   missing: str | None = None) -> dict[str, tuple[str, ...]]:
    """The group of every capture: its name, or the tuple of its values of the ``group_by`` metadata keys.

    Args:
        dataset: the captures.
        group_by: ``"capture"``, a metadata key (``"subject"``) or a list
            of keys (``["subject", "session"]``).
        missing: the value of a key a capture lacks (e.g. ``"?"`` for the
            held-out captures, whose groups are only reported); None: an error.

    Returns:
        ``{capture name: group}`` in capture order.

    Raises:
        ConfigError: ``group_by`` is not a key or list of keys.
        DataError: a capture lacks a key, naming the capture, the key and the
            keys it has.
    """
    keys = _group_keys(group_by)
    if keys == [BY_CAPTURE]:
        return {c.name: (c.name,) for c in dataset.captures}
    out = {}
    for c in dataset.captures:
        lacking = [k for k in keys if k not in c.metadata]
        if lacking and missing is None:
            raise DataError(
                f"capture {c.name!r} ({c.metadata.get('file', c.name)}) has no metadata {lacking[0]!r} to group by "
                f"(search.group_by {group_by!r}); its metadata keys are {sorted(c.metadata)}: add the value (e.g. "
                "with data.name_metadata from the file name) or group by another key"
            )
        out[c.name] = tuple(c.metadata.get(k, missing) for k in keys)
    return out


def grouped_folds(dataset: Dataset, n_splits: int, seed: int = 0,
                  group_by: str | Sequence[str] = BY_CAPTURE) -> list[tuple[list[str], list[str]]]:
    """K-fold split of the captures that never puts one group in training and validation.

    Groups are the captures (``group_by="capture"``) or the values of
    metadata keys (:func:`capture_groups`). Folds are stratified by class
    within groups: scikit-learn ``StratifiedGroupKFold(n_splits,
    shuffle=True, random_state=seed)`` over the labelled segments (samples =
    non-background segments, y = their labels, groups = their captures'
    groups; a group without such a segment takes part as one background
    sample), so every fold's validation part gets segments of every class
    where the groups allow it. A class in fewer groups than folds cannot be
    in every fold (scikit-learn's "least populated class" warning is
    silenced). If stratification is impossible (every class has fewer
    segments than folds) or leaves a fold without validation groups,
    ``GroupKFold(n_splits, shuffle=True, random_state=seed)`` is used.

    Args:
        dataset: the captures to split (usually the training part).
        n_splits: number of folds, ``2 <= n_splits <=`` number of groups.
        seed: random seed of the shuffle; the same seed gives the same folds.
        group_by: ``"capture"``, a metadata key or a list of them.

    Returns:
        ``n_splits`` pairs ``(train capture names, validation capture names)``,
        names in dataset order; the validation sets partition the captures.

    Raises:
        ConfigError: ``n_splits < 2`` or a bad ``group_by``.
        DataError: fewer groups than ``n_splits``, or a capture without a
            ``group_by`` key.
    """
    if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise ConfigError(f"The 'n_splits' parameter of grouped_folds must be an int >= 2. Got {n_splits!r} instead.")
    groups_of = capture_groups(dataset, group_by)
    names = dataset.capture_names()
    ids = {g: i for i, g in enumerate(dict.fromkeys(groups_of.values()))}
    if len(ids) < n_splits:
        if _group_keys(group_by) == [BY_CAPTURE]:
            raise DataError(
                f"{dataset.name!r} has {len(names)} captures, fewer than the {n_splits} folds asked for; every fold "
                "needs at least one capture to validate on: lower the number of folds (search.cv_folds) or add "
                "captures"
            )
        raise DataError(
            f"{dataset.name!r} has {len(ids)} groups by {group_by!r} ({', '.join('/'.join(g) for g in ids)}), fewer "
            f"than the {n_splits} folds asked for; every fold needs a group to validate on: lower search.cv_folds "
            f"to {max(len(ids), 2)} or less, or group by a finer key"
        )
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold  # ~2 s import; only when splitting

    y, g = [], []
    for s in dataset.segments:
        if s.label != dataset.background and s.capture in groups_of:
            y.append(s.label)
            g.append(ids[groups_of[s.capture]])
    for gid in sorted(set(ids.values()) - set(g)):
        y.append(dataset.background)
        g.append(gid)
    y_arr, g_arr = np.asarray(y), np.asarray(g)
    X = np.zeros((len(y), 1))
    folds = _split(StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed), X, y_arr, g_arr)
    if folds is None:
        folds = _split(GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed), X, y_arr, g_arr)
    out = []
    for val_groups in folds:
        val = {n for n in names if ids[groups_of[n]] in val_groups}
        out.append(([n for n in names if n not in val], [n for n in names if n in val]))
    return out


def _split(splitter, X, y, groups) -> list[set[int]] | None:
    """Validation group ids of each fold, or None if a fold has none."""
    folds = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class in y", category=UserWarning)
        try:
            for _, val in splitter.split(X, y, groups=groups):
                folds.append(set(groups[val].tolist()))
        except ValueError:  # StratifiedGroupKFold: every class has fewer samples than folds
            return None
    return None if any(not f for f in folds) else folds


# --------------------------------------------------------------------------- #
# Held-out captures
# --------------------------------------------------------------------------- #


def parse_where(rules: str | Sequence[str] | Mapping[str, str | Sequence[str]] | None) -> dict[str, list[str]] | None:
    """``{key: values}`` from ``"subject=01,09"`` (or several such), or a mapping; None stays None.

    Raises:
        ConfigError: a rule without ``=``, an empty key or no value.
    """
    if rules is None:
        return None
    if isinstance(rules, Mapping):
        items = list(rules.items())
    else:
        items = []
        for rule in [rules] if isinstance(rules, str) else list(rules):
            key, sep, values = str(rule).partition("=")
            if not sep:
                raise ConfigError(f"The '--test-where' parameter must be key=value[,value...] (e.g. subject=01,09). "
                                  f"Got {rule!r} instead.")
            items.append((key, values))
    out: dict[str, list[str]] = {}
    for key, values in items:
        vals = [values] if isinstance(values, str) else list(values)
        vals = [v.strip() for value in vals for v in str(value).split(",") if v.strip()]
        if not str(key).strip() or not vals:
            raise ConfigError(f"The 'test_where' parameter needs a metadata key and at least one value, e.g. "
                              f"subject=01,09. Got {key!r}={values!r} instead.")
        out.setdefault(str(key).strip(), []).extend(vals)
    return out


def held_out_names(dataset: Dataset, test_glob: str | None = None,
                   test_where: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """Captures held out for testing: names matching ``test_glob`` and metadata matching every ``test_where`` rule.

    Args:
        dataset: all captures.
        test_glob: ``fnmatch`` pattern on capture names, or None.
        test_where: ``{metadata key: accepted values}``; a capture is held
            out when its value of every key is one of the accepted ones.

    Returns:
        Held-out capture names, in dataset order.

    Raises:
        ConfigError: neither rule given.
        DataError: a key no capture has (naming the keys there are), or a
            selection that is empty or takes every capture.
    """
    if not test_glob and not test_where:
        raise ConfigError("no held-out captures: give --test-glob or --test-where (data.test_glob or "
                          "data.test_where in the search space)")
    names = dataset.capture_names()
    chosen = [c for c in dataset.captures if not test_glob or fnmatch.fnmatch(c.name, test_glob)]
    rule = []
    if test_glob:
        rule.append(f"--test-glob {test_glob!r}")
    for key, values in (test_where or {}).items():
        if not any(key in c.metadata for c in dataset.captures):
            keys = sorted({k for c in dataset.captures for k in c.metadata})
            raise DataError(f"--test-where {key}=...: no capture of {dataset.name!r} has metadata {key!r}; the "
                            f"metadata keys are {keys} (add keys from file names with data.name_metadata)")
        accepted = {str(v) for v in values}
        chosen = [c for c in chosen if c.metadata.get(key) in accepted]
        rule.append(f"--test-where {key}={','.join(values)}")
    test = [c.name for c in chosen]
    what = " and ".join(rule)
    if not test:
        raise DataError(f"{what} matches none of the {len(names)} captures of {dataset.name!r} (e.g. {names[:3]}); "
                        "give a rule that matches the held-out captures")
    if len(test) == len(names):
        raise DataError(f"{what} matches all {len(names)} captures of {dataset.name!r}; nothing would be left to "
                        "train on")
    return test


def split_held_out(dataset: Dataset, test_glob: str | None = None,
                   test_where: Mapping[str, Sequence[str]] | None = None) -> tuple[Dataset, Dataset]:
    """``(train, test)``: the held-out captures of :func:`held_out_names` and the rest.

    Raises:
        As :func:`held_out_names`; and DataError when a class occurs only in
        held-out captures (the model could never predict it, and its windows
        would silently leave the test metrics), naming the class and captures.
    """
    test_names = set(held_out_names(dataset, test_glob, test_where))
    train = dataset.subset([n for n in dataset.capture_names() if n not in test_names])
    test = dataset.subset([n for n in dataset.capture_names() if n in test_names])
    only = sorted({s.label for s in test.segments} - {s.label for s in train.segments} - {dataset.background})
    if only:
        where = sorted({s.capture for s in test.segments if s.label == only[0]})
        raise DataError(
            f"class {only[0]!r} occurs only in held-out captures ({', '.join(where[:5])}"
            f"{', ...' if len(where) > 5 else ''}){f' (and {len(only) - 1} more classes)' if len(only) > 1 else ''}: "
            "the model cannot learn it, and its windows would drop out of the test metrics; hold out fewer "
            "captures or add training captures of it"
        )
    return train, test
