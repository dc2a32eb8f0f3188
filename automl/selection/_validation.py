"""Input checks shared by the selectors and scalers."""

from __future__ import annotations

import numpy as np

from automl.errors import DataError


def check_features(F: object, owner: str, n_features: int | None = None) -> np.ndarray:
    """Validate a feature matrix and return it as float32.

    Args:
        F: ``(n_windows, n_features)`` real array, feature units.
        owner: class name used in messages, e.g. ``"TreeSelector"``.
        n_features: expected column count (the one seen in ``fit``), or None.

    Returns:
        ``(n_windows, n_features) float32`` (a view when ``F`` already is
        float32, otherwise a rounded copy).

    Raises:
        DataError: if ``F`` is not 2-D, has no rows or columns, is not real,
            holds NaN or infinity, or has the wrong column count.
    """
    F = np.asarray(F)
    if F.ndim != 2:
        raise DataError(f"{owner} expects F of shape (n_windows, n_features); got shape {F.shape}")
    if F.dtype.kind not in "fiu":
        raise DataError(f"{owner} expects real features (float32); got dtype {F.dtype}")
    if F.shape[0] < 1 or F.shape[1] < 1:
        raise DataError(f"{owner} needs at least one window and one feature; got shape {F.shape}")
    if n_features is not None and F.shape[1] != n_features:
        raise DataError(
            f"F has {F.shape[1]} features, but {owner} is expecting {n_features} "
            "features as input (the number seen in fit)"
        )
    with np.errstate(over="ignore"):  # overflow becomes inf, reported below
        F = F.astype(np.float32, copy=False)
    finite = np.isfinite(F)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        bad_cols = np.flatnonzero(~finite.all(axis=0))
        raise DataError(
            f"{owner}: F contains NaN or infinity (or a value beyond the float32 range) "
            f"in {bad_rows.size} of {F.shape[0]} windows, columns {bad_cols[:5].tolist()}"
            f"{'...' if bad_cols.size > 5 else ''}; features must be finite"
        )
    return F
