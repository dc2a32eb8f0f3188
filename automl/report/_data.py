"""Plain report data computed from an Optuna study, before any drawing.

Like ``optuna/visualization/_pareto_front.py`` (``_ParetoFrontInfo``), the
report first reduces the study to a :class:`ReportData` of plain Python and
NumPy values; :mod:`automl.report._html` only draws it. Tests check this data,
not pixels.

Trial attributes are read as defined in ``docs/CONTRACTS.md``: values
``[val_macro_f1, flash_bytes, ram_bytes, latency_ms]`` with directions
``[maximize, minimize, minimize, minimize]``; user_attrs ``val_metrics``,
``test_metrics``, ``cost``, ``pipeline``; a FAIL trial has ``fail_reason``.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

DEFAULT_OBJECTIVE_NAMES = ("macro_f1", "flash_bytes", "ram_bytes", "latency_ms")

#: Display label and unit of each objective named in the contract.
OBJECTIVE_LABELS = {
    "macro_f1": "validation macro F1",
    "flash_bytes": "flash [bytes]",
    "ram_bytes": "RAM [bytes]",
    "latency_ms": "latency [ms]",
}

#: Trial states in the order the summary lists them.
STATE_ORDER = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")

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
    loss = _as_minimisation(values, directions)
    n = loss.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # dominated[i] = any j with loss[j] <= loss[i] everywhere and < somewhere.
    le = np.all(loss[:, None, :] <= loss[None, :, :], axis=2)  # le[j, i]
    lt = np.any(loss[:, None, :] < loss[None, :, :], axis=2)
    dominated = np.any(le & lt, axis=0)
    return np.flatnonzero(~dominated).astype(np.int64)


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
        test_f1: held-out test macro F1 (fraction) or ``None``.
        params: the Optuna params, sorted by name.
        main_params: one-line summary of the pipeline (or params) for display.
        fail_reason: one line for FAIL trials, else ``None``.
        on_front: the trial is on the Pareto front.
        over_budget: names of objectives whose budget the trial exceeds.
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


@dataclass(frozen=True)
class ConfusionTable:
    """A confusion matrix laid out like SensiML's: rows true, columns predicted.

    Attributes:
        classes: ``n_classes`` class names.
        counts: ``(n_classes, n_classes) int64`` window counts, rows true,
            columns predicted.
        sensitivity: ``(n_classes,) float64`` row recall in percent (NaN for an
            empty row).
        pos_pred: ``(n_classes,) float64`` column precision in percent (NaN
            for an empty column).
        accuracy: overall accuracy in percent (NaN when there are no windows).
    """

    classes: tuple[str, ...]
    counts: np.ndarray
    sensitivity: np.ndarray
    pos_pred: np.ndarray
    accuracy: float

    @property
    def row_totals(self) -> np.ndarray:
        """``(n_classes,) int64`` windows per true class."""
        return self.counts.sum(axis=1)

    @property
    def col_totals(self) -> np.ndarray:
        """``(n_classes,) int64`` windows per predicted class."""
        return self.counts.sum(axis=0)

    @property
    def total(self) -> int:
        return int(self.counts.sum())


@dataclass(frozen=True)
class Recommendation:
    """The recommended trial (knee of the Pareto front) and what to show of it.

    Attributes:
        number: trial number.
        values: objective values (contract order and units).
        distance: Euclidean distance to the ideal point in normalised units.
        val_metrics / test_metrics: contract metric dicts (``test_metrics`` may be ``None``).
        val_confusion / test_confusion: confusion tables, ``None`` if absent.
        cost: contract ``cost`` dict (may be empty).
        pipeline: contract ``pipeline`` dict (may be empty).
        params: Optuna params.
        export_command: the ``automl export`` command line for this trial.
        fits_budget: ``False`` when no Pareto trial fits the target budgets
            and this trial was chosen from the whole front.
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
        pareto: ``(n_front,) int64`` indices into ``numbers`` / ``values``.
        knee: index into ``numbers`` / ``values`` of the recommended trial, or ``None``.
        recommended: the recommended trial, or ``None`` without complete trials.
        study_attrs_extra: other displayable study facts (``space_path``, ``test_glob``).
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
    knee: int | None
    recommended: Recommendation | None
    study_attrs_extra: dict[str, str] = field(default_factory=dict)

    @property
    def n_complete(self) -> int:
        return int(self.numbers.shape[0])

    @property
    def pareto_numbers(self) -> list[int]:
        """Trial numbers on the Pareto front, ascending."""
        return [int(self.numbers[i]) for i in self.pareto]

    @property
    def knee_number(self) -> int | None:
        return None if self.knee is None else int(self.numbers[self.knee])

    def objective_label(self, i: int) -> str:
        name = self.objective_names[i]
        return OBJECTIVE_LABELS.get(name, name)


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


