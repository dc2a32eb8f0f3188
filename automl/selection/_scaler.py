"""MinMaxUint8Scaler: per-feature min-max scaling of float32 features to uint8."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from automl.errors import DataError
from automl.selection._validation import check_features

_F0 = np.float32(0.0)
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)
_U8_MAX = np.float32(255.0)  # largest uint8 value


class MinMaxUint8Scaler(TransformerMixin, BaseEstimator):
    """Scale each feature from its training range [min, max] to 0..255 (uint8).

    :meth:`fit` learns ``min_`` and ``max_`` per column on the data passed
    (the training fold only). :meth:`transform` maps one value ``x`` of column
    ``j`` (``lo = min_[j]``, ``hi = max_[j]``) with IEEE-754 binary32
    arithmetic, round-to-nearest-even on every operation, in exactly this
    order, which a C implementation reproduces bit for bit::

        if (hi == lo) { q = 0; }                  /* constant column: always 0 */
        else {
            float t = (x - lo) / (hi - lo);        /* float32 sub, sub, div */
            float v = t * 255.0f;                  /* float32 mul */
            float r = floorf(v + 0.5f);            /* float32 add, then floor */
            q = (r <= 0.0f) ? 0 : (r >= 255.0f) ? 255 : (uint8_t)r;
        }

    i.e. ``q = clip(floor(((x - lo) / (hi - lo)) * 255 + 0.5), 0, 255)``:
    round half up, with the addition ``v + 0.5f`` itself rounded to float32
    (so e.g. ``v = 0.49999997f`` gives ``1``: that is the specified result).
    Values outside the training range are clipped to 0 or 255 (also when
    ``x - lo`` overflows to +-inf). For the C side this requires
    ``FLT_EVAL_METHOD == 0`` (true for Cortex-M4 FPv4-SP and x86-64 SSE) and
    no fused multiply-add: compile with ``-ffp-contract=off`` (GCC contracts
    ``t * 255.0f + 0.5f`` into ``vfma`` on Cortex-M4 otherwise) and without
    ``-ffast-math``.

    A constant training column (``max_ == min_``) always maps to 0, whatever
    ``x`` is at inference: it carried no information when the model was
    trained.

    Attributes:
        min_: ``(n_features_in_,) float32`` per-column minimum of the fitted
            ``F``, feature units.
        max_: ``(n_features_in_,) float32`` per-column maximum, feature units;
            ``max_ - min_`` is finite in float32.
        n_features_in_: number of columns seen in ``fit``.

    Example:
        >>> import numpy as np
        >>> s = MinMaxUint8Scaler().fit(np.array([[0.0], [10.0]], dtype=np.float32))
        >>> s.transform(np.array([[-1.0], [0.0], [5.0], [10.0], [11.0]], dtype=np.float32)).ravel()
        array([  0,   0, 128, 255, 255], dtype=uint8)
    """

    def fit(self, F: np.ndarray, y: object = None) -> "MinMaxUint8Scaler":
        """Learn the per-column range of ``F``.

        Args:
            F: ``(n_windows, n_features) float32``, feature units (other real
                dtypes are rounded to float32 first).
            y: ignored; present for scikit-learn pipelines.

        Returns:
            ``self``.

        Raises:
            DataError: if ``F`` is malformed or non-finite, or a column's range
                ``max - min`` exceeds the float32 range (3.4e38).
        """
        F = check_features(F, "MinMaxUint8Scaler")
        lo = F.min(axis=0)
        hi = F.max(axis=0)
        with np.errstate(over="ignore"):
            span = hi - lo
        if not np.isfinite(span).all():
            cols = np.flatnonzero(~np.isfinite(span))
            raise DataError(
                f"MinMaxUint8Scaler: columns {cols[:5].tolist()} span more than the float32 "
                "range (max - min > 3.4e38); rescale those features"
            )
        self.min_ = lo
        self.max_ = hi
        self.n_features_in_ = F.shape[1]
        return self

    def transform(self, F: np.ndarray) -> np.ndarray:
        """Scale to uint8 with the float32 expression in the class docstring.

        Args:
            F: ``(n_windows, n_features_in_) float32``, feature units; any fold.

        Returns:
            ``(n_windows, n_features_in_) uint8``, 0..255; 0 in constant
            columns.

        Raises:
            sklearn.exceptions.NotFittedError: if called before :meth:`fit`.
            DataError: if ``F`` is malformed, non-finite or has a different
                number of columns than in ``fit``.
        """
        check_is_fitted(self, ("min_", "max_"))
        F = check_features(F, "MinMaxUint8Scaler", n_features=self.n_features_in_)
        lo = self.min_.astype(np.float32, copy=False)
        hi = self.max_.astype(np.float32, copy=False)
        span = hi - lo  # float32; finite (checked in fit)
        constant = span == _F0
        # Every operand below is float32, so numpy evaluates each ufunc in
        # float32 with one IEEE rounding, matching the C expression. Overflow
        # of x - lo to +-inf is intended (clipped below), hence errstate.
        with np.errstate(over="ignore"):
            t = (F - lo) / np.where(constant, _ONE, span)
            v = t * _U8_MAX
            r = np.floor(v + _HALF)
        q = np.clip(r, _F0, _U8_MAX)
        q[:, constant] = _F0
        return q.astype(np.uint8)
