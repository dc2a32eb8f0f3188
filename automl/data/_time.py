"""Time columns of capture files: which column is the clock, its unit, and the sample timing.

Recognised time columns (names compared case-insensitively, in this order of
preference when a file has several):

====  ==========================================================  ======================
rank  column names                                                unit
====  ==========================================================  ======================
0     ``seconds_elapsed``, ``elapsed``, ``elapsed (s)``,           seconds
      ``elapsed_s``                                               (Sensor Logger, MetaBase)
1     a time word with a unit: ``epoch (ms)``, ``time (s)``,      from the name
      ``timestamp_us``, ``time_ns`` (words: time, timestamp,
      epoch, epoc, elapsed, t; units: s, sec, ms, us, µs, ns)
2     ``timestamp``                                               nanoseconds (Sensor Logger)
3     ``time``, ``t``                                             seconds
4     date-time text: ``time (-08:00)``, ``datetime``, ``date``,  ISO 8601 text
      or any of the above holding ISO 8601 text
====  ==========================================================  ======================

A recognised time column is never a channel, even when another one is the
clock (MetaBase writes ``epoch (ms)``, ``time (-08:00)`` and ``elapsed (s)``
side by side). Index columns (``index``, ``sample``, ``Unnamed: 0``, ...) are
never channels either. ``time_column`` names the clock explicitly and
``time_unit`` overrides the unit of a numeric clock.

A sample rate outside :data:`RATE_RANGE_HZ` stops with the unit the column
most likely uses (a ``timestamp`` column in seconds read as nanoseconds gives
25 GHz for 25 Hz data).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from automl.data._csv import mostly_numeric, where
from automl.errors import ConfigError, DataError

#: Seconds per unit of a numeric time column.
UNITS: dict[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_UNIT_ALIASES = {"s": "s", "sec": "s", "secs": "s", "seconds": "s", "ms": "ms", "us": "us", "µs": "us",
                 "ns": "ns"}

#: Unit marker of a date-time text column.
DATETIME = "datetime"

#: Plausible sample rates of a motion sensor (Hz). Project requirement (issue 16,
#: item 5): a rate outside it is a unit error, e.g. seconds read as nanoseconds.
RATE_RANGE_HZ: tuple[float, float] = (1.0, 10_000.0)

#: Largest sample-timing jitter of a capture used as it is (fraction of the
#: median interval, see :func:`interval_stats`); a capture above it is
#: resampled onto a uniform clock. Project requirement: 5 %.
MAX_JITTER = 0.05

#: Largest spread of the per-capture rates, ``max / min - 1``, taken as one
#: rate; captures further apart are resampled to one rate. Project requirement: 5 %.
MAX_RATE_MISMATCH = 0.05

#: An interval longer than this many median intervals is a gap (samples
#: missing), not jitter: 1.5 is the midpoint between one interval (no sample
#: missing) and two (one sample missing).
GAP_FACTOR = 1.5

_ELAPSED = re.compile(r"^(seconds_elapsed|elapsed|elapsed\s*\(\s*s\s*\)|elapsed_s)$")
_WITH_UNIT = re.compile(
    r"^(?P<word>time|timestamp|epoch|epoc|elapsed|t)\s*(?:\(\s*(?P<u1>[a-zµ]+)\s*\)|[_ ](?P<u2>[a-zµ]+))$"
)
_ZONED = re.compile(r"^(time|timestamp|datetime|date)\s*\(\s*(utc)?\s*[+-]\d{2}:?\d{2}\s*\)$")
_DATE_NAMES = {"datetime", "date", "date_time", "time_iso", "timestamp_iso", "iso_time"}
_LOOKS_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}[T ]\d")
_INDEX = re.compile(r"^(index|idx|sample|sample_index|sample index|row|#|unnamed:\s*\d+)$")


@dataclass(frozen=True)
class TimeColumn:
    """A column used as the clock.

    Attributes:
        name: column name as in the header.
        unit: ``s``, ``ms``, ``us``, ``ns`` or :data:`DATETIME`.
        rank: preference (lower first), see the module docstring.
        absolute: the values are a wall clock (epoch, timestamp, date-time)
            shared by files of one recording, not an elapsed time that starts
            at 0 in each file.
    """

    name: str
    unit: str
    rank: int
    absolute: bool


def _by_name(name: str) -> TimeColumn | None:
    low = name.strip().lower()
    if _ELAPSED.match(low):
        return TimeColumn(name, "s", 0, False)
    if _ZONED.match(low) or low in _DATE_NAMES:
        return TimeColumn(name, DATETIME, 4, True)
    m = _WITH_UNIT.match(low)
    if m:
        unit = _UNIT_ALIASES.get(m.group("u1") or m.group("u2") or "")
        if unit is not None:
            return TimeColumn(name, unit, 1, m.group("word") in ("timestamp", "epoch", "epoc"))
    if low == "timestamp":
        return TimeColumn(name, "ns", 2, True)
    if low in ("time", "t"):
        return TimeColumn(name, "s", 3, False)
    return None


def is_index_column(name: str) -> bool:
    """True for row-counter columns that are never channels (``index``, ``Unnamed: 0``, ...)."""
    return bool(_INDEX.match(name.strip().lower()))


def time_columns(header: Sequence[str], sample: dict[str, list[str]]) -> list[TimeColumn]:
    """Every recognised time column of a file, most preferred first.

    Args:
        header: column names.
        sample: column -> first cells, to tell date-time text from numbers.
    """
    found = []
    for name in header:
        col = _by_name(name)
        if col is None:
            continue
        cells = sample.get(name, [])[:100]
        cells = [c for c in cells if c.strip()]
        if col.unit != DATETIME and cells and _LOOKS_DATE.match(cells[0]) and not mostly_numeric(cells):
            col = TimeColumn(name, DATETIME, 4, True)
        found.append(col)
    found.sort(key=lambda c: c.rank)
    return found


def choose_time_column(path: Path, header: Sequence[str], sample: dict[str, list[str]],
                       time_column: str = "auto", time_unit: str | None = None,
                       prefer_absolute: bool = False) -> TimeColumn | None:
    """The clock of a file: ``time_column`` if named, else the most preferred recognised one.

    Args:
        path, header, sample: the file, its column names and first cells.
        time_column: a column name, ``"auto"`` or ``"none"`` (no clock).
        time_unit: overrides the unit of a numeric clock (``s``, ``ms``, ``us``, ``ns``).
        prefer_absolute: rank wall clocks first (to align several files of
            one recording).

    Returns:
        The column, or None if there is none (or ``time_column="none"``).

    Raises:
        DataError: ``time_column`` is not in the header, or ``time_unit``
            is given for a date-time column.
    """
    if time_column == "none":
        return None
    found = time_columns(header, sample)
    if time_column != "auto":
        if time_column not in header:
            raise DataError(
                f"{where(path, 1, time_column)}: missing column {time_column!r} (the time column asked for with "
                f"--time-column / data.time_column); the header has {list(header)}"
            )
        col = next((c for c in found if c.name == time_column), None)
        if col is None:
            cells = [c for c in sample.get(time_column, []) if c.strip()]
            dated = bool(cells) and not mostly_numeric(cells) and bool(_LOOKS_DATE.match(cells[0]))
            col = TimeColumn(time_column, DATETIME if dated else "s", 0, dated)
    elif found:
        col = min(found, key=lambda c: (not c.absolute, c.rank)) if prefer_absolute else found[0]
    else:
        return None
    if time_unit is not None:
        if col.unit == DATETIME:
            raise DataError(
                f"{where(path, 1, col.name)}: the column holds date-time text, so --time-unit {time_unit} "
                "(data.time_unit) does not apply; drop it"
            )
        col = TimeColumn(col.name, time_unit, col.rank, col.absolute)
    return col


def check_time_unit(unit: str | None) -> str | None:
    """``unit`` if it is None or one of :data:`UNITS`.

    Raises:
        ConfigError: any other value.
    """
    if unit is not None and unit not in UNITS:
        raise ConfigError(f"The 'time_unit' parameter must be one of {list(UNITS)}. Got {unit!r} instead.")
    return unit


def interval_stats(intervals_s: np.ndarray) -> tuple[float, float, int]:
    """Median interval, jitter and gap count of a capture's sample times.

    Definitions, with ``dt`` the intervals and ``T = median(dt)``:

    * a **gap** is an interval ``dt > GAP_FACTOR * T`` (1.5 T): one or more
      samples are missing there;
    * **jitter** is ``std(dt[dt <= 1.5 T]) / T`` (population std, ``ddof=0``),
      the timing noise of consecutive samples relative to the period.

    Gaps are excluded from the jitter because they are not timing noise: the
    real boxing-punches files have rows cut out at almost every label change
    (30-54 gaps per file, up to 128 intervals long), which makes the plain
    ``std(dt) / T`` 0.34-2.89 although their jitter as defined here is only
    0.13-0.19 % (about 9.95 ms +- 0.02 ms, 100.5 Hz).

    Args:
        intervals_s: ``(n_samples - 1,) float64`` time between consecutive
            samples, seconds, all ``> 0``.

    Returns:
        ``(median_interval_s, jitter, n_gaps)``: seconds, fraction (0.01 = 1 %), count.
    """
    dt = np.asarray(intervals_s, dtype=np.float64)
    median = float(np.median(dt))
    regular = dt[dt <= GAP_FACTOR * median]
    jitter = float(np.std(regular) / median)
    return median, jitter, int(dt.size - regular.size)


@dataclass
class Timing:
    """The clock of one capture.

    Attributes:
        column: the time column (None: rows at a given rate).
        t: ``(n_samples,) float64`` seconds since the first sample.
        start_s: the first sample's time on the column's own clock (s); only
            meaningful between files of one recording with an absolute clock.
        rate_hz: ``1 / median interval``.
        jitter: see :func:`interval_stats`; 0 for a given rate.
        gaps: intervals longer than 1.5 median intervals.
        worst_row: file row ending the interval farthest from the median
            (for messages), or None.
    """

    column: str | None
    t: np.ndarray
    start_s: float
    rate_hz: float
    jitter: float = 0.0
    gaps: int = 0
    worst_row: int | None = None


def fixed_rate(n: int, rate_hz: float) -> Timing:
    """Timing of ``n`` rows sampled at ``rate_hz`` (no time column)."""
    return Timing(None, np.arange(n, dtype=np.float64) / rate_hz, 0.0, float(rate_hz))


def timing(path: Path, col: TimeColumn, raw: np.ndarray, rows: np.ndarray, shown: Sequence[str] | None = None) -> Timing:
    """Sample timing of one capture from its clock column.

    Args:
        path: the file.
        col: the clock column.
        raw: ``(n,)`` its values: int64 or float64 in ``col.unit``, or int64
            nanoseconds for a date-time column.
        rows: ``(n,)`` file rows of the values.
        shown: the cells as written, for messages (default: the numbers).

    Raises:
        DataError: fewer than 2 samples, time not strictly increasing, or a
            rate outside :data:`RATE_RANGE_HZ` (naming the likely unit).
    """
    n = int(raw.size)
    unit = "ns" if col.unit == DATETIME else col.unit
    factor = UNITS[unit]
    if n < 2:
        raise DataError(
            f"{where(path, int(rows[0]) if n else 2, col.name)}: only {n} data row; "
            "at least 2 samples are needed to infer the sample rate"
        )
    steps = np.diff(raw)  # exact for int64 (nanosecond timestamps lose precision as float64)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        i = int(bad[0])
        text = (lambda k: str(shown[k]).strip()) if shown is not None else (lambda k: repr(raw[k].item()))
        raise DataError(
            f"{where(path, int(rows[i + 1]), col.name)}: time {text(i + 1)} is not after the previous sample's "
            f"{text(i)} (row {int(rows[i])}); sample times must strictly increase"
        )
    dt = steps.astype(np.float64) * factor
    median, jitter, gaps = interval_stats(dt)
    rate = 1.0 / median
    lo, hi = RATE_RANGE_HZ
    if not lo <= rate <= hi:
        raise DataError(f"{where(path, column=col.name)}: {_unit_hint(col, median, rate)}")
    regular = np.flatnonzero(dt <= GAP_FACTOR * median)
    worst = int(regular[np.argmax(np.abs(dt[regular] - median))]) if regular.size else 0
    t = (raw - raw[0]).astype(np.float64) * factor
    return Timing(col.name, t, float(raw[0]) * factor, rate, jitter, gaps, int(rows[worst + 1]))


def _unit_hint(col: TimeColumn, median_s: float, rate: float) -> str:
    lo, hi = RATE_RANGE_HZ
    head = (f"the median interval between samples, {median_s:.4g} s, gives {rate:.4g} Hz, outside the plausible "
            f"{lo:g} Hz - {hi / 1000:g} kHz of a motion sensor")
    if col.unit == DATETIME:
        return f"{head}; check the date-times of this column"
    raw_median = median_s / UNITS[col.unit]
    fits = []
    for unit, factor in UNITS.items():
        r = 1.0 / (raw_median * factor)
        if unit != col.unit and lo <= r <= hi:
            fits.append((abs(np.log10(r / 100.0)), unit, r))
    if not fits:
        return f"{head}; no time unit gives a plausible rate: check the column, or name another with --time-column"
    _, unit, r = min(fits)
    return (f"{head} when read as {_UNIT_WORDS[col.unit]}; {col.name!r} looks like {_UNIT_WORDS[unit]}, not "
            f"{_UNIT_WORDS[col.unit]} ({r:.4g} Hz): use --time-unit {unit} (data.time_unit)")