def build_report_data(study: optuna.Study) -> ReportData:
    """Reduce ``study`` to a :class:`ReportData` (one snapshot of its trials).

    Args:
        study: a multi-objective study following ``docs/CONTRACTS.md``.

    Returns:
        The report data. A study without complete trials gives an empty front,
        ``knee=None`` and ``recommended=None``.

    Raises:
        ValueError: if the study's objective names and directions disagree in number.
    """
    trials = study.get_trials(deepcopy=False)
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

    trials = sorted(trials, key=lambda t: t.number)
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None
                and len(t.values) == len(directions)
                and all(_is_number(v) and math.isfinite(v) for v in t.values)]
    numbers = np.array([t.number for t in complete], dtype=np.int64)
    values = np.array([list(t.values) for t in complete], dtype=np.float64).reshape(
        len(complete), len(directions))
    front = pareto_front(values, directions)
    front_set = {int(i) for i in front}

    def over(vals: Sequence[float] | None) -> tuple[str, ...]:
        if vals is None:
            return ()
        return tuple(n for n, v, b in zip(names, vals, budgets) if b is not None and v > b)

    index_of = {t.number: i for i, t in enumerate(complete)}
    rows = [_row(t, index_of.get(t.number) in front_set, over) for t in trials]

    counts = {s: 0 for s in STATE_ORDER}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1

    knee_index: int | None = None
    recommended = None
    if front.size:
        feasible = np.array([i for i in front if not over(values[i])], dtype=np.int64)
        fits = feasible.size > 0
        pool = feasible if fits else front
        k = knee(values[pool], directions)
        knee_index = int(pool[k])
        distance = float(knee_distances(values[pool], directions)[k])
        recommended = _recommendation(complete[knee_index], study.study_name, distance, fits,
                                      tuple(attrs.get("classes") or ()))

    extra = {k: str(attrs[k]) for k in ("space_path", "test_glob") if attrs.get(k) is not None}
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
        knee=knee_index,
        recommended=recommended,
        study_attrs_extra=extra,
    )


def export_command(study_name: str, number: int) -> str:
    """The shell command that exports trial ``number`` of ``study_name`` (shell-quoted)."""
    out = f"build/firmware/{study_name}-{number}"
    return (f"automl export --study {shlex.quote(study_name)} --trial {number} "
            f"--out {shlex.quote(out)}")


def confusion_table(metrics: Mapping[str, Any] | None,
                    fallback_classes: Sequence[str] = ()) -> ConfusionTable | None:
    """Build a :class:`ConfusionTable` from a contract metrics dict, or ``None``.

    Sensitivity and positive predictivity are recomputed from the counts so the
    table is self-consistent.

    Raises:
        ValueError: if the confusion matrix is not square or its size differs
            from the number of classes.
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
    diag = np.diag(counts).astype(np.float64)
    rows = counts.sum(axis=1).astype(np.float64)
    cols = counts.sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = np.where(rows > 0, 100.0 * diag / rows, np.nan)
        ppv = np.where(cols > 0, 100.0 * diag / cols, np.nan)
    total = counts.sum()
    acc = float(100.0 * diag.sum() / total) if total > 0 else float("nan")
    return ConfusionTable(classes, counts, sens, ppv, acc)


def _recommendation(trial: FrozenTrial, study_name: str, distance: float, fits: bool,
                    study_classes: tuple[str, ...]) -> Recommendation:
    ua = trial.user_attrs
    val = dict(ua.get("val_metrics") or {})
    test = dict(ua["test_metrics"]) if ua.get("test_metrics") else None
    return Recommendation(
        number=trial.number,
        values=tuple(float(v) for v in trial.values),
        distance=distance,
        val_metrics=val,
        test_metrics=test,
        val_confusion=confusion_table(val, study_classes),
        test_confusion=confusion_table(test, study_classes),
        cost=dict(ua.get("cost") or {}),
        pipeline=dict(ua.get("pipeline") or {}),
        params=dict(sorted(trial.params.items())),
        export_command=export_command(study_name, trial.number),
        fits_budget=fits,
        val_events=dict(ua["val_events"]) if ua.get("val_events") else None,
        test_events=dict(ua["test_events"]) if ua.get("test_events") else None,
        trigger_diagnostics=dict(ua["trigger_diagnostics"]) if ua.get("trigger_diagnostics") else None,
    )


def _row(trial: FrozenTrial, on_front: bool, over) -> TrialRow:
    ua = trial.user_attrs
    vals = tuple(float(v) for v in trial.values) if trial.values is not None else None
    test = ua.get("test_metrics") or {}
    test_f1 = test.get("macro_f1") if isinstance(test, Mapping) else None
    reason = ua.get("fail_reason")
    if reason is None and trial.state == TrialState.FAIL:
        reason = trial.system_attrs.get("fail_reason")  # Optuna's own, for uncaught errors
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
    )


def main_params(trial: FrozenTrial) -> str:
    """One-line summary of a trial's pipeline, e.g. ``window_size=120, slide=30, ...``.

    Uses the ``pipeline`` user_attr when present (plus ``n_features`` = number
    of selected features), else the Optuna params.
    """
    pipe = trial.user_attrs.get("pipeline")
    parts: list[str] = []
    if isinstance(pipe, Mapping) and pipe:
        parts = [f"{k}={_fmt_value(pipe[k])}" for k in _MAIN_PIPELINE_KEYS if k in pipe]
        if isinstance(pipe.get("selected"), Sequence):
            parts.insert(min(3, len(parts)), f"n_features={len(pipe['selected'])}")
    else:
        parts = [f"{k}={_fmt_value(v)}" for k, v in sorted(trial.params.items())]
    return ", ".join(parts)


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt_value(x) for x in v) + "]"
    return str(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _opt_str(v: Any) -> str | None:
    return None if v is None else str(v)
