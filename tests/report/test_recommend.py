"""The recommendation rule: the cheapest trial within the seed noise of the best, never a flagged one."""

from __future__ import annotations

import numpy as np
import pytest

from automl.report._recommend import budget_share, recommend

BUDGETS = (None, 65536.0, 16384.0, 10.0)


def _attrs(n_seeds=3, std=0.04, **flags):
    return dict(n_seeds=n_seeds, f1_std=std, **flags)


def test_budget_share_is_the_tightest_budget():
    v = np.array([[0.9, 32768, 4096, 1.0], [0.8, 6553.6, 8192, 9.0]])
    # Row 0: flash 0.5, RAM 0.25, latency 0.1 -> 0.5; row 1: 0.1, 0.5, 0.9 -> 0.9.
    assert budget_share(v, BUDGETS).tolist() == pytest.approx([0.5, 0.9])
    assert np.isnan(budget_share(v, (None, None, None, None))).all()


def test_cheapest_within_the_noise_of_the_best():
    values = np.array([
        [0.92, 20000, 8000, 5.0],   # best mean; share 0.5 (RAM)
        [0.89, 8000, 3000, 2.0],    # within 0.92 - 0.04; share 0.2 (latency)
        [0.87, 4000, 1000, 1.0],    # 0.87 < 0.88: outside the noise, although cheapest
        [0.90, 6553.6, 4096, 2.5],  # within; share 0.25 (RAM and latency)
    ])
    stds = [0.03, 0.05, 0.02, 0.04]  # median 0.035
    r = recommend(values, np.ones(4, bool), [_attrs(std=s) for s in stds], BUDGETS, "event F1")
    assert r.noise == pytest.approx(0.035) and r.best == 0.92
    # Within 0.92 - 0.035 = 0.885: rows 0, 1, 3; cheapest share: row 1 (0.2).
    assert r.row == 1 and r.n_within == 3 and r.n_candidates == 4 and not r.fallback
    assert r.reason == ("The cheapest trial (it uses at most 20% of any budget) of the 3 whose validation event F1, "
                        "averaged over 3 training seeds, is within the seed noise (0.035: the median standard "
                        "deviation of event F1 between training seeds) of the best (0.920).")
    # Alone within the noise: said so, not "the cheapest of the 1".
    alone = recommend(values, np.ones(4, bool), [_attrs(std=0.001) for _ in stds], BUDGETS, "event F1")
    assert alone.row == 0 and alone.n_within == 1
    assert alone.reason.startswith("The best trial by validation event F1 (0.920, averaged over 3 training seeds) "
                                   "(it uses at most ")
    assert alone.reason.endswith("; no other trial is within the seed noise (0.001: the median standard deviation "
                                 "of event F1 between training seeds) of it.")


def test_flagged_infeasible_and_single_seed_trials_never_compete():
    values = np.array([
        [0.95, 1000, 500, 0.1],    # collapsed: a single class for every validation window
        [0.94, 1000, 500, 0.1],    # no background class although the data has one
        [0.96, 1000, 500, 0.1],    # over budget
        [0.99, 1000, 500, 0.1],    # one seed only (the front passed it by)
        [0.90, 30000, 8000, 6.0],  # the only honest candidate
    ])
    attrs = [_attrs(collapsed=True), _attrs(no_background=True), _attrs(), _attrs(n_seeds=1, std=None), _attrs()]
    feasible = np.array([True, True, False, True, True])
    r = recommend(values, feasible, attrs, BUDGETS)
    assert r.row == 4 and r.best == 0.90 and r.n_candidates == 1


def test_without_any_multi_seed_trial_the_rule_says_so():
    values = np.array([[0.8, 1000, 500, 0.1], [0.7, 500, 200, 0.1]])
    r = recommend(values, np.ones(2, bool), [_attrs(n_seeds=1, std=None)] * 2, BUDGETS)
    assert r.row == 0 and r.fallback and r.noise == 0.0
    # Trial 0's largest share: RAM 500 / 16,384 B = 3 %.
    assert r.reason == ("The best trial by validation F1 (0.800, from one training seed) (it uses at most 3% of any "
                        "budget). No trial was re-scored with more training seeds, so the seed noise is unknown.")


def test_no_candidate_gives_no_recommendation_and_says_why():
    values = np.array([[0.8, 1000, 500, 0.1]])
    r = recommend(values, np.zeros(1, bool), [_attrs()], BUDGETS)
    assert r.row is None and r.reason == "No recommendation: no complete trial fits the budgets."
    r = recommend(values, np.ones(1, bool), [_attrs(collapsed=True)], BUDGETS)
    assert r.row is None and "flagged (a single predicted class, or no background class)" in r.reason
    r = recommend(np.zeros((0, 4)), np.zeros(0, bool), [], BUDGETS)
    assert r.row is None


def test_ties_go_to_the_higher_score_then_the_lower_trial():
    values = np.array([[0.90, 6553.6, 100, 0.1], [0.91, 6553.6, 100, 0.1], [0.91, 6553.6, 100, 0.1]])
    r = recommend(values, np.ones(3, bool), [_attrs(std=0.05)] * 3, BUDGETS)
    assert r.row == 1
