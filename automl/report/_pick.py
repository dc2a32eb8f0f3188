"""Pick a trial by a written rule, e.g. ``"F1>=0.9,flash<=16k"``.

A rule is a comma-separated list of clauses ``<metric><op><number>[unit]``:

- metric: ``F1`` (objective 0: the validation macro or event F1; also
  ``macro_f1`` / ``event_f1``), ``flash`` (``flash_bytes``), ``ram``
  (``ram_bytes``), ``latency`` (``latency_ms``); case-insensitive.
- op: ``>=``, ``<=``, ``>``, ``<``, ``=`` (``==``).
- unit: F1: none (a fraction 0..1) or ``%``; flash / RAM: none or ``B``
  (bytes), ``k`` / ``kB`` / ``KiB`` (1024 bytes, as in "64k of flash"),
  ``M`` / ``MB`` / ``MiB`` (1024 * 1024 bytes); latency: none or ``ms``,
  ``us``, ``s``.

Selection (:func:`pick_trial`): keep the candidate trials that satisfy every
clause, then take the highest F1; among trials tied on F1, the knee
(:func:`automl.report._data.knee`) of the tied trials' objective values.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from automl.errors import ConfigError

#: Metric spellings -> objective index in the contract order [F1, flash, RAM, latency].
_METRICS = {
    "f1": 0, "macro_f1": 0, "event_f1": 0,
    "flash": 1, "flash_bytes": 1,
    "ram": 2, "ram_bytes": 2,
    "latency": 3, "latency_ms": 3,
}
_DISPLAY = ("F1", "flash", "RAM", "latency")
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
        "==": operator.eq, "=": operator.eq}
_UNITS = {
    0: {"": 1.0, "%": 0.01},
    1: {"": 1.0, "b": 1.0, "k": 1024.0, "kb": 1024.0, "kib": 1024.0,
        "m": 1024.0 ** 2, "mb": 1024.0 ** 2, "mib": 1024.0 ** 2},
    3: {"": 1.0, "ms": 1.0, "us": 1e-3, "s": 1e3},
}
_UNITS[2] = _UNITS[1]
_CLAUSE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|=|>|<)\s*"
                     r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z%]*)\s*")
_TIE = 1e-12


@dataclass(frozen=True)
class Clause:
    """One condition of a rule.

    Attributes:
        objective: objective index (0 F1, 1 flash, 2 RAM, 3 latency).
        op: ``">="``, ``"<="``, ``">"``, ``"<"`` or ``"=="``.
        value: the bound in objective units (F1 fraction, bytes, ms).
        text: the clause as written.
    """

    objective: int
    op: str
    value: float
    text: str

    def holds(self, values: np.ndarray) -> np.ndarray:
        """``(n,) bool``: which rows of ``(n, n_objectives)`` values satisfy the clause."""
        return _OPS[self.op](values[:, self.objective], self.value)


@dataclass(frozen=True)
class PickRule:
    """A parsed ``--pick`` rule: every clause must hold."""

    text: str
    clauses: tuple[Clause, ...]


def parse_pick_rule(text: str) -> PickRule:
    """Parse a rule such as ``"F1>=0.9,flash<=16k,latency<5ms"``.

    Raises:
        ConfigError: naming the rule and the clause that is not understood.

    Example:
        >>> [(c.objective, c.op, c.value) for c in parse_pick_rule("F1>=90%,ram<2k").clauses]
        [(0, '>=', 0.9), (2, '<', 2048.0)]
    """
    rule = str(text)
    parts = rule.split(",")
    if not rule.strip() or any(not p.strip() for p in parts):
        raise ConfigError(
            f"The '--pick' rule {rule!r} is malformed: give comma-separated clauses such as "
            "'F1>=0.9,flash<=16k,ram<=4k,latency<=5ms'."
        )
    clauses = []
    for part in parts:
        m = _CLAUSE.fullmatch(part)
        if not m:
            raise ConfigError(
                f"The '--pick' rule {rule!r} is malformed: {part.strip()!r} is not of the form "
                "<metric><op><number>[unit] with metric F1, flash, ram or latency and op >=, <=, >, < or = "
                "(e.g. 'F1>=0.9,flash<=16k')."
            )
        name, op, number, unit = m.groups()
        if name.lower() not in _METRICS:
            raise ConfigError(
                f"The '--pick' rule {rule!r} names an unknown metric {name!r} in {part.strip()!r}; "
                "use F1, flash, ram or latency."
            )
        objective = _METRICS[name.lower()]
        units = _UNITS[objective]
        if unit.lower() not in units:
            allowed = ", ".join(repr(u) for u in units if u) or "none"
            raise ConfigError(
                f"The '--pick' rule {rule!r} gives {_DISPLAY[objective]} the unknown unit {unit!r} in "
                f"{part.strip()!r}; allowed: no unit, {allowed}."
            )
        value = float(number) * units[unit.lower()]
        if objective == 0 and not 0.0 <= value <= 1.0:
            raise ConfigError(
                f"The '--pick' rule {rule!r} bounds F1 by {value:g} in {part.strip()!r}; F1 is a "
                "fraction 0..1 (write 0.9 or 90%)."
            )
        clauses.append(Clause(objective, "==" if op == "=" else op, value, part.strip()))
    return PickRule(rule, tuple(clauses))


@dataclass(frozen=True)
class PickResult:
    """What a rule selects.

    Attributes:
        rule: the parsed rule.
        number: the chosen trial number, or ``None`` if no candidate matches.
        n_candidates: trials the rule was applied to.
        n_matching: candidates satisfying every clause.
        per_clause: ``(clause text, candidates satisfying it)`` per clause.
        n_tied: matching trials sharing the highest F1 (1 = no tie).
        reason: one sentence saying why this trial (or that none) was chosen.
    """

    rule: PickRule
    number: int | None
    n_candidates: int
    n_matching: int
    per_clause: tuple[tuple[str, int], ...]
    n_tied: int
    reason: str


def pick_trial(rule: PickRule, numbers: np.ndarray, values: np.ndarray,
               directions: Sequence[str], candidates: np.ndarray | None = None,
               what: str = "feasible") -> PickResult:
    """Apply ``rule``: filter, then the highest F1, then the knee among F1 ties.

    Args:
        rule: from :func:`parse_pick_rule`.
        numbers: ``(n,) int64`` trial numbers, ascending.
        values: ``(n, 4) float64`` objective values [F1, flash B, RAM B, latency ms].
        directions: the study's directions (objective 0 maximised).
        candidates: ``(n,) bool`` rows the rule may choose from (default: all).
        what: adjective for the candidates in the reason ("feasible").

    Returns:
        The :class:`PickResult`.
    """
    from ._data import knee  # local: _data imports this module

    numbers = np.asarray(numbers, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64).reshape(len(numbers), -1)
    cand = np.ones(len(numbers), bool) if candidates is None else np.asarray(candidates, bool)
    for c in rule.clauses:
        if c.objective >= values.shape[1]:
            raise ConfigError(f"The '--pick' rule {rule.text!r} uses {c.text!r} but the study has only "
                              f"{values.shape[1]} objective(s).")
    per_clause = tuple((c.text, int(np.sum(cand & c.holds(values)))) for c in rule.clauses)
    match = cand.copy()
    for c in rule.clauses:
        match &= c.holds(values)
    n_cand, n_match = int(cand.sum()), int(match.sum())
    if n_match == 0:
        counts = "; ".join(f"{t}: {n}" for t, n in per_clause)
        return PickResult(rule, None, n_cand, 0, per_clause, 0,
                          f"No {what} trial satisfies {rule.text!r} ({n_cand} {what} trials; "
                          f"satisfying each clause: {counts}).")
    rows = np.flatnonzero(match)
    f1 = values[rows, 0]
    best = f1.max() if str(directions[0]).lower().endswith("maximize") else f1.min()
    tied = rows[np.abs(f1 - best) <= _TIE]
    chosen = int(tied[knee(values[tied], directions)]) if len(tied) > 1 else int(tied[0])
    number = int(numbers[chosen])
    tie_text = (f"; {len(tied)} trials share that F1 and trial {number} is their knee (closest to the "
                f"ideal point after scaling each cost over them)" if len(tied) > 1 else "")
    reason = (f"Trial {number} has the highest F1 ({values[chosen, 0]:.3f}) of the {n_match} {what} "
              f"trial{'s' if n_match != 1 else ''} satisfying {rule.text!r}{tie_text}.")
    return PickResult(rule, number, n_cand, n_match, per_clause, len(tied), reason)
