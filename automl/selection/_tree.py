"""TreeSelector: keep the k features an ExtraTrees forest finds most important."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.utils.validation import check_is_fitted

from automl.errors import ConfigError, DataError
from automl.selection._validation import check_features


def _check_positive_int(value: object, param: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(
            f"The {param!r} parameter of TreeSelector must be an int >= 1. Got {value!r} instead."
        )
    return int(value)


class TreeSelector(TransformerMixin, BaseEstimator):
    """Select the ``k`` most important features by ExtraTrees impurity importance.

    Fits a scikit-learn ``ExtraTreesClassifier(n_estimators, random_state)``
    (all other hyper-parameters at scikit-learn defaults: gini, unlimited
    depth, ``max_features="sqrt"``, no bootstrap, one job) on exactly the
    ``(F, y)`` passed to :meth:`fit` (the training fold; nothing else is seen
    or kept), ranks features by its ``feature_importances_`` (mean decrease in
    impurity, normalised to sum 1) in decreasing order, exact ties broken by
    the lower feature index, and keeps the first ``k``.

    If ``k`` exceeds the number of features, all features are kept (ranked);
    ``k_`` holds the effective count.

    Args:
        k: number of features to keep, ``>= 1``; clipped to ``n_features``.
        n_estimators: number of trees, ``>= 1`` (default 100, scikit-learn's
            default).
        random_state: seed of the forest (int), or None for a random seed.

    Attributes:
        selected_: ``(k_,) int64`` column indices into the fitted ``F``, in
            decreasing importance: the model's input order.
        importances_: ``(k_,) float64`` importance of each selected feature
            (fraction of total impurity decrease, 0..1).
        feature_importances_: ``(n_features_in_,) float64`` importance of
            every feature.
        n_features_in_: number of columns seen in ``fit``.
        k_: effective number of selected features, ``min(k, n_features_in_)``.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> y = np.repeat([0, 1], 50)
        >>> F = rng.normal(size=(100, 4)).astype(np.float32)
        >>> F[:, 2] += 5 * y
        >>> TreeSelector(k=1).fit(F, y).selected_
        array([2])
    """

    def __init__(self, k: int, n_estimators: int = 100, random_state: int | None = 0) -> None:
        self.k = k
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, F: np.ndarray, y: np.ndarray) -> "TreeSelector":
        """Rank the features of ``F`` for predicting ``y``.

        Args:
            F: ``(n_windows, n_features) float32``, feature units (other real
                dtypes are rounded to float32, which the trees use anyway).
            y: ``(n_windows,) int`` class indices (any labels scikit-learn
                accepts).

        Returns:
            ``self``.

        Raises:
            ConfigError: if ``k`` or ``n_estimators`` is not an int ``>= 1``.
            DataError: if ``F`` is malformed or non-finite, or ``y`` is not 1-D
                or has a different number of windows.
        """
        k = _check_positive_int(self.k, "k")
        n_estimators = _check_positive_int(self.n_estimators, "n_estimators")
        F = check_features(F, "TreeSelector")
        y = np.asarray(y)
        if y.ndim != 1:
            raise DataError(f"TreeSelector expects y of shape (n_windows,); got shape {y.shape}")
        if y.shape[0] != F.shape[0]:
            raise DataError(
                "Found input variables with inconsistent numbers of samples: "
                f"F has {F.shape[0]} windows, y has {y.shape[0]}"
            )

        forest = ExtraTreesClassifier(n_estimators=n_estimators, random_state=self.random_state)
        forest.fit(F, y)
        return self._rank(np.asarray(forest.feature_importances_, dtype=np.float64), k)

    @classmethod
    def from_importances(cls, feature_importances: np.ndarray, k: int, n_estimators: int = 100,
                         random_state: int | None = 0) -> "TreeSelector":
        """A fitted selector from importances a previous :meth:`fit` computed.

        The forest's importances do not depend on ``k``, so trials that share
        the training fold and the forest's seed can share one fit (the search
        caches ``feature_importances_``). The result equals
        ``TreeSelector(k, n_estimators, random_state).fit(F, y)`` for the
        ``(F, y)`` the importances came from.

        Args:
            feature_importances: ``(n_features,) float64`` impurity
                importances, as in ``feature_importances_``.
            k: number of features to keep, ``>= 1``; clipped to ``n_features``.
            n_estimators, random_state: recorded as the selector's parameters.

        Returns:
            A fitted ``TreeSelector``.

        Raises:
            ConfigError: if ``k`` is not an int ``>= 1``.
            DataError: if the importances are not a finite non-empty 1-D array.
        """
        k = _check_positive_int(k, "k")
        imp = np.asarray(feature_importances, dtype=np.float64)
        if imp.ndim != 1 or imp.size == 0 or not np.all(np.isfinite(imp)):
            raise DataError(f"TreeSelector.from_importances expects finite (n_features,) importances; "
                            f"got shape {imp.shape}")
        return cls(k=k, n_estimators=n_estimators, random_state=random_state)._rank(imp, k)

    def _rank(self, importances: np.ndarray, k: int) -> "TreeSelector":
        # Stable sort of the negated importances: decreasing importance, and
        # among exactly equal importances the lower index first.
        order = np.argsort(-importances, kind="stable")
        self.n_features_in_ = importances.shape[0]
        self.k_ = min(k, self.n_features_in_)
        self.selected_ = order[: self.k_].astype(np.int64)
        self.importances_ = importances[self.selected_]
        self.feature_importances_ = importances
        return self

    def transform(self, F: np.ndarray) -> np.ndarray:
        """Keep the selected columns, in ``selected_`` order.

        Args:
            F: ``(n_windows, n_features_in_) float32``, feature units; any
                fold (the selection is not refitted).

        Returns:
            ``(n_windows, k_) float32``, column ``i`` = ``F[:, selected_[i]]``.

        Raises:
            sklearn.exceptions.NotFittedError: if called before :meth:`fit`.
            DataError: if ``F`` is malformed, non-finite or has a different
                number of columns than in ``fit``.
        """
        check_is_fitted(self, "selected_")
        F = check_features(F, "TreeSelector", n_features=self.n_features_in_)
        return F[:, self.selected_]
