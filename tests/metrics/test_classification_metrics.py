"""Window-level classification metrics against a hand-worked confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from automl.metrics import classification_metrics

CLASSES = ["A", "B", "C"]


def _from_confusion(cm: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """y_true, y_pred holding cm[i][j] windows of true class i predicted as j."""
    yt, yp = [], []
    for i, row in enumerate(cm):
        for j, n in enumerate(row):
            yt += [i] * n
            yp += [j] * n
    return np.array(yt, np.int64), np.array(yp, np.int64)


# Rows true, columns predicted:
#          A  B  C   | support
#   A    [ 3, 1, 0 ] | 4
#   B    [ 1, 2, 1 ] | 4
#   C    [ 0, 0, 2 ] | 2
#   pred   4  3  3
# sensitivity = TP / row sum:  A 3/4, B 2/4, C 2/2
# pos. pred.  = TP / col sum:  A 3/4, B 2/3, C 2/3
# F1 = 2 s p / (s + p):        A 0.75
#                              B 2 (1/2)(2/3) / (7/6) = (2/3)/(7/6) = 4/7
#                              C 2 (1)(2/3) / (5/3) = 4/5
# macro F1 = (3/4 + 4/7 + 4/5) / 3 = (105 + 80 + 112) / 140 / 3 = 297/420 = 99/140
# accuracy = (3 + 2 + 2) / 10 = 7/10
CM = [[3, 1, 0], [1, 2, 1], [0, 0, 2]]


def test_hand_worked_three_classes():
    yt, yp = _from_confusion(CM)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(yt))  # order of windows must not matter
    m = classification_metrics(yt[order], yp[order], CLASSES)
    assert m["confusion"] == CM
    assert m["classes"] == CLASSES
    assert m["n_windows"] == 10
    assert m["accuracy"] == pytest.approx(7 / 10, abs=1e-12)
    assert m["macro_f1"] == pytest.approx(99 / 140, abs=1e-12)
    expected = {
        "A": (3 / 4, 3 / 4, 3 / 4, 4),
        "B": (1 / 2, 2 / 3, 4 / 7, 4),
        "C": (1.0, 2 / 3, 4 / 5, 2),
    }
    for c, (sens, ppv, f1, support) in expected.items():
        pc = m["per_class"][c]
        assert pc["sensitivity"] == pytest.approx(sens, abs=1e-12), c
        assert pc["pos_pred"] == pytest.approx(ppv, abs=1e-12), c
        assert pc["f1"] == pytest.approx(f1, abs=1e-12), c
        assert pc["support"] == support and isinstance(pc["support"], int), c
    # Plain JSON types (stored in Optuna user attributes).
    assert isinstance(m["macro_f1"], float) and isinstance(m["accuracy"], float)
    assert all(isinstance(v, int) for row in m["confusion"] for v in row)


def test_per_class_agrees_with_sklearn():
    yt, yp = _from_confusion(CM)
    m = classification_metrics(yt, yp, CLASSES)
    labels = [0, 1, 2]
    np.testing.assert_allclose([m["per_class"][c]["sensitivity"] for c in CLASSES],
                               recall_score(yt, yp, labels=labels, average=None), atol=1e-12)
    np.testing.assert_allclose([m["per_class"][c]["pos_pred"] for c in CLASSES],
                               precision_score(yt, yp, labels=labels, average=None), atol=1e-12)
    np.testing.assert_allclose([m["per_class"][c]["f1"] for c in CLASSES],
                               f1_score(yt, yp, labels=labels, average=None), atol=1e-12)


def test_perfect_prediction():
    y = np.array([0, 1, 2, 2, 1])
    m = classification_metrics(y, y, CLASSES)
    assert m["macro_f1"] == 1.0 and m["accuracy"] == 1.0
    assert m["confusion"] == [[1, 0, 0], [0, 2, 0], [0, 0, 2]]
    assert all(pc["f1"] == 1.0 for pc in m["per_class"].values())


def test_class_absent_from_truth_and_prediction():
    # C never occurs. true [A, A, B, B], pred [A, B, B, B]:
    #   A: TP 1, support 2, predicted 1 -> s 1/2, p 1,   F1 2(1/2)/(3/2) = 2/3
    #   B: TP 2, support 2, predicted 3 -> s 1,   p 2/3, F1 (4/3)/(5/3) = 4/5
    #   C: no true, no predicted windows -> 0 / 0 -> 0 everywhere, support 0.
    # Macro F1 is over the classes that occur: (2/3 + 4/5) / 2 = 11/15.
    m = classification_metrics(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), CLASSES)
    assert m["per_class"]["C"] == {"sensitivity": 0.0, "pos_pred": 0.0, "f1": 0.0, "support": 0}
    assert m["per_class"]["A"]["f1"] == pytest.approx(2 / 3, abs=1e-12)
    assert m["per_class"]["B"]["f1"] == pytest.approx(4 / 5, abs=1e-12)
    assert m["macro_f1"] == pytest.approx(11 / 15, abs=1e-12)
    assert m["accuracy"] == pytest.approx(3 / 4, abs=1e-12)
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]


def test_class_predicted_but_never_true():
    # true [A, A], pred [A, C]:
    #   A: s 1/2, p 1/1, F1 2/3.  C: support 0 -> s 0; TP 0 of 1 predicted -> p 0; F1 0.
    # Macro over occurring classes {A, C}: (2/3 + 0) / 2 = 1/3. B does not count.
    m = classification_metrics(np.array([0, 0]), np.array([0, 2]), CLASSES)
    assert m["per_class"]["C"] == {"sensitivity": 0.0, "pos_pred": 0.0, "f1": 0.0, "support": 0}
    assert m["macro_f1"] == pytest.approx(1 / 3, abs=1e-12)
    assert m["accuracy"] == 0.5


def test_class_true_but_never_predicted():
    # true [A, B], pred [A, A]:
    #   A: s 1, p 1/2, F1 2/3.  B: s 0/1 = 0, nothing predicted -> p 0, F1 0.
    # Macro over {A, B} = 1/3.
    m = classification_metrics(np.array([0, 1]), np.array([0, 0]), CLASSES)
    assert m["per_class"]["B"] == {"sensitivity": 0.0, "pos_pred": 0.0, "f1": 0.0, "support": 1}
    assert m["per_class"]["A"]["pos_pred"] == 0.5
    assert m["macro_f1"] == pytest.approx(1 / 3, abs=1e-12)


def test_all_wrong_gives_zero():
    m = classification_metrics(np.array([0, 1, 2]), np.array([1, 2, 0]), CLASSES)
    assert m["macro_f1"] == 0.0 and m["accuracy"] == 0.0
    assert all(pc["f1"] == 0.0 and pc["support"] == 1 for pc in m["per_class"].values())


def test_no_windows():
    m = classification_metrics(np.zeros(0, np.int64), np.zeros(0, np.int64), CLASSES)
    assert m["macro_f1"] == 0.0 and m["accuracy"] == 0.0 and m["n_windows"] == 0
    assert m["confusion"] == [[0, 0, 0]] * 3
    assert all(pc == {"sensitivity": 0.0, "pos_pred": 0.0, "f1": 0.0, "support": 0}
               for pc in m["per_class"].values())


def test_unknown_predictions_are_misses_in_their_own_column():
    # true:  0 0 1 1 1 ; pred: 0 -1 1 -1 0  (-1 = unknown)
    # confusion (known only): [[1,0],[1,1]]; unknown per true class: [1, 1]
    # class 0: sens 1/2, ppv 1/2 -> F1 0.5; class 1: sens 1/3, ppv 1/1 -> F1 0.5; macro 0.5; accuracy 2/5
    from automl.metrics import classification_metrics

    m = classification_metrics([0, 0, 1, 1, 1], [0, -1, 1, -1, 0], ["bg", "jab"])
    assert m["confusion"] == [[1, 0], [1, 1]] and m["unknown"] == [1, 1]
    assert m["per_class"]["bg"]["sensitivity"] == 0.5 and m["per_class"]["jab"]["sensitivity"] == 1 / 3
    assert m["per_class"]["jab"]["pos_pred"] == 1.0
    assert m["macro_f1"] == 0.5 and m["accuracy"] == 0.4 and m["per_class"]["jab"]["support"] == 3
