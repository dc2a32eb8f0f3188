"""Tests of automl.data.grouped_folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from automl.data import Capture, Dataset, Segment, grouped_folds, load_dataset
from automl.data._split import capture_classes
from automl.errors import ConfigError, DataError


def _dataset(classes: list[str]) -> Dataset:
    """One 10-sample capture per entry, labelled with it (plus a background span)."""
    captures, segments = [], []
    for i, cls in enumerate(classes):
        name = f"cap_{i:02d}"
        captures.append(Capture(name, np.zeros((10, 1), np.float32)))
        segments += [Segment(name, "NoActivity", 0, 2), Segment(name, cls, 2, 10)]
    return Dataset("toy", ("x",), 10.0, captures, segments)


def _check_partition(ds: Dataset, folds: list[tuple[list[str], list[str]]], n_splits: int) -> None:
    names = ds.capture_names()
    assert len(folds) == n_splits
    seen: list[str] = []
    for train, val in folds:
        assert val and train
        assert not set(train) & set(val)
        assert sorted(train + val) == sorted(names)
        assert train == [n for n in names if n in set(train)]  # dataset order
        seen += val
    assert sorted(seen) == sorted(names)  # every capture validated exactly once


def test_every_fold_has_every_class() -> None:
    ds = _dataset(["a", "b", "c"] * 4)
    folds = grouped_folds(ds, 4, seed=0)
    _check_partition(ds, folds, 4)
    cls = dict(zip(ds.capture_names(), capture_classes(ds)))
    for _, val in folds:
        assert sorted(cls[n] for n in val) == ["a", "b", "c"]


def test_seed_is_reproducible() -> None:
    ds = _dataset(["a", "b"] * 10)
    assert grouped_folds(ds, 5, seed=3) == grouped_folds(ds, 5, seed=3)
    assert any(grouped_folds(ds, 5, seed=s) != grouped_folds(ds, 5, seed=0) for s in range(1, 6))


def test_small_class_is_fine() -> None:
    ds = _dataset(["a"] * 6 + ["b"])  # b has 1 capture < 3 folds: no warning, still a partition
    folds = grouped_folds(ds, 3)
    _check_partition(ds, folds, 3)


def test_falls_back_when_stratification_is_impossible() -> None:
    ds = _dataset(["a", "b", "c"])  # every class has fewer captures than folds
    folds = grouped_folds(ds, 3, seed=1)
    _check_partition(ds, folds, 3)
    assert sorted(len(v) for _, v in folds) == [1, 1, 1]


def test_too_few_captures() -> None:
    with pytest.raises(DataError, match=r"'toy' has 2 captures, fewer than the 3 folds"):
        grouped_folds(_dataset(["a", "b"]), 3)
    with pytest.raises(ConfigError, match="n_splits"):
        grouped_folds(_dataset(["a", "b"]), 1)


def test_capture_classes_majority() -> None:
    c = [Capture(n, np.zeros((30, 1), np.float32)) for n in ("mix", "tie", "bg")]
    segs = [
        Segment("mix", "NoActivity", 0, 25), Segment("mix", "jab", 25, 27), Segment("mix", "hook", 27, 30),
        Segment("tie", "jab", 0, 5), Segment("tie", "hook", 5, 10),
        Segment("bg", "NoActivity", 0, 30),
    ]
    ds = Dataset("m", ("x",), 1.0, c, segs)
    assert capture_classes(ds) == ["hook", "hook", "NoActivity"]  # samples, then alphabetical, then background


def test_boxing_folds(boxing_dir: Path) -> None:
    train, _ = load_dataset(boxing_dir).split("acc_gyr_experiment_all_*")
    assert capture_classes(train) == ["hook"] * 4 + ["jab"] * 4 + ["uppercut"] * 4
    for n_splits in (3, 4):
        folds = grouped_folds(train, n_splits, seed=0)
        _check_partition(train, folds, n_splits)
        for _, val in folds:
            assert {n.split("_")[3] for n in val} == {"hook", "jab", "uppercut"}
