"""Plain report data computed from an Optuna study, before any drawing.

Like ``optuna/visualization/_pareto_front.py`` (``_ParetoFrontInfo``), the
report first reduces the study to a :class:`ReportData` of plain Python and
NumPy values; :mod:`automl.report._html` only draws it. Tests check this data,
not pixels.

Trial attributes are read as defined in ``docs/CONTRACTS.md``: values
``[val F1, flash_bytes, ram_bytes, latency_ms]`` with directions
``[maximize, minimize, minimize, minimize]``; user_attrs ``val_metrics``,
``test_metrics``, ``val_events``, ``test_events``, ``test_events_by_capture``
(optional), ``cost``, ``pipeline``, ``artifact_dir``, ``duration_s``; a FAIL
trial has ``fail_reason``. Budgets are Optuna constraints
(``FrozenTrial.constraints``, feasible when all <= 0) and the target profile's
``flash_bytes`` / ``ram_bytes`` / ``latency_ms``.

The study is read once (``get_trials(deepcopy=False)``), so a report of a
running search is one consistent snapshot; RUNNING trials are counted, not drawn.
"""

from __future__ import annotations

import datetime as _dt
import math
import shlex
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.study import StudyDirection
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from automl.search._records import exact_values, trial_detail

from ._hypervolume import hypervolume, hypervolume_history, nondominated_indices
from ._pick import PickResult, PickRule, parse_pick_rule, pick_trial
from ._recommend import RecommendationRule, recommend
from ._timeline import TimelineData, load_timeline

DEFAULT_OBJECTIVE_NAMES = ("macro_f1", "flash_bytes", "ram_bytes", "latency_ms")

#: Display label and unit of each objective named in the contract.
OBJECTIVE_LABELS = {
    "macro_f1": "validation macro F1",
    "event_f1": "validation event F1",
    "flash_bytes": "flash [bytes]",
    "ram_bytes": "RAM [bytes]",
    "latency_ms": "latency [ms]",
}

#: Short axis / column names of the objectives.
OBJECTIVE_SHORT = {"macro_f1": "F1", "event_f1": "event F1", "flash_bytes": "flash",
                   "ram_bytes": "RAM", "latency_ms": "latency"}

#: Trial states in the order the summary lists them.
STATE_ORDER = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")

#: Fewest complete trials for a parameter importance estimate.
MIN_IMPORTANCE_TRIALS = 5
#: Below this many trained trials the importance chart says it is a rough guess. Optuna's fANOVA
#: evaluator fits a random forest to the trials; with 8 trials of a 12-parameter space every split
#: rests on one or two points (a demo run gave importance 0.13 to a parameter no trial used).
RELIABLE_IMPORTANCE_TRIALS = 30

#: Trials off the front (and not detailed) listed and drawn at most: an even sample by trial number.
#: ~1 KB of table row and hover text each; with plotly.js (4.8 MB) and ~10 KB per front trial's
#: details the page stays near 10 MB whatever the study's size (benchmarks/storage.py measures it).
MAX_SAMPLE = 1000

#: At most this many parameters are drawn as parallel-coordinate axes.
MAX_PARCOORDS_PARAMS = 8

#: ``pipeline`` keys summarised as a trial's "main params", in this order.
_MAIN_PIPELINE_KEYS = ("window_size", "slide", "magnitude", "layers", "dropout",
                       "learning_rate", "quantization")


# --------------------------------------------------------------------------- #
# Multi-objective helpers (pure NumPy)
# --------------------------------------------------------------------------- #

