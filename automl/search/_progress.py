"""Terminal progress of a running study (rich), and the study's status counts.

The driver redraws after every finished trial, so the status must not cost
time that grows with the study's size per redraw: ``optuna.Study.best_trials``
deep-copies every trial (with its attributes) on each call, which at ~600
trials of the boxing space took ~40 % of a core in the driver, away from the
workers (py-spy, 2026-12-07). :class:`ParetoTracker` keeps the front
incrementally instead and reads the trials without copying them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence

import numpy as np
import optuna
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from automl.search._records import exact_values

_State = optuna.trial.TrialState


class ParetoTracker:
    """The Pareto front of a study's feasible complete trials, kept up to date incrementally.

    The same front as ``optuna.Study.best_trials`` (tested against it) when the
    told costs are the exact ones (``search.cost_resolution`` 0): among
    the COMPLETE trials whose constraints are all ``<= 0`` (or that have none),
    those that no other such trial dominates (at least as good in every
    objective and strictly better in one; duplicate points do not dominate
    each other). Each trial is looked at once, whatever order trials finish
    in: adding a trial costs ``O(front size)``, not ``O(n_trials)``.

    Args:
        directions: the study's objective directions (``study.directions``).

    Attributes:
        best_f1: the largest first objective (F1) over all complete trials
            (infeasible ones included, as they are stored with F1 0), or None.
        best_number: the trial of ``best_f1`` (the first to reach it), or None.

    The costs compared are the exact ones (:func:`~automl.search._records.exact_values`):
    the sampler is told them rounded up (``search.cost_resolution``), the person sees them exact.
    """

    def __init__(self, directions: Sequence[optuna.study.StudyDirection]) -> None:
        self._sign = np.array([-1.0 if d == optuna.study.StudyDirection.MAXIMIZE else 1.0 for d in directions])
        self._loss = np.zeros((0, len(directions)))  # minimisation form of the front's values
        self._numbers: list[int] = []
        self._seen: set[int] = set()
        self.best_f1: float | None = None
        self.best_number: int | None = None

    def add(self, trials: Iterable[optuna.trial.FrozenTrial]) -> None:
        """Take in the complete trials not seen before (any others are ignored).

        Args:
            trials: frozen trials, e.g. ``study.get_trials(deepcopy=False)``; each
                complete one has one value per direction.

        Raises:
            ValueError: if a complete trial has a different number of values
                than there are directions (numpy's broadcasting error).
        """
        for t in trials:
            if t.state != _State.COMPLETE or t.number in self._seen:
                continue
            self._seen.add(t.number)
            if self.best_f1 is None or t.values[0] > self.best_f1:
                self.best_f1, self.best_number = t.values[0], t.number
            if any(c > 0.0 for c in t.constraints.values()):
                continue
            loss = self._sign * np.asarray(exact_values(t), dtype=float)
            front = self._loss
            if np.any(np.all(front <= loss, axis=1) & np.any(front < loss, axis=1)):
                continue  # dominated by a trial on the front
            keep = ~(np.all(loss <= front, axis=1) & np.any(loss < front, axis=1))
            self._loss = np.vstack([front[keep], loss])
            self._numbers = [n for n, k in zip(self._numbers, keep) if k] + [t.number]

    @property
    def numbers(self) -> list[int]:
        """Trial numbers on the front, ascending."""
        return sorted(self._numbers)

    @property
    def values(self) -> np.ndarray:
        """``(front size, n_objectives) float64`` objective values of the front, with the exact costs."""
        return self._sign * self._loss


def study_status(study: optuna.Study, tracker: ParetoTracker | None = None) -> dict:
    """Counts and bests of a study, from one uncopied read of its trials.

    Args:
        study: the study.
        tracker: a :class:`ParetoTracker` kept across calls (the driver's),
            or None to build the front from scratch.

    Returns:
        ``{"complete", "over_budget" (complete but never trained: over a
        budget before training), "failed" (interrupted trials not counted), "running",
        "best_f1" (None if no complete trial), "best" ([trial number, F1] or
        None), "pareto_size"}``.

    Raises:
        optuna.exceptions.StorageInternalError: if the storage cannot be read.
    """
    trials = study.get_trials(deepcopy=False)
    tracker = tracker or ParetoTracker(study.directions)
    tracker.add(trials)
    return {
        "complete": sum(t.state == _State.COMPLETE for t in trials),
        "over_budget": sum(t.state == _State.COMPLETE and bool(t.user_attrs.get("infeasible")) for t in trials),
        "failed": sum(t.state == _State.FAIL and not t.system_attrs.get("automl_interrupted") for t in trials),
        "running": sum(t.state == _State.RUNNING for t in trials),
        "best_f1": tracker.best_f1,
        "best": None if tracker.best_number is None else [tracker.best_number, tracker.best_f1],
        "pareto_size": len(tracker.numbers),
    }


class SearchProgress:
    """A rich progress bar: finished / budget, ETA, failures, best F1, Pareto size.

    Args:
        study: the study being searched.
        budget: finished trials the run aims at, or None (no trial limit: the
            bar shows ``N/?`` and the ETA is the wall budget's end).
        enabled: draw the bar (False: only :meth:`message` prints, to stderr).
        deadline: ``time.monotonic()`` value at which the wall budget ends, or
            None; shown as "ends in H:MM:SS".
    """

    def __init__(self, study: optuna.Study, budget: int | None, enabled: bool = True,
                 deadline: float | None = None):
        self.study, self.budget, self.deadline = study, budget, deadline
        eta = () if budget is None else (TextColumn("ETA"), TimeRemainingColumn())  # no trial budget: "ends in"
        self._bar = Progress(
            TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            *eta, TextColumn("{task.fields[info]}"),
            disable=not enabled, transient=False,
        )
        self._task = None
        self._tracker = ParetoTracker(study.directions)

    def __enter__(self):
        self._bar.__enter__()
        self._task = self._bar.add_task("search", total=self.budget, info="")
        self.update()
        return self

    def __exit__(self, *exc):
        self.update()
        return self._bar.__exit__(*exc)

    def update(self) -> dict:
        """Re-read the study, redraw, and return its :func:`study_status`."""
        s = study_status(self.study, self._tracker)
        best = "-" if s["best_f1"] is None else f"{s['best_f1']:.3f}"
        finished = s["complete"] + s["failed"]
        info = f"failed {s['failed']}  best F1 {best}  Pareto {s['pareto_size']}"
        if self.deadline is not None:
            left = max(0, int(self.deadline - time.monotonic()))
            info += f"  ends in {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}"
        self._bar.update(self._task, completed=finished if self.budget is None else min(self.budget, finished),
                         info=info)
        return s

    def front_values(self) -> np.ndarray:
        """``(n, n_objectives) float64`` values of the feasible Pareto front as of the last :meth:`update`."""
        return self._tracker.values

    @property
    def pareto_numbers(self) -> list[int]:
        """Trial numbers on the feasible Pareto front as of the last :meth:`update`."""
        return self._tracker.numbers

    def message(self, text: str) -> None:
        """Show one line above the bar (on stderr when the bar is off)."""
        if self._bar.disable:
            print(text, file=sys.stderr, flush=True)
        else:
            self._bar.console.print(text)
