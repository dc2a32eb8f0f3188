"""Terminal progress of a running study (rich)."""

from __future__ import annotations

import optuna
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def study_status(study: optuna.Study) -> dict:
    """Counts and bests of a study, from one snapshot of its trials.

    Returns:
        ``{"complete", "failed", "running", "best_f1" (None if no complete
        trial), "pareto_size"}``.
    """
    trials = study.get_trials(deepcopy=False)
    state = optuna.trial.TrialState
    complete = [t for t in trials if t.state == state.COMPLETE]
    return {
        "complete": len(complete),
        "failed": sum(t.state == state.FAIL and not t.system_attrs.get("automl_interrupted") for t in trials),
        "running": sum(t.state == state.RUNNING for t in trials),
        "best_f1": max((t.values[0] for t in complete), default=None),
        "pareto_size": len(study.best_trials) if complete else 0,
    }


class SearchProgress:
    """A rich progress bar: finished / budget, ETA, failures, best F1, Pareto size."""

    def __init__(self, study: optuna.Study, budget: int, enabled: bool = True):
        self.study, self.budget = study, budget
        self._bar = Progress(
            TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
            disable=not enabled, transient=False,
        )
        self._task = None

    def __enter__(self):
        self._bar.__enter__()
        self._task = self._bar.add_task("search", total=self.budget, info="")
        self.update()
        return self

    def __exit__(self, *exc):
        self.update()
        return self._bar.__exit__(*exc)

    def update(self) -> None:
        """Redraw from the study's current state."""
        s = study_status(self.study)
        best = "-" if s["best_f1"] is None else f"{s['best_f1']:.3f}"
        self._bar.update(self._task, completed=min(self.budget, s["complete"] + s["failed"]),
                         info=f"failed {s['failed']}  best F1 {best}  Pareto {s['pareto_size']}")
