"""Issue 8: hypervolume, feasible front, best within budget and --pick rules,
checked against hand-computed values."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState, create_trial

from automl.errors import ConfigError
from automl.report import (
    build_report_data,
    hypervolume,
    hypervolume_history,
    parse_pick_rule,
    pick_trial,
    render_report,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

DIRECTIONS = ["maximize", "minimize", "minimize", "minimize"]
NAMES = ["macro_f1", "flash_bytes", "ram_bytes", "latency_ms"]


def _inclusion_exclusion(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume by inclusion-exclusion (2^n terms: small n only)."""
    total = 0.0
    for r in range(1, len(points) + 1):
        for subset in itertools.combinations(range(len(points)), r):
            corner = points[list(subset)].max(axis=0)
            total += (-1) ** (r + 1) * float(np.prod(np.clip(ref - corner, 0, None)))
    return total


# --------------------------------------------------------------------------- #
# Hypervolume
# --------------------------------------------------------------------------- #

class TestHypervolume:
    # Two trials, F1 turned into a loss (-F1), reference (F1 0, flash 100 B, RAM 10 B, 1 ms):
    #   A = (F1 0.8, 50 B, 5 B, 0.5 ms): box 0.8 * 50 * 5 * 0.5 = 100
    #   B = (F1 0.6, 20 B, 8 B, 0.2 ms): box 0.6 * 80 * 2 * 0.8 = 76.8
    #   A ∩ B = 0.6 * (100 - 50) * (10 - 8) * (1 - 0.5) = 30
    #   HV = 100 + 76.8 - 30 = 146.8
    A = [-0.8, 50.0, 5.0, 0.5]
    B = [-0.6, 20.0, 8.0, 0.2]
    REF = [0.0, 100.0, 10.0, 1.0]

    def test_hand_computed_4d(self) -> None:
        assert hypervolume(np.array([self.A, self.B]), self.REF) == pytest.approx(146.8)
        assert hypervolume(np.array([self.A]), self.REF) == pytest.approx(100.0)
        # A dominated point and one outside the reference box change nothing.
        more = np.array([self.A, self.B, [-0.5, 60.0, 6.0, 0.6], [-0.9, 150.0, 1.0, 0.1]])
        assert hypervolume(more, self.REF) == pytest.approx(146.8)

    def test_small_cases(self) -> None:
        assert hypervolume(np.zeros((0, 4)), self.REF) == 0.0
        assert hypervolume(np.array([[1.0, 2.0], [2.0, 1.0]]), [3.0, 3.0]) == pytest.approx(3.0)
        assert hypervolume(np.array([[0.25]]), [1.0]) == pytest.approx(0.75)
        with pytest.raises(ValueError, match="shapes"):
            hypervolume(np.ones((2, 3)), [1.0, 1.0])
        with pytest.raises(ValueError, match="NaN"):
            hypervolume(np.array([[np.nan, 1.0]]), [2.0, 2.0])

    @pytest.mark.parametrize("d", [2, 3, 4, 5])
    def test_matches_inclusion_exclusion(self, d: int) -> None:
        rng = np.random.default_rng(d)
        for case in range(25):
            n = int(rng.integers(1, 9))
            pts = rng.random((n, d))
            if case % 2:
                pts = np.round(pts, 1)  # ties in coordinates
            ref = np.full(d, rng.uniform(0.6, 1.2))
            assert hypervolume(pts, ref) == pytest.approx(_inclusion_exclusion(pts, ref), abs=1e-12)
            history = hypervolume_history(pts, ref)
            expected = [_inclusion_exclusion(pts[: i + 1], ref) for i in range(n)]
            assert history == pytest.approx(expected, abs=1e-12)

    def test_large_grid_path_agrees(self, monkeypatch) -> None:
        import automl.report._hypervolume as hv

        pts = np.random.default_rng(0).random((40, 4))
        full = hypervolume(pts, np.ones(4))
        monkeypatch.setattr(hv, "_FULL_GRID_CELLS", 0)  # force the slice-by-slice sweep
        assert hypervolume(pts, np.ones(4)) == pytest.approx(full, rel=1e-12)


def _trial(values, number_time: float, constraints=None, number=None):
    t = create_trial(state=TrialState.COMPLETE, values=values, params={"x": 1},
                     distributions={"x": IntDistribution(0, 3)}, constraints=constraints,
                     user_attrs={"cost": {"breakdown": {"flash": {"model": values[1]}}}})
    t.datetime_start = dt.datetime(2026, 1, 1, 0, 0, 0)
    t.datetime_complete = t.datetime_start + dt.timedelta(seconds=number_time)
    return t


def _study(target: dict | None, trials) -> optuna.Study:
    study = optuna.create_study(directions=DIRECTIONS)
    study.set_user_attr("objective_names", NAMES)
    if target is not None:
        study.set_user_attr("target", target)
    for t in trials:
        study.add_trial(t)
    return study


