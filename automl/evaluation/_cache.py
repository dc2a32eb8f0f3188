"""Content-addressed caches of windows, feature matrices and forest importances.

Trials of a study share most of their expensive inputs: every trial with the
same segmenter and feature generators cuts the same windows and computes the
same features; every trial with the same training windows fits the same
ExtraTrees forest. Both are cached on disk in a node-local folder
(``<temp>/automl-cache`` by default, shared by the node's Ray workers) under a
SHA-256 key of everything they depend on, including the package version and a
hash of the pipeline's source code, so a code change never reads an entry an
older version wrote. Entries are written atomically (temp file, then
``os.replace``); a damaged entry is recomputed and replaced.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from dataclasses import asdict
from pathlib import Path

import numpy as np

from automl.data import Dataset
from automl.segmentation import Windows
from automl.selection import TreeSelector

#: Bump to invalidate every cache entry written by earlier code.
CACHE_VERSION = 2
_IMPORTANCES: OrderedDict[str, np.ndarray] = OrderedDict()  # in-process LRU of forest importances
_IMPORTANCES_MAX = 256  # entries (one (n_features,) float64 vector each: a few KB)


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 (hex) of the package version and the source of the pipeline stages.

    Covers ``automl/{data,segmentation,features,selection,evaluation}/*.py``:
    everything a cached window, feature matrix or importance vector depends on.
    """
    import automl

    root = Path(automl.__file__).parent
    h = hashlib.sha256(automl.__version__.encode())
    for room in ("data", "segmentation", "features", "selection", "evaluation"):
        for path in sorted((root / room).glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def dataset_fingerprint(ds: Dataset) -> str:
    """SHA-256 (hex) of everything windows and features of ``ds`` depend on.

    Capture names and samples (bytes of the float32 counts), segments,
    channels, sensor groups, sample rate and background class.
    """
    h = hashlib.sha256(repr((ds.name, ds.channels, ds.sample_rate_hz, ds.background, ds.sensors)).encode())
    for c in ds.captures:
        h.update(c.name.encode())
        h.update(np.ascontiguousarray(c.data).tobytes())
    h.update(repr(sorted((g.capture, g.label, g.start, g.end) for g in ds.segments)).encode())
    return h.hexdigest()


def cache_root(cache_dir: str | None) -> Path:
    """The cache folder: ``cache_dir`` or ``<system temp>/automl-cache``."""
    return Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "automl-cache"


def _atomic_save(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        write(fh)
    os.replace(tmp, path)


def windows_and_features(ds: Dataset, data_key: str, spec, classes: list[str], extractor,
                         cache_dir: str | None = None) -> tuple[Windows, np.ndarray, bool]:
    """Windows of ``ds`` cut by ``spec`` and their full feature matrix, cached on disk.

    The key is a SHA-256 of ``data_key``, the segmenter spec, the classes, the
    extractor's parameters and :func:`code_fingerprint`, so trials that differ
    only in selection, model, quantisation or post-processing share one entry.
    Window samples are not cached (``Windows.X`` comes back as
    ``(n_windows, window_size, 0)``); labels, captures, starts and features are.

    Args:
        ds: the captures (ADC counts).
        data_key: :func:`dataset_fingerprint` of ``ds``; empty: no cache.
        spec: ``automl.pipeline.SegmenterSpec``.
        classes: class names, background first (window labels index them).
        extractor: ``automl.features.FeatureExtractor``.
        cache_dir: cache folder (default ``<temp>/automl-cache``).

    Returns:
        ``(windows, F, cache_hit)``; ``F`` is ``(n_windows, n_features) float32``.

    Raises:
        ConfigError / DataError: from the segmenter or the extractor.
    """
    path = None
    if data_key:
        ident = json.dumps({"v": CACHE_VERSION, "code": code_fingerprint(), "data": data_key, "seg": asdict(spec),
                            "classes": list(classes), "fx": extractor.get_params()}, sort_keys=True, default=str)
        path = cache_root(cache_dir) / f"{hashlib.sha256(ident.encode()).hexdigest()[:32]}.npz"
        if path.is_file():
            try:
                with np.load(path) as z:
                    win = Windows(np.zeros((z["y"].shape[0], spec.window_size, 0), np.float32), z["y"], z["capture"],
                                  z["start"], list(classes), ds.capture_names())
                    return win, z["F"], True
            except Exception:  # a damaged entry is recomputed and replaced
                pass
    win = spec.build().transform(ds, list(classes))
    F = extractor.transform(win.X) if len(win) else np.zeros((0, len(extractor.feature_names())), np.float32)
    if path is not None:
        _atomic_save(path, lambda fh: np.savez(fh, y=win.y, capture=win.capture, start=win.start, F=F))
    return win, F, False


def forest_importances(F: np.ndarray, y: np.ndarray, n_estimators: int, seed: int,
                       cache_dir: str | None = None, use_cache: bool = True) -> tuple[np.ndarray, bool]:
    """ExtraTrees ``feature_importances_`` of ``(F, y)``, cached by content.

    The forest's ranking does not depend on ``k``, so every trial with the
    same training windows, features and seed shares one fit. The key is a
    SHA-256 of ``F`` and ``y`` bytes, shapes, ``n_estimators``, ``seed`` and the
    scikit-learn version. Entries are kept in an in-process LRU (256 entries)
    and as ``<key>.imp.npy`` in the cache folder.

    Args:
        F: ``(n_windows, n_features) float32`` training features.
        y: ``(n_windows,) int64`` class indices.
        n_estimators: number of trees.
        seed: the forest's ``random_state``.
        cache_dir: cache folder (default ``<temp>/automl-cache``).
        use_cache: False fits without reading or writing any cache.

    Returns:
        ``((n_features,) float64 importances, cache_hit)``; the importances
        equal ``TreeSelector(k, n_estimators, seed).fit(F, y).feature_importances_``.

    Raises:
        DataError / ConfigError: as :meth:`TreeSelector.fit` for malformed input.
    """
    import sklearn

    F = np.ascontiguousarray(F, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.int64)
    if not use_cache:
        return TreeSelector(k=1, n_estimators=n_estimators, random_state=seed).fit(F, y).feature_importances_, False
    h = hashlib.sha256(json.dumps({"v": CACHE_VERSION, "F": F.shape, "y": y.shape, "n_estimators": n_estimators,
                                   "seed": seed, "sklearn": sklearn.__version__}).encode())
    h.update(F.tobytes())
    h.update(y.tobytes())
    key = h.hexdigest()[:32]
    if key in _IMPORTANCES:
        _IMPORTANCES.move_to_end(key)
        return _IMPORTANCES[key], True
    path = cache_root(cache_dir) / f"{key}.imp.npy"
    imp = None
    if path.is_file():
        try:
            imp = np.load(path)
            if imp.shape != (F.shape[1],) or not np.all(np.isfinite(imp)):
                imp = None
        except Exception:  # a damaged entry is refitted and replaced
            imp = None
    hit = imp is not None
    if imp is None:
        imp = TreeSelector(k=1, n_estimators=n_estimators, random_state=seed).fit(F, y).feature_importances_
        _atomic_save(path, lambda fh: np.save(fh, imp))
    _IMPORTANCES[key] = imp
    while len(_IMPORTANCES) > _IMPORTANCES_MAX:
        _IMPORTANCES.popitem(last=False)
    return imp, hit
