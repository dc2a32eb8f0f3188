"""Macro F1, accuracy, sensitivity and positive predictivity from a confusion matrix."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str]) -> dict:
    """Window-level metrics.

    Sensitivity (recall) = TP / (TP + FN); positive predictivity (precision)
    = TP / (TP + FP); a class with no true (or no predicted) windows gets 0.
    Macro F1 is the unweighted mean of per-class F1 over the classes that
    occur in ``y_true`` or ``y_pred`` (scikit-learn's ``f1_score(average="macro")``
    with ``zero_division=0``).

    Args:
        y_true: ``(n_windows,) int64`` true class indices into ``classes``.
        y_pred: ``(n_windows,) int64`` predicted class indices; -1 = unknown (the
            top probability was below the unknown threshold), counted in the
            ``unknown`` column: a miss for the true class, a prediction of no class.
        classes: class names.

    Returns:
        ``{"macro_f1", "accuracy", "n_windows", "classes", "confusion" (rows true,
        columns predicted, counts), "unknown" (per true class, counts),
        "per_class": {name: {"sensitivity", "pos_pred", "f1", "support"}}}``;
        fractions in [0, 1].
    """
    y_true = np.asarray(y_true, np.int64)
    y_pred = np.asarray(y_pred, np.int64)
    k = len(classes)
    known = y_pred >= 0
    cm = np.bincount(y_true[known] * k + y_pred[known], minlength=k * k).reshape(k, k)
    unknown = np.bincount(y_true[~known], minlength=k)[:k]
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1) + unknown
    predicted = cm.sum(axis=0)
    sens = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    ppv = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    f1 = np.divide(2 * sens * ppv, sens + ppv, out=np.zeros_like(tp), where=(sens + ppv) > 0)
    present = np.unique(np.concatenate([y_true, y_pred[known]])) if len(y_true) else np.zeros(0, np.int64)
    macro = float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)) if len(y_true) else 0.0
    return {
        "macro_f1": macro,
        "accuracy": float((y_true == y_pred).mean()) if len(y_true) else 0.0,
        "n_windows": int(len(y_true)),
        "classes": list(classes),
        "confusion": cm.astype(int).tolist(),
        "unknown": unknown.astype(int).tolist(),
        "per_class": {
            c: {"sensitivity": float(sens[i]), "pos_pred": float(ppv[i]), "f1": float(f1[i]), "support": int(support[i])}
            for i, c in enumerate(classes)
        },
    }