class TestHypervolumeOfStudy:
    """Trials 0 (A), 1 (dominated by A), 2 (over the flash budget), 3 (B); budgets 100 B, 10 B, 1 ms."""

    TARGET = {"name": "tiny", "flash_bytes": 100, "ram_bytes": 10, "latency_ms": 1.0}

    @pytest.fixture()
    def data(self):
        trials = [
            _trial([0.8, 50, 5, 0.5], 300, {"flash": -50.0}),    # A, completes second
            _trial([0.5, 60, 6, 0.6], 400, {"flash": -40.0}),    # dominated by A, completes third
            _trial([0.9, 150, 5, 0.5], 100, {"flash": 50.0}),    # over the flash budget
            _trial([0.6, 20, 8, 0.2], 200, {"flash": -80.0}),    # B, completes first
        ]
        return build_report_data(_study(self.TARGET, trials))

    def test_value_reference_and_front(self, data) -> None:
        hv = data.hypervolume
        assert hv.reference == (0.0, 100.0, 10.0, 1.0)
        assert hv.reference_source == ("F1 0", "budget", "budget", "budget")
        assert hv.value == pytest.approx(146.8)
        assert hv.normalised == pytest.approx(146.8 / (1 * 100 * 10 * 1))
        assert data.feasible.tolist() == [True, True, False, True]
        assert data.pareto_numbers == [0, 3]
        assert data.n_infeasible == 1

    def test_history_by_number_and_time(self, data) -> None:
        hv = data.hypervolume
        assert hv.numbers.tolist() == [0, 1, 3]
        assert hv.by_number == pytest.approx([0.1, 0.1, 0.1468])
        # By completion: B (200 s) alone 76.8, then A (300 s) -> 146.8, then the dominated one.
        assert hv.seconds.tolist() == [200.0, 300.0, 400.0]
        assert hv.by_time == pytest.approx([0.0768, 0.1468, 0.1468])

    def test_knee_and_best(self, data) -> None:
        # Over the feasible front {A, B} each is best in two objectives and worst in two:
        # distances sqrt(2) and sqrt(2) -> tie -> lowest trial number (0).
        assert data.recommended_number == 0
        assert data.recommended.distance == pytest.approx(math.sqrt(2))
        # Trial 2 has the highest F1 (0.9) but is over budget: best within budget = A.
        assert data.best.number == 0
        assert "highest F1 (0.800) of the 3 trials that fit every budget of tiny" in data.best.reason
        assert data.wall_s == pytest.approx(400.0)

    def test_worst_feasible_reference_without_budget(self) -> None:
        trials = [_trial([0.8, 50, 5, 0.5], 1), _trial([0.6, 20, 8, 0.2], 2)]
        hv = build_report_data(_study({"name": "no budgets"}, trials)).hypervolume
        assert hv.reference == (0.0, 50.0, 8.0, 0.5)
        assert hv.reference_source == ("F1 0", "worst feasible", "worst feasible", "worst feasible")
        # A touches the worst flash and latency, B the worst RAM: both boxes are empty.
        assert hv.value == 0.0

    def test_front_matches_optuna_under_constraints(self, synthetic_study) -> None:
        data = build_report_data(synthetic_study, timeline=False)
        assert data.pareto_numbers == sorted(t.number for t in synthetic_study.best_trials)
        assert data.n_infeasible > 0 and data.front_feasible


class TestBestWithinBudget:
    def test_tie_on_f1_goes_to_less_flash(self) -> None:
        trials = [_trial([0.9, 3000, 5, 0.5], 1), _trial([0.9, 2000, 9, 0.9], 2), _trial([0.8, 100, 1, 0.1], 3)]
        data = build_report_data(_study({"flash_bytes": 65536}, trials))
        assert data.best.number == 1
        assert "2 of them share that F1 and it needs the least flash (2,000 B)" in data.best.reason

    def test_none_when_nothing_fits(self) -> None:
        data = build_report_data(_study({"flash_bytes": 10}, [_trial([0.9, 3000, 5, 0.5], 1)]))
        assert data.best is None and not data.front_feasible
        assert data.hypervolume.value == 0.0
        assert "No complete trial fits the budgets" in render_report(data)  # the best-within-budget card
        assert "No recommendation: no complete trial fits the budgets." in render_report(data)


# --------------------------------------------------------------------------- #
# --pick rules
# --------------------------------------------------------------------------- #

PICK_NUMBERS = np.array([0, 1, 2, 3, 4])
PICK_VALUES = np.array([
    [0.90, 20000, 4000, 2.0],
    [0.92, 30000, 5000, 3.0],
    [0.92, 10000, 6000, 1.0],
    [0.92, 12000, 3000, 2.5],
    [0.70, 5000, 2000, 0.5],
])