def _as_minimisation(points: np.ndarray, directions: Sequence[StudyDirection | str]) -> np.ndarray:
    """Return ``points`` with every maximised column negated (all columns minimised)."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2:
        raise ValueError(
            f"points must be a 2-D array (n_points, n_objectives); got shape {points.shape}."
        )
    if points.shape[1] != len(directions):
        raise ValueError(
            f"Found {points.shape[1]} objective columns but {len(directions)} directions."
        )
    sign = np.array([-1.0 if _is_maximize(d) else 1.0 for d in directions])
    return points * sign


def _is_maximize(direction: StudyDirection | str) -> bool:
    if isinstance(direction, StudyDirection):
        return direction == StudyDirection.MAXIMIZE
    name = str(direction).lower()
    if name not in ("maximize", "minimize"):
        raise ValueError(
            f"The 'directions' entries must be 'maximize' or 'minimize'. Got {direction!r} instead."
        )
    return name == "maximize"


def pareto_front(values: np.ndarray, directions: Sequence[StudyDirection | str]) -> np.ndarray:
    """Indices of the non-dominated rows of ``values``.

    Row ``a`` dominates row ``b`` when ``a`` is at least as good in every
    objective and strictly better in one. Duplicate rows do not dominate each
    other, so all copies of a non-dominated point are on the front (as in
    ``optuna.Study.best_trials``).

    Args:
        values: ``(n_points, n_objectives) float64``, objective values in their
            own units (e.g. F1 fraction, bytes, ms).
        directions: ``n_objectives`` of ``"maximize"`` / ``"minimize"`` (or
            :class:`optuna.study.StudyDirection`).

    Returns:
        ``(n_front,) int64`` indices into ``values``, ascending.

    Example:
        >>> pareto_front(np.array([[0.9, 10.0], [0.8, 20.0], [0.7, 5.0]]),
        ...              ["maximize", "minimize"]).tolist()
        [0, 2]
    """
    return nondominated_indices(_as_minimisation(values, directions))


def normalise_front(points: np.ndarray, directions: Sequence[StudyDirection | str]) -> np.ndarray:
    """Scale each objective over ``points`` to [0, 1] with 0 = best, 1 = worst.

    Every objective is first turned into minimisation; then
    ``(f - min) / (max - min)`` over the rows of ``points``. An objective that
    is constant over ``points`` is 0 for every row (it cannot discriminate).

    Args:
        points: ``(n_points, n_objectives) float64``, objective values in their
            own units.
        directions: ``n_objectives`` directions.

    Returns:
        ``(n_points, n_objectives) float64`` in [0, 1], dimensionless.
    """
    loss = _as_minimisation(points, directions)
    if loss.shape[0] == 0:
        return loss
    lo = loss.min(axis=0)
    span = loss.max(axis=0) - lo
    safe = np.where(span > 0, span, 1.0)
    return np.where(span > 0, (loss - lo) / safe, 0.0)


def knee(points: np.ndarray, directions: Sequence[StudyDirection | str]) -> int:
    """Index of the knee (compromise solution) of a Pareto front.

    Definition: normalise every objective over ``points`` to [0, 1] with all
    objectives turned into minimisation (:func:`normalise_front`; 0 is the
    best value on the front, 1 the worst); the knee is the point with the
    smallest Euclidean distance to the ideal point ``(0, ..., 0)``. This is the
    *compromise solution* of compromise programming / the method of the global
    criterion with the L2 metric (M. Zeleny, "Compromise programming", in
    *Multiple Criteria Decision Making*, 1973, pp. 262-301; K. Miettinen,
    *Nonlinear Multiobjective Optimization*, Kluwer 1999, Part II, Sec. 2.1).
    It is not the "maximum bulge" knee of Das (1999) or Branke et al. (2004).

    Ties (distances equal within 1e-12) go to the lowest index; callers pass
    rows in ascending trial number, so ties go to the lowest trial number.

    Args:
        points: ``(n_points, n_objectives) float64``, the Pareto front in
            objective units; at least one row.
        directions: ``n_objectives`` directions.

    Returns:
        Row index into ``points``.

    Raises:
        ValueError: if ``points`` has no rows.

    Example:
        >>> knee(np.array([[1.0, 100.0], [0.9, 10.0], [0.5, 1.0]]),
        ...      ["maximize", "minimize"])
        1
    """
    distances = knee_distances(points, directions)
    if distances.size == 0:
        raise ValueError("knee() needs at least one point; got an empty front.")
    return int(np.flatnonzero(distances <= distances.min() + 1e-12)[0])


def knee_distances(points: np.ndarray, directions: Sequence[StudyDirection | str]) -> np.ndarray:
    """``(n_points,) float64`` Euclidean distance of each normalised point to the ideal point."""
    return np.sqrt(np.sum(normalise_front(points, directions) ** 2, axis=1))


# --------------------------------------------------------------------------- #
# Plain data objects
# --------------------------------------------------------------------------- #

@dataclass(frozen=True)
class TrialRow:
    """One row of the table of all trials.

    Attributes:
        number: Optuna trial number.
        state: ``"COMPLETE"``, ``"FAIL"``, ``"PRUNED"``, ``"RUNNING"`` or ``"WAITING"``.
        values: the objective values (contract order and units) or ``None``.
        test_f1: held-out test F1 (fraction) of the same kind as objective 0
            (event F1 for ``event_f1`` studies, else macro F1), or ``None``.
        params: the Optuna params, sorted by name.
        main_params: one-line summary of the pipeline (or params) for display.
        fail_reason: one line for FAIL trials, else ``None``.
        on_front: the trial is on the Pareto front.
        over_budget: names of objectives whose budget the trial exceeds.
        feasible: a COMPLETE trial meeting every constraint and budget
            (``False`` for other states).
        duration_s: wall seconds of the trial (user_attr ``duration_s``, else
            Optuna's start-to-complete time), or ``None``.
        trained: a COMPLETE trial whose model was trained (an over-budget
            trial is recorded untrained, with F1 0, which is not a score).
        seed_scores: objective 0 per training seed (the value is their mean).
        f1_std: their standard deviation, or ``None`` (one seed).
        flags: :func:`trial_flags` of the trial.
    """

    number: int
    state: str
    values: tuple[float, ...] | None
    test_f1: float | None
    params: dict[str, Any]
    main_params: str
    fail_reason: str | None
    on_front: bool = False
    over_budget: tuple[str, ...] = ()
    feasible: bool = False
    duration_s: float | None = None
    trained: bool = False
    seed_scores: tuple[float, ...] = ()
    f1_std: float | None = None
    flags: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        """What the table's note column says: the failure, "not trained", or the flags."""
        if self.fail_reason is not None:
            return self.fail_reason
        parts = []
        if self.state == "COMPLETE" and not self.trained:
            parts.append(f"not trained: over budget ({', '.join(self.over_budget) or 'a constraint'})")
        return "; ".join(parts + list(self.flags))


@dataclass(frozen=True)
class ConfusionTable:
    """A confusion matrix laid out like SensiML's: rows true, columns predicted.

    Attributes:
        classes: ``n_classes`` class names.
        counts: ``(n_classes, n_classes) int64`` window counts, rows true,
            columns predicted.
        sensitivity: ``(n_classes,) float64`` row recall in percent over the
            row's support (unknown windows included; NaN for an empty row).
        pos_pred: ``(n_classes,) float64`` column precision in percent (NaN
            for an empty column).
        accuracy: overall accuracy in percent (NaN when there are no windows).
        unknown: ``(n_classes,) int64`` windows of each true class predicted
            as no class (top probability below the unknown threshold), or
            ``None`` when the metrics carry no ``unknown`` column.
    """

    classes: tuple[str, ...]
    counts: np.ndarray
    sensitivity: np.ndarray
    pos_pred: np.ndarray
    accuracy: float
    unknown: np.ndarray | None = None

    @property
    def unknown_counts(self) -> np.ndarray:
        """``(n_classes,) int64`` the UNK column (zeros if not recorded)."""
        if self.unknown is None:
            return np.zeros(len(self.classes), dtype=np.int64)
        return self.unknown

    @property
    def row_totals(self) -> np.ndarray:
        """``(n_classes,) int64`` windows per true class (support, unknown included)."""
        return self.counts.sum(axis=1) + self.unknown_counts

    @property
    def col_totals(self) -> np.ndarray:
        """``(n_classes,) int64`` windows per predicted class."""
        return self.counts.sum(axis=0)

    @property
    def total(self) -> int:
        return int(self.counts.sum() + self.unknown_counts.sum())


@dataclass(frozen=True)
class PipelineView:
    """A trial's pipeline as the report shows it (old and new ``pipeline`` formats).

    Attributes:
        segmenter: ``(name, value)`` pairs, ``kind`` first, then its parameters
            (lengths in samples).
        families: feature families switched on.
        features: ``(selected feature name, ExtraTrees importance or None)`` in
            model input order.
        n_features_total: features generated before selection, or ``None``.
        scaler: one line describing the scaler.
        layers: hidden layer widths.
        n_outputs: output classes.
        quantization: ``"int8"`` / ``"float32"`` (``"–"`` if unknown).
        other: further ``(name, value)`` facts (dropout, learning rate,
            epochs, quantisation scales, model bytes).
    """

    segmenter: tuple[tuple[str, str], ...]
    families: tuple[str, ...]
    features: tuple[tuple[str, float | None], ...]
    n_features_total: int | None
    scaler: str
    layers: tuple[int, ...]
    n_outputs: int | None
    quantization: str
    other: tuple[tuple[str, str], ...]

    @property
    def layer_text(self) -> str:
        """``"16 → 12 → 8 → 4"``: inputs, hidden widths, outputs (``"16 → 4 (no hidden layer: ...)"``)."""
        parts = [str(len(self.features))] if self.features else ["?"]
        parts += [str(w) for w in self.layers]
        parts.append(str(self.n_outputs) if self.n_outputs else "?")
        return " → ".join(parts) + ("" if self.layers else " (no hidden layer: a linear softmax classifier)")


@dataclass(frozen=True)
class CaptureEvents:
    """Held-out device event metrics of one held-out capture of a trial (a row of its per-capture table).

    Attributes:
        capture: the held-out capture's name.
        group: its group by the study's ``group_by`` metadata (the values
            joined by "/", study user_attr ``test_capture_groups``), or
            ``None`` (grouped by capture, or a study from before it was recorded).
        events: its device event metrics as recorded (keys of
            :func:`automl.metrics.device_event_metrics`: fractions 0..1, counts,
            ``false_activations_per_hour``); a key may be missing.
    """

    capture: str
    group: str | None
    events: dict[str, Any]


@dataclass(frozen=True)
class Recommendation:
    """One trial shown in detail (the recommended, the best under budget, a pick, any Pareto trial).

    Attributes:
        number: trial number.
        values: objective values (contract order and units).
        distance: Euclidean distance to the ideal point in units normalised
            over the Pareto front (:func:`knee_distances`), NaN off the front.
        val_metrics / test_metrics: contract metric dicts (``test_metrics`` may be ``None``).
        val_confusion / test_confusion: confusion tables, ``None`` if absent.
        cost: contract ``cost`` dict (may be empty).
        pipeline: contract ``pipeline`` dict (may be empty).
        params: Optuna params.
        export_command: the ``automl export`` command line for this trial.
        fits_budget: ``False`` when no trial fits the target budgets and this
            trial was chosen from the whole front.
        val_events / test_events / trigger_diagnostics: event-level metrics
            (trigger problems), ``None`` if absent.
        test_by_capture: the held-out device event metrics of each held-out
            capture (trial attribute ``test_events_by_capture``, recorded
            order); empty when absent (no background class, or a study from
            before it was recorded).
        reason: one sentence saying why the trial is recommended ("" for a
            plain Pareto trial).
        feasible: the trial meets every constraint and budget.
        over_budget: names of the objectives over budget.
        breakdown: ``{"flash" | "ram" | "cycles": ((component, amount), ...)}``
            from ``cost.breakdown`` (bytes or cycles), largest first.
        view: the pipeline as shown, or ``None`` without a ``pipeline`` attr.
        duration_s: wall seconds of the trial, or ``None``.
        artifact_dir: the artifact folder relative to the study folder, or ``None``.
        seed_scores: objective 0 per training seed (``values[0]`` is their mean).
        f1_std: their standard deviation (``ddof=1``), or ``None`` with one seed.
        flags: :func:`trial_flags` of the trial.
    """

    number: int
    values: tuple[float, ...]
    distance: float
    val_metrics: dict[str, Any]
    test_metrics: dict[str, Any] | None
    val_confusion: ConfusionTable | None
    test_confusion: ConfusionTable | None
    cost: dict[str, Any]
    pipeline: dict[str, Any]
    params: dict[str, Any]
    export_command: str
    fits_budget: bool = True
    val_events: dict[str, Any] | None = None
    test_events: dict[str, Any] | None = None
    trigger_diagnostics: dict[str, Any] | None = None
    reason: str = ""
    feasible: bool = True
    over_budget: tuple[str, ...] = ()
    breakdown: dict[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    view: PipelineView | None = None
    duration_s: float | None = None
    artifact_dir: str | None = None
    seed_scores: tuple[float, ...] = ()
    f1_std: float | None = None
    flags: tuple[str, ...] = ()
    test_by_capture: tuple[CaptureEvents, ...] = ()


#: user_attr -> what the report says about a trial that has it (issue 15: never recommended).
FLAGS = {
    "collapsed": "collapsed: one class for every validation window",
    "collapsed_test": "collapsed on the held-out windows: one class for all",
    "no_background": "no background class although the data has one",
}


def trial_flags(user_attrs: Mapping[str, Any]) -> tuple[str, ...]:
    """The warnings a trial carries (:data:`FLAGS` whose user attribute is true), in that order."""
    return tuple(text for key, text in FLAGS.items() if user_attrs.get(key))


def _seeds(user_attrs: Mapping[str, Any]) -> tuple[tuple[float, ...], float | None]:
    scores = tuple(float(v) for v in user_attrs.get("seed_scores") or () if _is_number(v))
    std = user_attrs.get("f1_std")
    return scores, float(std) if _is_number(std) else None


@dataclass(frozen=True)
class HypervolumeInfo:
    """Hypervolume of the feasible front and its history.

    Every objective is turned into minimisation (F1 -> -F1). The reference
    point is F1 0 and, per cost, its budget or (without one) the worst value
    among the feasible trials. ``normalised`` divides by the volume of the box
    between the utopia point (F1 1, every cost 0) and the reference point, so
    it is a fraction in [0, 1].

    Attributes:
        reference: ``n_objectives`` reference values in objective units
            (F1 fraction, bytes, ms), not negated.
        reference_source: per objective ``"F1 0"``, ``"budget"`` or ``"worst feasible"``.
        value: hypervolume in the product of the objective units.
        normalised: ``value`` over the utopia-reference box volume, or ``None``
            when that box is empty.
        numbers: ``(n_feasible,) int64`` feasible trial numbers, ascending.
        by_number: ``(n_feasible,) float64`` normalised hypervolume of the
            feasible trials with number <= ``numbers[i]``.
        seconds: ``(n_feasible,) float64`` completion time of each feasible
            trial in seconds since the first trial started, ascending.
        by_time: ``(n_feasible,) float64`` normalised hypervolume of the
            feasible trials complete by ``seconds[i]``.
    """

    reference: tuple[float, ...]
    reference_source: tuple[str, ...]
    value: float
    normalised: float | None
    numbers: np.ndarray
    by_number: np.ndarray
    seconds: np.ndarray
    by_time: np.ndarray


@dataclass(frozen=True)
class ImportanceInfo:
    """fANOVA parameter importances per objective.

    Attributes:
        params: parameter names, most important (mean over objectives) first.
        values: ``(n_params, n_objectives) float64`` importance fractions
            (each objective's column sums to 1), or shape ``(0, n_objectives)``.
        note: why there are no importances ("" when there are).
        n_trials: complete trials the estimate used (for objective 0: the trained ones).
        n_trained: trained trials among them (the F1 column's sample).
    """

    params: tuple[str, ...]
    values: np.ndarray
    note: str
    n_trials: int
    n_trained: int | None = None

    @property
    def caveat(self) -> str:
        """A sentence when the estimate rests on too few trials to rank parameters ("" otherwise)."""
        n = self.n_trials if self.n_trained is None else min(self.n_trials, self.n_trained)
        if not self.params or n >= RELIABLE_IMPORTANCE_TRIALS:
            return ""
        return (f"Only {n} trained trials: fANOVA fits its forest to that few points, so these importances are "
                f"a rough guess (values like 0.1 are within the noise); read them from about "
                f"{RELIABLE_IMPORTANCE_TRIALS} trained trials on.")


@dataclass(frozen=True)
class ParamAxis:
    """One parameter as a parallel-coordinates axis.

    Attributes:
        name: parameter name.
        values: ``(n_complete,) float64``: numeric values, or the index into
            ``ticktext`` for categorical parameters.
        ticktext: category labels (categorical), else ``None``.
        log: the parameter was searched on a log scale.
        integer: an integer parameter (its axis gets whole-number ticks).
    """

    name: str
    values: np.ndarray
    ticktext: tuple[str, ...] | None = None
    log: bool = False
    integer: bool = False


@dataclass(frozen=True)
class ReportData:
    """Everything the HTML report shows, as plain data.

    Attributes:
        study_name: Optuna study name.
        dataset, data_source: study user_attrs (``None`` if absent).
        target: the target profile dict (study user_attr ``target``), or ``{}``.
        budgets: ``n_objectives`` budgets (upper bounds, objective units) or
            ``None`` per objective; read from ``target`` by :func:`read_budgets`.
        classes: class names (study user_attr ``classes``).
        objective_names: ``n_objectives`` names, contract order.
        directions: ``n_objectives`` of ``"maximize"`` / ``"minimize"``.
        state_counts: trials per state name (every state in :data:`STATE_ORDER`).
        n_trials: total number of trials.
        rows: one :class:`TrialRow` per trial, ascending number.
        numbers: ``(n_complete,) int64`` trial numbers of the complete trials
            with finite values, ascending.
        values: ``(n_complete, n_objectives) float64`` their objective values.
        pareto: ``(n_front,) int64`` indices into ``numbers`` / ``values`` of the
            Pareto front of the feasible trials (of all complete trials when
            none is feasible, see ``front_feasible``).
        recommended_row: index into ``numbers`` / ``values`` of the recommended trial, or ``None``.
        recommended: the trial :mod:`automl.report._recommend` recommends (its
            reason in ``rule``), or ``None`` when none qualifies.
        study_attrs_extra: other displayable study facts (``space_path``, ``test_glob``).
        feasible: ``(n_complete,) bool`` meets every Optuna constraint and budget.
        trained: ``(n_complete,) bool`` the trial's model was trained (over-budget
            trials are recorded untrained, with F1 0: drawn nowhere F1 is plotted).
        front_feasible: ``pareto`` is the front of feasible trials.
        best: the feasible trial with the highest F1 (ties: less flash), or ``None``.
        pick: what the ``--pick`` rule selects, or ``None`` without a rule.
        details: every Pareto trial plus the recommended, best and pick, ascending number.
        hypervolume: of the feasible front, or ``None`` without complete trials
            (or when built without it).
        importance: parameter importances per objective.
        parcoords: parameters drawn as parallel-coordinate axes.
        wall_s: first trial start to last completion (s), or ``None``.
        started, finished: those two instants, or ``None``.
        complete_s: ``(n_complete,) float64`` completion time of each complete
            trial (s since ``started``; NaN if unknown).
        space_rows: ``(parameter, searched values)`` of the search space: the
            searched ones from the trials' distributions (a conditional one says
            in how many complete trials it was used), then the fixed ones
            (study attribute ``fixed_params``).
        timeline: the recommended trial replayed on a held-out capture, or ``None``.
        timeline_note: why ``timeline`` is ``None`` ("" otherwise).
        capture_group_by: the ``group_by`` metadata keys joined by "/" when the
            study recorded a group per held-out capture (``test_capture_groups``),
            else ``None``.
        export_root: ``--root`` for the export command (``None``: the default ``studies``).
        snapshot: when the trials were read (local time).
        shown: ``(n_complete,) bool`` complete trials drawn and listed: every
            Pareto and detailed trial, and an even sample of the others
            (:data:`MAX_SAMPLE`); ``rows`` holds the shown trials of every state.
    """

    study_name: str
    dataset: str | None
    data_source: str | None
    target: dict[str, Any]
    budgets: tuple[float | None, ...]
    classes: tuple[str, ...]
    objective_names: tuple[str, ...]
    directions: tuple[str, ...]
    state_counts: dict[str, int]
    n_trials: int
    rows: list[TrialRow]
    numbers: np.ndarray
    values: np.ndarray
    pareto: np.ndarray
    recommended_row: int | None
    recommended: Recommendation | None
    rule: RecommendationRule | None = None
    study_attrs_extra: dict[str, str] = field(default_factory=dict)
    feasible: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    trained: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    front_feasible: bool = True
    best: Recommendation | None = None
    pick: PickResult | None = None
    details: list[Recommendation] = field(default_factory=list)
    hypervolume: HypervolumeInfo | None = None
    importance: ImportanceInfo | None = None
    parcoords: list[ParamAxis] = field(default_factory=list)
    wall_s: float | None = None
    started: _dt.datetime | None = None
    finished: _dt.datetime | None = None
    complete_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    space_rows: list[tuple[str, str]] = field(default_factory=list)
    timeline: TimelineData | None = None
    timeline_note: str = ""
    export_root: str | None = None
    snapshot: _dt.datetime | None = None
    shown: np.ndarray | None = None
    capture_group_by: str | None = None

    @property
    def shown_mask(self) -> np.ndarray:
        """``(n_complete,) bool`` complete trials drawn (all when not set)."""
        if self.shown is None or self.shown.shape[0] != self.n_complete:
            return np.ones(self.n_complete, dtype=bool)
        return self.shown

    @property
    def plotted_mask(self) -> np.ndarray:
        """``(n_complete,) bool`` complete trials drawn where F1 is plotted: shown and trained."""
        trained = self.trained if self.trained.shape[0] == self.n_complete else np.ones(self.n_complete, bool)
        return self.shown_mask & trained

    @property
    def n_hidden(self) -> int:
        """Trials neither listed nor drawn (the report shows a sample of the dominated ones)."""
        return self.n_trials - len(self.rows)

    @property
    def n_complete(self) -> int:
        return int(self.numbers.shape[0])

    @property
    def n_feasible(self) -> int:
        return int(np.sum(self.feasible))

    @property
    def n_infeasible(self) -> int:
        """Complete trials over a budget or constraint."""
        return self.n_complete - self.n_feasible

    @property
    def n_untrained(self) -> int:
        """Complete trials recorded without training (over budget)."""
        return self.n_complete - int(np.sum(self.trained)) if self.trained.shape[0] == self.n_complete else 0

    @property
    def pareto_numbers(self) -> list[int]:
        """Trial numbers on the Pareto front, ascending."""
        return [int(self.numbers[i]) for i in self.pareto]

    @property
    def recommended_number(self) -> int | None:
        """Trial number of the recommended trial, or None."""
        return None if self.recommended_row is None else int(self.numbers[self.recommended_row])

    def objective_label(self, i: int) -> str:
        name = self.objective_names[i]
        return OBJECTIVE_LABELS.get(name, name)

    def objective_short(self, i: int) -> str:
        name = self.objective_names[i]
        return OBJECTIVE_SHORT.get(name, name)


# --------------------------------------------------------------------------- #
# Building
# --------------------------------------------------------------------------- #

def read_budgets(target: Mapping[str, Any], objective_names: Sequence[str]) -> tuple[float | None, ...]:
    """Upper bounds per objective from a target profile, ``None`` where not given.

    The profile format is owned by the search stage; this accepts, for an
    objective named e.g. ``flash_bytes``: ``target["budgets"]["flash_bytes"]``,
    ``target["max_flash_bytes"]`` or ``target["flash_bytes"]`` (first found).
    Maximised objectives (F1) get no budget.
    """
    nested = target.get("budgets") if isinstance(target.get("budgets"), Mapping) else {}
    out: list[float | None] = []
    for name in objective_names:
        value = None
        for source, key in ((nested, name), (target, f"max_{name}"), (target, name)):
            if key in source and _is_number(source[key]):
                value = float(source[key])
                break
        out.append(value)
    return tuple(out)


def build_report_data(study: optuna.Study, study_dir: Path | None = None,
                      pick: str | PickRule | None = None, *, timeline: bool = True, importance: bool = True,
                      hypervolume: bool = True, timeline_capture: str | None = None,
                      export_root: str | Path | None = None) -> ReportData:
    """Reduce ``study`` to a :class:`ReportData` (one snapshot of its trials).

    Args:
        study: a multi-objective study following ``docs/CONTRACTS.md``.
        study_dir: the study folder (``<root>/<study>``). Needed to replay the
            recommended trial's model on a held-out capture (``timeline``)
            and to name ``--root`` in the export commands; without it the
            timeline section says so.
        pick: a ``--pick`` rule (text or parsed), e.g. ``"F1>=0.9,flash<=16k"``.
        timeline: replay the recommended trial on a held-out capture (reads the data and
            the model; set ``False`` to skip).
        timeline_capture: the held-out capture to replay (default: the first).
        importance: estimate fANOVA parameter importances (seconds at 1,000
            trials; ``False`` when only the recommendation is needed).
        hypervolume: compute the front's hypervolume and its history (most of
            the time of a summary at thousands of trials; ``False`` when only
            the recommendation is needed: ``hypervolume`` is then None).
        export_root: ``--root`` for the export commands (default:
            ``study_dir``'s parent; omitted when it is ``studies``).

    Returns:
        The report data. A study without complete trials gives an empty front,
        ``recommended_row=None`` and ``recommended=None``.

    Raises:
        ValueError: if the study's objective names and directions disagree in number.
        ConfigError: if ``pick`` is a malformed rule.
    """
    rule = parse_pick_rule(pick) if isinstance(pick, str) else pick
    snapshot = _dt.datetime.now()
    trials = study.get_trials(deepcopy=False)  # the one read of the study's trials
    attrs = dict(study.user_attrs)
    directions = tuple("maximize" if d == StudyDirection.MAXIMIZE else "minimize"
                       for d in study.directions)
    names = tuple(attrs.get("objective_names") or DEFAULT_OBJECTIVE_NAMES)
    if len(names) != len(directions):
        if "objective_names" in attrs:
            raise ValueError(
                f"Study {study.study_name!r} has {len(directions)} objectives but its "
                f"user_attr 'objective_names' lists {len(names)}: {list(names)}."
            )
        names = tuple(f"objective_{i}" for i in range(len(directions)))
    target = attrs.get("target") if isinstance(attrs.get("target"), Mapping) else {}
    budgets = read_budgets(target, names)
    budgets = tuple(None if _is_maximize(d) else b for b, d in zip(budgets, directions))
    if export_root is None and study_dir is not None:
        export_root = Path(study_dir).parent
    root_text = None if export_root is None or Path(export_root) == Path("studies") else str(export_root)

    trials = sorted(trials, key=lambda t: t.number)
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None
                and len(t.values) == len(directions)
                and all(_is_number(v) and math.isfinite(v) for v in t.values)]
    numbers = np.array([t.number for t in complete], dtype=np.int64)
    # The exact costs: the sampler was told them rounded up (search.cost_resolution).
    values = np.array([exact_values(t, names) for t in complete], dtype=np.float64).reshape(
        len(complete), len(directions))

    def over(vals: Sequence[float] | None) -> tuple[str, ...]:
        if vals is None:
            return ()
        return tuple(n for n, v, b in zip(names, vals, budgets) if b is not None and v > b)

    feasible = np.array([not over(values[i]) and all(c <= 0.0 for c in t.constraints.values())
                         for i, t in enumerate(complete)], dtype=bool)
    trained = np.array([not t.user_attrs.get("infeasible") for t in complete], dtype=bool)
    front_feasible = bool(feasible.any()) or not complete
    pool_rows = np.flatnonzero(feasible) if feasible.any() else np.arange(len(complete))
    front = pool_rows[pareto_front(values[pool_rows], directions)] if len(complete) else \
        np.zeros(0, dtype=np.int64)
    front = np.sort(front).astype(np.int64)
    front_set = {int(i) for i in front}
    index_of = {t.number: i for i, t in enumerate(complete)}

    counts = {s: 0 for s in STATE_ORDER}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1

    study_classes = tuple(attrs.get("classes") or ())
    groups = attrs.get("test_capture_groups") if isinstance(attrs.get("test_capture_groups"), Mapping) else {}
    distances = np.full(len(complete), np.nan)
    if front.size:
        distances[front] = knee_distances(values[front], directions)

    read: dict[int, dict] = {}  # each trial's trial.json once, however many cards show it

    def detail(i: int, reason: str = "", fits: bool = True) -> Recommendation:
        if i not in read:
            read[i] = trial_detail(study_dir, complete[i])
        return _recommendation(complete[i], read[i], values[i], study.study_name,
                               float(distances[i]), fits, study_classes,
                               reason=reason, feasible=bool(feasible[i]), over_budget=over(values[i]),
                               root=root_text, groups=groups)

    rec_row: int | None = None
    recommended = best = None
    chosen: dict[int, Recommendation] = {}
    rule_result = recommend(values, feasible, [complete[i].user_attrs for i in range(len(complete))], budgets,
                            OBJECTIVE_SHORT.get(names[0], names[0]))
    if rule_result.row is not None:
        rec_row = rule_result.row
        recommended = detail(rec_row, f"Trial {int(numbers[rec_row])}: {rule_result.reason[0].lower()}"
                             f"{rule_result.reason[1:]}", True)
        chosen[rec_row] = recommended
    if feasible.any():
        b = _best_under_budget(values, feasible, directions)
        best = detail(b, _best_reason(int(numbers[b]), values, feasible, b, names, budgets,
                                      str(target.get("name") or "the target")))
    pick_result = None
    if rule is not None:  # only feasible (so trained) trials: an over-budget trial is never picked
        pick_result = pick_trial(rule, numbers, values, directions, feasible, "feasible")
    details: dict[int, Recommendation] = {}
    for i in front:
        details[int(i)] = chosen.get(int(i)) or detail(int(i))
    if best is not None:
        details.setdefault(index_of[best.number], best)
    if pick_result is not None and pick_result.number is not None:
        p = index_of[pick_result.number]
        details.setdefault(p, detail(p, pick_result.reason))

    # Shown in full: the front and every detailed trial; the others as an even sample (the page's size
    # must not grow with the study: 70,000 trials are ~220 MB of table and points).
    keep = {int(numbers[i]) for i in (*front, *details)}
    shown = keep | set(even_sample([t.number for t in trials if t.number not in keep], MAX_SAMPLE))
    rows = [_row(t, values[index_of[t.number]] if t.number in index_of else t.values,
                 index_of.get(t.number) in front_set, over,
                 bool(feasible[index_of[t.number]]) if t.number in index_of else False,
                 events=names[0] == "event_f1")
            for t in trials if t.number in shown]
    shown_complete = np.array([int(n) in shown for n in numbers], dtype=bool)

    starts = [t.datetime_start for t in trials if t.datetime_start is not None]
    ends = [t.datetime_complete for t in trials if t.datetime_complete is not None]
    started = min(starts) if starts else None
    finished = max(ends) if ends else None
    wall_s = (finished - started).total_seconds() if started and finished else None
    complete_s = np.array([(t.datetime_complete - started).total_seconds()
                           if started and t.datetime_complete else np.nan for t in complete])

    hv = _hypervolume_info(values, feasible, numbers, complete_s, directions, names, budgets) \
        if complete and hypervolume else None
    sample = even_sample(list(range(len(complete))), MAX_SAMPLE)
    importance = (_importances(study, [complete[i] for i in sample], names, trained[sample])
                  if importance else None)
    timeline_data, timeline_note = None, ""
    if recommended is None:
        timeline_note = "No complete trial, so there is no model to replay."
    elif not timeline:
        timeline_note = "Skipped (the report was built with the timeline switched off)."
    else:
        timeline_data, timeline_note = load_timeline(
            None if study_dir is None else Path(study_dir), attrs, recommended.number,
            recommended.artifact_dir, timeline_capture)

    extra = {k: str(attrs[k]) for k in ("space_path", "test_glob") if attrs.get(k) is not None}
    extra.update(_data_facts(attrs))
    return ReportData(
        study_name=study.study_name,
        dataset=_opt_str(attrs.get("dataset")),
        data_source=_opt_str(attrs.get("data_source")),
        target=dict(target),
        budgets=budgets,
        classes=tuple(str(c) for c in attrs.get("classes") or ()),
        objective_names=names,
        directions=directions,
        state_counts=counts,
        n_trials=len(trials),
        rows=rows,
        numbers=numbers,
        values=values,
        pareto=front,
        recommended_row=rec_row,
        recommended=recommended,
        rule=rule_result,
        study_attrs_extra=extra,
        feasible=feasible,
        trained=trained,
        front_feasible=front_feasible,
        best=best,
        pick=pick_result,
        details=[details[i] for i in sorted(details, key=lambda i: int(numbers[i]))],
        hypervolume=hv,
        importance=importance,
        parcoords=_parcoords_axes([t for t, on in zip(complete, shown_complete & trained) if on], importance),
        shown=shown_complete,
        wall_s=wall_s,
        started=started,
        finished=finished,
        complete_s=complete_s,
        space_rows=_space_rows(trials, attrs.get("fixed_params")),
        timeline=timeline_data,
        timeline_note=timeline_note,
        export_root=root_text,
        snapshot=snapshot,
        capture_group_by="/".join(map(str, attrs.get("group_by") or ())) if groups else None,
    )


def budget_text(data: ReportData) -> str:
    """``"cortex-m4f-80mhz (flash ≤ 65,536 B, RAM ≤ 16,384 B, latency ≤ 10 ms)"`` from the study's target."""
    limits = _limits(data.objective_names, data.budgets)
    name = str(data.target.get("name") or "the target")
    return f"{name} ({', '.join(limits)})" if limits else name


def nothing_fits(data: ReportData, what: str = "") -> None:
    """Raise :class:`~automl.errors.NothingFits` if the study has complete trials but none fits the budgets.

    Args:
        data: the report data.
        what: what this means for the command, appended after a semicolon
            (e.g. ``"there is no knee to export"``).

    Raises:
        NothingFits: naming the number of complete trials and the budgets.
    """
    from automl.errors import NothingFits

    if data.n_complete and not data.n_feasible:
        raise NothingFits(f"none of the {data.n_complete} complete trials of study {data.study_name!r} fits the "
                          f"budgets of {budget_text(data)}" + (f"; {what}" if what else ""))


def _best_under_budget(values: np.ndarray, feasible: np.ndarray, directions: Sequence[str]) -> int:
    """Row of the feasible trial with the best objective 0; ties: least objective 1 (flash), then lowest row."""
    rows = np.flatnonzero(feasible)
    f1 = values[rows, 0] * (1.0 if _is_maximize(directions[0]) else -1.0)
    top = rows[f1 >= f1.max() - 1e-12]
    if values.shape[1] > 1:
        flash = values[top, 1]
        top = top[flash <= flash.min()]
    return int(top[0])


def _best_reason(number: int, values: np.ndarray, feasible: np.ndarray, row: int,
                 names: Sequence[str], budgets: Sequence[float | None], target_name: str) -> str:
    n = int(feasible.sum())
    limits = _limits(names, budgets)
    within = f"fit every budget of {target_name} ({', '.join(limits)})" if limits else \
        "satisfy the study's constraints"
    tied = int(np.sum(feasible & (np.abs(values[:, 0] - values[row, 0]) <= 1e-12)))
    tie = (f"; {tied} of them share that F1 and it needs the least flash ({values[row, 1]:,.0f} B)"
           if tied > 1 and values.shape[1] > 1 else "")
    return (f"Trial {number} has the highest F1 ({values[row, 0]:.3f}) of the {n} trial{'s' if n != 1 else ''} "
            f"that {within}{tie}.")


def _limits(names: Sequence[str], budgets: Sequence[float | None]) -> list[str]:
    """``["flash ≤ 65,536 B", ...]`` for the objectives that have a budget."""
    return [f"{OBJECTIVE_SHORT.get(nm, nm)} ≤ {_fmt_budget(nm, b)}" for nm, b in zip(names, budgets) if b is not None]


def objective_text(name: str, value: float, spec: str = ".3f") -> str:
    """``"4,449 B"`` for a ``*_bytes`` objective, ``"1.411 ms"`` for ``*_ms``, ``"0.912"`` otherwise
    (``spec``: the format of the non-byte numbers, ``"g"`` for budgets)."""
    if name.endswith("_bytes"):
        return f"{value:,.0f} B"
    if name.endswith("_ms"):
        return f"{value:{spec}} ms"
    return f"{value:{spec}}"


def _fmt_budget(name: str, value: float) -> str:
    return objective_text(name, value, "g")


def _hypervolume_info(values: np.ndarray, feasible: np.ndarray, numbers: np.ndarray,
                      complete_s: np.ndarray, directions: Sequence[str], names: Sequence[str],
                      budgets: Sequence[float | None]) -> HypervolumeInfo:
    rows = np.flatnonzero(feasible)
    ref, source, utopia = [], [], []
    for j, (name, d, b) in enumerate(zip(names, directions, budgets)):
        if _is_maximize(d):
            # F1 and other fractions: worst 0, best 1.
            ref.append(0.0)
            source.append("F1 0" if "f1" in name.lower() else "0")
            utopia.append(1.0)
        elif b is not None:
            ref.append(float(b))
            source.append("budget")
            utopia.append(0.0)
        else:
            ref.append(float(values[rows, j].max()) if rows.size else 0.0)
            source.append("worst feasible")
            utopia.append(0.0)
    sign = np.array([-1.0 if _is_maximize(d) else 1.0 for d in directions])
    ref_loss = np.array(ref) * sign
    box = float(np.prod(np.abs(np.array(utopia) * sign - ref_loss)))
    scale = 1.0 / box if box > 0 else None
    loss = values[rows] * sign
    value = hypervolume(loss, ref_loss) if rows.size else 0.0
    by_number = hypervolume_history(loss, ref_loss) if rows.size else np.zeros(0)
    t = complete_s[rows]
    order = np.argsort(np.where(np.isnan(t), np.inf, t), kind="stable")
    by_time = hypervolume_history(loss[order], ref_loss) if rows.size else np.zeros(0)
    norm = (lambda a: a * scale) if scale is not None else (lambda a: a * np.nan)
    return HypervolumeInfo(
        reference=tuple(ref), reference_source=tuple(source), value=float(value),
        normalised=None if scale is None else float(value * scale),
        numbers=numbers[rows].astype(np.int64), by_number=norm(by_number),
        seconds=t[order].astype(np.float64), by_time=norm(by_time),
    )


def _importances(study: optuna.Study, complete: list[FrozenTrial], names: Sequence[str],
                 trained: np.ndarray | None = None) -> ImportanceInfo:
    """fANOVA importances per objective over the snapshot's complete trials.

    Objective 0 (F1) is estimated over the trained trials only: an over-budget
    trial is recorded with F1 0 without training, and those zeros would make
    the parameters that drive cost look important for F1. Only parameters
    used by every trial in the estimate are ranked (Optuna's rule), so a
    conditional parameter (``units_l3`` with at most 2 layers) never appears.

    The trials are copied into an in-memory study so the estimate uses exactly
    the snapshot (the live study may have gained trials since). The forest is
    smaller than Optuna's default (16 trees of depth 6 instead of 64 of depth
    64): on 1,000 trials of 4 parameters the default took ~35 s per objective
    on 2 cores, a 32-tree depth-6 forest 0.6 s with the same ranking (probe,
    2026-11-29); 16 trees halve that again for 10 parameters.
    """
    n_obj = len(names)
    empty = np.zeros((0, n_obj))
    if len(complete) < MIN_IMPORTANCE_TRIALS:
        return ImportanceInfo((), empty, f"Parameter importance needs at least {MIN_IMPORTANCE_TRIALS} "
                                         f"complete trials; the study has {len(complete)}.", len(complete))
    trained = np.ones(len(complete), bool) if trained is None else np.asarray(trained, bool)
    n_trained = int(trained.sum())

    def snapshot_of(trials: list[FrozenTrial]) -> optuna.Study:
        storage = optuna.storages.InMemoryStorage()
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "new study created in memory" line
        try:
            storage.create_new_study(directions=list(study.directions), study_name="report-snapshot")
        finally:
            optuna.logging.set_verbosity(verbosity)
        snap = optuna.Study(study_name="report-snapshot", storage=storage)
        # Only what the estimate reads: copying every trial's attributes would take seconds.
        snap.add_trials([optuna.trial.create_trial(values=t.values, params=t.params, distributions=t.distributions)
                         for t in trials])
        return snap

    everything = snapshot_of(complete)
    scored = everything if n_trained == len(complete) else snapshot_of([t for t, ok in zip(complete, trained) if ok])
    result: list[dict[str, float]] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(n_obj):
                snap = scored if i == 0 else everything
                if i == 0 and n_trained < MIN_IMPORTANCE_TRIALS:
                    result.append({})
                    continue
                evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=16, max_depth=6, seed=0)
                result.append(optuna.importance.get_param_importances(
                    snap, evaluator=evaluator, target=lambda t, i=i: t.values[i]))
    except (ValueError, RuntimeError) as exc:
        return ImportanceInfo((), empty, f"Parameter importance could not be estimated: {exc}", len(complete))
    params = sorted({p for r in result for p in r})
    if not params:
        return ImportanceInfo((), empty, "No parameter is searched in every complete trial, so importance "
                                         "cannot be estimated.", len(complete))
    table = np.array([[float(r.get(p, 0.0)) for r in result] for p in params])
    order = np.argsort(-table.mean(axis=1), kind="stable")
    return ImportanceInfo(tuple(params[i] for i in order), table[order], "", len(complete), n_trained)


