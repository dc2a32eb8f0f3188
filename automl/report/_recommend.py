"""The recommended trial: a rule a person can say in one sentence.

**The cheapest trial whose validation score is within the seed noise of the
best.** In detail:

1. *Candidates*: complete trials that fit every budget, were trained, and
   are not flagged: a model that predicts a single class for every
   validation window (``collapsed``), or that has no background class when
   the data has one (``no_background``), is never recommended.
2. *Evidence*: only candidates scored with the study's full number of
   training seeds (``n_seeds``, the most any trial has) compete; a study
   without any falls back to all candidates and says so.
3. *Noise*: the median, over those candidates, of the standard deviation of
   the objective between training seeds (``f1_std``).
4. *Within the noise*: mean objective ``>= best mean - noise``.
5. *Cheapest*: the smallest *budget share*, the largest of ``flash / flash
   budget``, ``RAM / RAM budget`` and ``latency / latency budget`` (the
   budget it comes closest to using up); ties go to the higher objective,
   then the lower trial number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RecommendationRule:
    """What the rule decided.

    Attributes:
        row: index of the recommended trial in the inputs, or None.
        best: the best mean objective among the competing candidates.
        noise: the seed noise used (objective units).
        n_within: candidates within the noise of the best.
        n_candidates: candidates that competed.
        share: ``(n,) float64`` budget share of every input row (NaN without budgets).
        fallback: True when no candidate had the full seed count.
        reason: one sentence saying why (or why none).
    """

    row: int | None
    best: float
    noise: float
    n_within: int
    n_candidates: int
    share: np.ndarray
    fallback: bool
    reason: str


def budget_share(values: np.ndarray, budgets: Sequence[float | None]) -> np.ndarray:
    """``(n,) float64``: :func:`automl.cost.budget_share` of the cost columns of objective values.

    Args:
        values: ``(n, n_objectives) float64`` objective values (costs in bytes / ms).
        budgets: one budget per objective (None: not a cost or no budget).

    Returns:
        The share (1.0 = exactly at a budget); NaN when no objective has a budget.
    """
    from automl.cost import budget_share as share

    return share(np.asarray(values, np.float64).reshape(len(values), -1), budgets)


def recommend(values: np.ndarray, feasible: np.ndarray, attrs: Sequence[Mapping], budgets: Sequence[float | None],
              metric: str = "F1") -> RecommendationRule:
    """Apply the rule of this module.

    Args:
        values: ``(n, n_objectives) float64`` values of the complete trials
            (objective 0 maximised: the mean over training seeds; costs after).
        feasible: ``(n,) bool`` fits every budget and constraint.
        attrs: each trial's user attributes (``infeasible``, ``collapsed``,
            ``no_background``, ``n_seeds``, ``f1_std``).
        budgets: per objective, the budget (None for objective 0).
        metric: name of objective 0 in the reason ("event F1").

    Returns:
        The :class:`RecommendationRule` (``row`` None when no trial qualifies).
    """
    n = len(values)
    share = budget_share(values, budgets) if n else np.zeros(0)
    flagged = np.array([bool(a.get("collapsed")) or bool(a.get("no_background")) or bool(a.get("infeasible"))
                        for a in attrs], bool).reshape(n)
    cand = np.asarray(feasible, bool) & ~flagged
    seeds = np.array([int(a.get("n_seeds") or 1) for a in attrs], np.int64).reshape(n)
    if not cand.any():
        why = ("the study has no complete trial yet" if n == 0 else
               "no complete trial fits the budgets" if not np.any(feasible) else
               "every trial that fits the budgets is flagged (a single predicted class, or no background class)")
        return RecommendationRule(None, float("nan"), float("nan"), 0, 0, share, False, f"No recommendation: {why}.")
    full = int(seeds[cand].max())
    compete = cand & (seeds == full)
    fallback = full <= 1
    rows = np.flatnonzero(compete)
    best = float(values[rows, 0].max())
    stds = [float(attrs[i].get("f1_std")) for i in rows if attrs[i].get("f1_std") is not None]
    noise = float(np.median(stds)) if stds else 0.0
    within = rows[values[rows, 0] >= best - noise - 1e-12]
    key = np.nan_to_num(share[within], nan=0.0)
    order = np.lexsort((within, -values[within, 0], key))
    row = int(within[order[0]])
    seeds_text = f"averaged over {full} training seeds" if full > 1 else "from one training seed"
    share_text = "" if np.isnan(share[row]) else f" (it uses at most {share[row]:.0%} of any budget)"
    noise_text = f"the seed noise ({noise:.3f}: the median standard deviation of {metric} between training seeds)"
    if len(within) > 1:
        reason = (f"The cheapest trial{share_text} of the {len(within)} whose validation {metric}, {seeds_text}, is "
                  f"within {noise_text} of the best ({best:.3f}).")
    elif noise > 0:
        reason = (f"The best trial by validation {metric} ({best:.3f}, {seeds_text}){share_text}; no other trial is "
                  f"within {noise_text} of it.")
    else:
        reason = f"The best trial by validation {metric} ({best:.3f}, {seeds_text}){share_text}."
    if fallback:
        reason += " No trial was re-scored with more training seeds, so the seed noise is unknown."
    return RecommendationRule(row, best, noise, len(within), len(rows), share, fallback, reason)