class TestPickRule:
    @pytest.mark.parametrize("text, expected", [
        ("F1>=0.9", [(0, ">=", 0.9)]),
        ("f1 >= 90%", [(0, ">=", 0.9)]),
        ("event_f1>0.5,flash<=16k", [(0, ">", 0.5), (1, "<=", 16384.0)]),
        ("flash<=16kB,ram<2KiB", [(1, "<=", 16384.0), (2, "<", 2048.0)]),
        ("flash<1M", [(1, "<", 1048576.0)]),
        ("RAM=2000B", [(2, "==", 2000.0)]),
        ("latency<=5ms", [(3, "<=", 5.0)]),
        ("latency<=500us", [(3, "<=", 0.5)]),
        ("latency_ms<0.002s", [(3, "<", 2.0)]),
    ])
    def test_parse(self, text, expected) -> None:
        rule = parse_pick_rule(text)
        assert [(c.objective, c.op, c.value) for c in rule.clauses] == [
            (o, op, pytest.approx(v)) for o, op, v in expected]

    @pytest.mark.parametrize("text, match", [
        ("", "malformed"),
        ("F1>=", "malformed"),
        ("F1>=0.9,,flash<1k", "malformed"),
        ("F1 0.9", "malformed"),
        ("speed<3", "unknown metric 'speed'"),
        ("flash<=16q", "unknown unit 'q'"),
        ("latency<=5k", "unknown unit 'k'"),
        ("F1>=90", "F1 is a fraction"),
    ])
    def test_malformed_rule_is_config_error_naming_it(self, text, match) -> None:
        with pytest.raises(ConfigError, match=match) as err:
            parse_pick_rule(text)
        assert repr(text) in str(err.value)

    def test_filter_then_best_f1_then_knee_among_ties(self) -> None:
        # F1>=0.9 and flash <= 16384 B keeps rows 2 and 3, both F1 0.92. Over those two:
        # flash 10000 / 12000 -> 0 / 1, RAM 6000 / 3000 -> 1 / 0, latency 1.0 / 2.5 -> 0 / 1;
        # distances 1 and sqrt(2) -> row 2.
        res = pick_trial(parse_pick_rule("F1>=0.9,flash<=16k"), PICK_NUMBERS, PICK_VALUES, DIRECTIONS)
        assert res.number == 2 and res.n_matching == 2 and res.n_tied == 2
        assert res.per_clause == (("F1>=0.9", 4), ("flash<=16k", 3))
        assert "trial 2 is their knee" in res.reason

    def test_three_way_tie(self) -> None:
        # F1>=0.9 keeps rows 0-3; rows 1-3 tie at 0.92. Normalised over them:
        #   row 1: flash 1,   RAM 2/3, latency 1    -> d = sqrt(1 + 4/9 + 1)     = 1.563
        #   row 2: flash 0,   RAM 1,   latency 0    -> d = 1
        #   row 3: flash 0.1, RAM 0,   latency 0.75 -> d = sqrt(0.01 + 0.5625)   = 0.757
        res = pick_trial(parse_pick_rule("F1>=0.9"), PICK_NUMBERS, PICK_VALUES, DIRECTIONS)
        assert res.number == 3 and res.n_tied == 3

    def test_single_match_and_no_match(self) -> None:
        assert pick_trial(parse_pick_rule("latency<1ms"), PICK_NUMBERS, PICK_VALUES, DIRECTIONS).number == 4
        assert pick_trial(parse_pick_rule("ram<=2k"), PICK_NUMBERS, PICK_VALUES, DIRECTIONS).number == 4
        res = pick_trial(parse_pick_rule("ram<2000,F1>=0.5"), PICK_NUMBERS, PICK_VALUES, DIRECTIONS)
        assert res.number is None and res.n_matching == 0
        assert res.reason == ("No feasible trial satisfies 'ram<2000,F1>=0.5' (5 feasible trials; satisfying "
                              "each clause: ram<2000: 0; F1>=0.5: 5).")

    def test_candidates_restrict_the_choice(self) -> None:
        cand = np.array([True, True, False, True, True])  # row 2 infeasible
        res = pick_trial(parse_pick_rule("F1>=0.9,flash<=16k"), PICK_NUMBERS, PICK_VALUES, DIRECTIONS, cand)
        assert res.number == 3 and res.n_tied == 1

    def test_pick_in_report_data(self, synthetic_study) -> None:
        data = build_report_data(synthetic_study, pick="F1>=0.8,flash<=8k", timeline=False)
        assert data.pick is not None and data.pick.number is not None
        chosen = data.values[list(data.numbers).index(data.pick.number)]
        assert chosen[0] >= 0.8 and chosen[1] <= 8192
        ok = data.feasible & (data.values[:, 0] >= 0.8) & (data.values[:, 1] <= 8192)
        assert chosen[0] == data.values[ok, 0].max()
        assert data.pick.number in [r.number for r in data.details]
        page = render_report(data)
        assert "Your rule <code>F1&gt;=0.8,flash&lt;=8k</code>" in page