def _parcoords_axes(complete: list[FrozenTrial], importance: ImportanceInfo | None) -> list[ParamAxis]:
    """Parameters searched in every complete trial (and varied), most important first."""
    if not complete:
        return []
    common = set(complete[0].params)
    for t in complete[1:]:
        common &= set(t.params)
    ranked = [p for p in (importance.params if importance else ()) if p in common]
    ranked += sorted(common - set(ranked))
    axes: list[ParamAxis] = []
    for name in ranked:
        dist = complete[-1].distributions.get(name)
        raw = [t.params[name] for t in complete]
        if len({repr(v) for v in raw}) < 2:
            continue  # constant: an axis would say nothing
        if isinstance(dist, CategoricalDistribution) or not all(_is_number(v) or isinstance(v, bool)
                                                               for v in raw):
            choices = list(dist.choices) if isinstance(dist, CategoricalDistribution) else []
            for v in raw:
                if v not in choices:
                    choices.append(v)
            axes.append(ParamAxis(name, np.array([choices.index(v) for v in raw], dtype=np.float64),
                                  tuple(_fmt_value(c) for c in choices)))
        else:
            log = bool(getattr(dist, "log", False))
            axes.append(ParamAxis(name, np.array([float(v) for v in raw]), None, log,
                                  integer=isinstance(dist, IntDistribution)))
        if len(axes) >= MAX_PARCOORDS_PARAMS:
            break
    return axes


def _space_rows(trials: Sequence[FrozenTrial], fixed: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    """``(parameter, what was searched)`` from the trials' distributions (last seen wins), then the fixed ones.

    A conditional parameter (one some complete trials did not use, e.g.
    ``units_l2`` of one-layer networks or the threshold segmenter's ``thr_*``)
    says in how many of the complete trials it was used.
    """
    dists: dict[str, Any] = {}
    used: dict[str, int] = {}
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    for t in trials:
        dists.update(t.distributions)
    for t in complete:
        for name in t.params:
            used[name] = used.get(name, 0) + 1
    rows = []
    for name in sorted(dists):
        text = describe_distribution(dists[name])
        if complete and used.get(name, 0) < len(complete):
            text += f" (used by {used.get(name, 0)} of {len(complete)} complete trials)"
        rows.append((name, text))
    if isinstance(fixed, Mapping):
        rows += [(str(name), f"fixed: {_fmt_value(value)}") for name, value in sorted(fixed.items(), key=str)
                 if name not in dists]
    return rows


def describe_distribution(dist: Any) -> str:
    """``"int 60 … 240, step 20"``, ``"float 0.001 … 0.02, log"``, ``"one of int8, float32"``."""
    if isinstance(dist, CategoricalDistribution):
        return "one of " + ", ".join(_fmt_value(c) for c in dist.choices)
    if isinstance(dist, (IntDistribution, FloatDistribution)):
        kind = "int" if isinstance(dist, IntDistribution) else "float"
        text = f"{kind} {_fmt_value(dist.low)} … {_fmt_value(dist.high)}"
        if dist.step not in (None, 1) or (kind == "float" and dist.step is not None):
            text += f", step {_fmt_value(dist.step)}"
        if dist.log:
            text += ", log"
        return text
    return str(dist)


def even_sample(items: Sequence, k: int) -> list:
    """At most ``k`` of ``items``, evenly spaced in their order (first and last included); all if fewer."""
    n = len(items)
    if n <= k:
        return list(items)
    return [items[int(i)] for i in np.unique(np.linspace(0, n - 1, k).round().astype(np.int64))]


def command_line(verb: str, study: str, root: str | Path | None = None, *options: str | Path) -> str:
    """The shell command ``automl <verb> --study <study> [--root <root>] <options>``, each word shell-quoted.

    The one writer of the commands the terminal and the report suggest
    (``shlex.join``: a study name or path with a space stays one word when
    pasted). ``root`` is left out when it is ``None`` or the default ``studies``.
    """
    root_opt = [] if root is None or Path(root) == Path("studies") else ["--root", str(root)]
    return shlex.join(["automl", verb, "--study", study, *root_opt, *map(str, options)])


def export_command(study_name: str, number: int, root: str | None = None) -> str:
    """The shell command that exports trial ``number`` of ``study_name`` to ``build/firmware/<study>-<number>``
    (:func:`command_line`; ``root`` adds ``--root``, omit it for the default ``studies`` folder)."""
    return command_line("export", study_name, root, "--trial", str(number), "--out",
                        f"build/firmware/{study_name}-{number}")


def confusion_table(metrics: Mapping[str, Any] | None,
                    fallback_classes: Sequence[str] = ()) -> ConfusionTable | None:
    """Build a :class:`ConfusionTable` from a contract metrics dict, or ``None``.

    Sensitivity and positive predictivity are recomputed from the counts so the
    table is self-consistent. An ``unknown`` list (windows of each true class
    predicted as no class) becomes the UNK column; it counts in the row's
    support, so it lowers sensitivity and accuracy but no column's precision.

    Raises:
        ValueError: if the confusion matrix is not square, its size differs
            from the number of classes, or ``unknown`` has the wrong length.
    """
    if not metrics or metrics.get("confusion") is None:
        return None
    counts = np.asarray(metrics["confusion"], dtype=np.int64)
    classes = tuple(str(c) for c in (metrics.get("classes") or fallback_classes))
    n = counts.shape[0] if counts.ndim == 2 else -1
    if counts.ndim != 2 or counts.shape[1] != n or (classes and len(classes) != n):
        raise ValueError(
            f"The confusion matrix must be (n_classes, n_classes) with n_classes = "
            f"{len(classes)}; got shape {counts.shape}."
        )
    if not classes:
        classes = tuple(f"class {i}" for i in range(n))
    unknown = None
    if metrics.get("unknown") is not None:
        unknown = np.asarray(metrics["unknown"], dtype=np.int64).reshape(-1)
        if unknown.shape[0] != n:
            raise ValueError(f"The 'unknown' column must have {n} counts (one per class); "
                             f"got {unknown.shape[0]}.")
    unk = np.zeros(n, np.int64) if unknown is None else unknown
    diag = np.diag(counts).astype(np.float64)
    rows = (counts.sum(axis=1) + unk).astype(np.float64)
    cols = counts.sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = np.where(rows > 0, 100.0 * diag / rows, np.nan)
        ppv = np.where(cols > 0, 100.0 * diag / cols, np.nan)
    total = counts.sum() + unk.sum()
    acc = float(100.0 * diag.sum() / total) if total > 0 else float("nan")
    return ConfusionTable(classes, counts, sens, ppv, acc, unknown)


def pipeline_view(pipe: Mapping[str, Any] | None, n_classes: int | None = None) -> PipelineView | None:
    """The pipeline as the report shows it; reads old (``window_size``/``slide``
    at the top) and new (``segmenter`` dict) ``pipeline`` attrs alike."""
    if not isinstance(pipe, Mapping) or not pipe:
        return None
    seg = pipe.get("segmenter")
    if isinstance(seg, Mapping):
        seg_items = [("kind", str(seg.get("kind", "?")))]
        seg_items += [(k, _fmt_value(v)) for k, v in seg.items() if k != "kind" and v is not None
                      and not (k == "lookback" and v == 0 and seg.get("kind") == "sliding")]
    else:
        seg_items = [("kind", "sliding")]
        seg_items += [(k, _fmt_value(pipe[k])) for k in ("window_size", "slide") if k in pipe]
    names = [str(n) for n in pipe.get("selected_names") or ()]
    imps = list(pipe.get("importances") or ())
    features = tuple((n, float(imps[i]) if i < len(imps) and _is_number(imps[i]) else None)
                     for i, n in enumerate(names))
    classes = pipe.get("classes")
    n_out = len(classes) if isinstance(classes, Sequence) and classes else n_classes
    quant = str(pipe.get("quantization") or "–")
    other: list[tuple[str, str]] = []
    for key, label in (("dropout", "dropout"), ("learning_rate", "learning rate"), ("epochs", "epochs"),
                       ("unknown_threshold", "unknown threshold"), ("input_scale", "input scale"),
                       ("input_zero_point", "input zero point"), ("output_scale", "output scale"),
                       ("output_zero_point", "output zero point"), ("tflite_bytes", "model (.tflite) bytes")):
        if pipe.get(key) is not None:
            other.append((label, _fmt_value(pipe[key])))
    if pipe.get("magnitude") is not None:
        other.insert(0, ("magnitude channels", "yes" if pipe["magnitude"] else "no"))
    scaler = (f"min-max to uint8 per selected feature (fitted on the training windows; "
              f"{len(names)} feature{'s' if len(names) != 1 else ''})")
    total = pipe.get("n_features_total")
    if total is None and isinstance(pipe.get("feature_names"), Sequence):
        total = len(pipe["feature_names"])
    return PipelineView(
        segmenter=tuple(seg_items),
        families=tuple(str(f) for f in pipe.get("families") or ()),
        features=features,
        n_features_total=int(total) if _is_number(total) else None,
        scaler=scaler,
        layers=tuple(int(w) for w in pipe.get("layers") or ()),
        n_outputs=n_out,
        quantization=quant,
        other=tuple(other),
    )


def _breakdown(cost: Mapping[str, Any]) -> dict[str, tuple[tuple[str, float], ...]]:
    raw = cost.get("breakdown") if isinstance(cost.get("breakdown"), Mapping) else {}
    out = {}
    for key in ("flash", "ram", "cycles"):
        part = raw.get(key)
        if isinstance(part, Mapping):
            items = [(str(k), float(v)) for k, v in part.items() if _is_number(v)]
            out[key] = tuple(sorted(items, key=lambda kv: -kv[1]))
    return out


def _recommendation(trial: FrozenTrial, ua: Mapping[str, Any], values: Sequence[float], study_name: str,
                    distance: float, fits: bool, study_classes: tuple[str, ...], reason: str = "", feasible: bool = True,
                    over_budget: tuple[str, ...] = (), root: str | None = None,
                    groups: Mapping[str, Any] | None = None) -> Recommendation:
    """One trial in detail; ``ua`` is its full attribute set (:func:`automl.search.trial_detail`), ``values``
    its objective values with the exact costs (:func:`automl.search.exact_values`), ``groups`` the study's
    ``{held-out capture: group}``."""
    val = dict(ua.get("val_metrics") or {})
    test = dict(ua["test_metrics"]) if ua.get("test_metrics") else None
    cost = dict(ua.get("cost") or {})
    pipe = dict(ua.get("pipeline") or {})
    duration = ua.get("duration_s")
    if not _is_number(duration) and trial.datetime_start and trial.datetime_complete:
        duration = (trial.datetime_complete - trial.datetime_start).total_seconds()
    return Recommendation(
        number=trial.number,
        values=tuple(float(v) for v in values),
        distance=distance,
        val_metrics=val,
        test_metrics=test,
        val_confusion=confusion_table(val, study_classes),
        test_confusion=confusion_table(test, study_classes),
        cost=cost,
        pipeline=pipe,
        params=dict(sorted(trial.params.items())),
        export_command=export_command(study_name, trial.number, root),
        fits_budget=fits,
        val_events=dict(ua["val_events"]) if ua.get("val_events") else None,
        test_events=dict(ua["test_events"]) if ua.get("test_events") else None,
        trigger_diagnostics=dict(ua["trigger_diagnostics"]) if ua.get("trigger_diagnostics") else None,
        reason=reason,
        feasible=feasible,
        over_budget=over_budget,
        breakdown=_breakdown(cost),
        view=pipeline_view(pipe, len(study_classes) or None),
        duration_s=float(duration) if _is_number(duration) else None,
        artifact_dir=_opt_str(ua.get("artifact_dir")),
        seed_scores=_seeds(ua)[0],
        f1_std=_seeds(ua)[1],
        flags=trial_flags(ua),
        test_by_capture=_capture_events(ua.get("test_events_by_capture"), groups or {}),
    )


def _capture_events(by_capture: Any, groups: Mapping[str, Any]) -> tuple[CaptureEvents, ...]:
    """The rows of ``test_events_by_capture`` (``()`` when absent or not a mapping), in recorded order."""
    if not isinstance(by_capture, Mapping):
        return ()
    return tuple(CaptureEvents(str(name), _opt_str(groups.get(name)), dict(m))
                 for name, m in by_capture.items() if isinstance(m, Mapping))


def _row(trial: FrozenTrial, values: Sequence[float] | None, on_front: bool, over, feasible: bool = False,
         events: bool = False) -> TrialRow:
    """One row of the all-trials table; ``values`` with the exact costs (None: the trial has none)."""
    ua = trial.user_attrs
    vals = tuple(float(v) for v in values) if values is not None else None
    test_f1 = ua.get("test_event_f1" if events else "test_macro_f1")  # the storage's scalar (automl.search)
    if test_f1 is None:  # a study written before trial.json: the metrics are in the storage
        test = (ua.get("test_events") if events else ua.get("test_metrics")) or {}
        test_f1 = test.get("f1" if events else "macro_f1") if isinstance(test, Mapping) else None
    reason = ua.get("fail_reason")
    if reason is None and trial.state == TrialState.FAIL:
        reason = trial.system_attrs.get("fail_reason")  # Optuna's own, for uncaught errors
    if reason is None and trial.state == TrialState.PRUNED:
        reason = ua.get("skipped")
    duration = ua.get("duration_s")
    if not _is_number(duration) and trial.datetime_start and trial.datetime_complete:
        duration = (trial.datetime_complete - trial.datetime_start).total_seconds()
    return TrialRow(
        number=trial.number,
        state=trial.state.name,
        values=vals,
        test_f1=float(test_f1) if _is_number(test_f1) else None,
        params=dict(sorted(trial.params.items())),
        main_params=main_params(trial),
        fail_reason=None if reason is None else (str(reason).splitlines() or [""])[0],
        on_front=on_front,
        over_budget=over(vals) if trial.state == TrialState.COMPLETE else (),
        feasible=feasible,
        duration_s=float(duration) if _is_number(duration) else None,
        trained=trial.state == TrialState.COMPLETE and not ua.get("infeasible"),
        seed_scores=_seeds(ua)[0],
        f1_std=_seeds(ua)[1],
        flags=trial_flags(ua),
    )


def main_params(trial: FrozenTrial) -> str:
    """One-line summary of a trial's pipeline, e.g. ``segmenter=sliding, window_size=120, ...``.

    Uses the ``pipeline`` user_attr when the storage has it (studies written
    before ``trial.json``; plus ``n_features`` = number of selected features
    and the feature families), else the Optuna params: the main ones of the
    search space (:data:`_MAIN_PARAMS`, hidden layer widths as ``layers``)
    when present, otherwise all of them.
    """
    pipe = trial.user_attrs.get("pipeline")
    parts: list[str] = []
    if isinstance(pipe, Mapping) and pipe:
        parts = [f"{k}={_fmt_value(pipe[k])}" for k in _MAIN_PIPELINE_KEYS if k in pipe]
        if isinstance(pipe.get("selected"), Sequence):
            parts.insert(min(3, len(parts)), f"n_features={len(pipe['selected'])}")
        if isinstance(pipe.get("families"), Sequence) and pipe["families"]:
            parts.insert(min(4, len(parts)), "families=" + "+".join(str(f) for f in pipe["families"]))
        seg = pipe.get("segmenter")
        if isinstance(seg, Mapping) and seg.get("kind"):
            parts.insert(0, f"segmenter={seg['kind']}")
        return ", ".join(parts)
    params = trial.params
    if not all(k in params for k in ("window_size", "n_layers")):
        return ", ".join(f"{k}={_fmt_value(v)}" for k, v in sorted(params.items()))
    for key in _MAIN_PARAMS:
        if key == "layers":
            n = int(params["n_layers"])
            widths = [params.get(f"units_l{i}") for i in range(1, n + 1)]
            if all(w is not None for w in widths):
                parts.append(f"layers={_fmt_value(list(widths))}")
        elif key in params:
            parts.append(f"{key}={_fmt_value(params[key])}")
    return ", ".join(parts)


#: Parameters (of ``automl.search``'s spaces) summarised as a trial's "main params", in this order.
_MAIN_PARAMS = ("segmenter", "window_size", "slide", "magnitude", "k", "layers", "dropout", "learning_rate",
                "quantization")


def _fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt_value(x) for x in v) + "]"
    return str(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _data_facts(attrs: Mapping[str, Any]) -> dict[str, str]:
    """Rows of the report's study table about the data: rate, channels, sensor groups, held-out rule and groups."""
    out = {}
    if attrs.get("sample_rate_hz") is not None:
        rate = f"{float(attrs['sample_rate_hz']):.6g} Hz"
        out["sample rate"] = rate + (" (resampled)" if attrs.get("resample_hz") else "")
    if attrs.get("channels"):
        out["channels"] = ", ".join(map(str, attrs["channels"]))
    if attrs.get("sensors"):
        out["sensor groups"] = "; ".join(f"{g}: {', '.join(m)}" for g, m in dict(attrs["sensors"]).items())
    if attrs.get("test_where"):
        out["test_where"] = "; ".join(f"{k}={','.join(v)}" for k, v in dict(attrs["test_where"]).items())
    if attrs.get("test_groups"):
        out[f"held-out groups ({attrs.get('group_by')})"] = ", ".join(map(str, attrs["test_groups"]))
    if attrs.get("test_captures"):
        out["held-out captures"] = ", ".join(map(str, attrs["test_captures"]))
    return out


def _opt_str(v: Any) -> str | None:
    return None if v is None else str(v)
