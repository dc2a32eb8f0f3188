"""Pieces shared by the importers of other tools' formats.

* :class:`_CaptureSet` reads the capture CSV files an import refers to, with
  the checks of :mod:`automl.data._readers` (table reading, cell parsing,
  time column, sample rate and jitter, same channels in every file).
* :func:`_load_json` reads a JSON file into Python objects; :func:`_jwhere`
  and the ``_get_*`` helpers report a bad JSON value as one
  :class:`~automl.errors.DataError` naming the file, the entry (a JSON path
  such as ``[0].sessions[1].segments[3]``) and the field.
* :func:`_check_spans` checks the segments of each capture against each other
  (no overlap) once they are in samples.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from automl.data._dataset import Capture, Segment
from automl.data._readers import (
    _TIME_NAMES,
    MAX_RATE_MISMATCH,
    TIME_COLUMNS,
    _check_channels_arg,
    _check_not_empty,
    _check_rates,
    _check_same_channels,
    _mostly_numeric,
    _parse_float,
    _read_table,
    _sample_rate,
    _Table,
    _where,
)
from automl.errors import ConfigError, DataError

# --------------------------------------------------------------------------- #
# Capture files
# --------------------------------------------------------------------------- #


class _CaptureSet:
    """Reads capture CSV files one by one and keeps what the dataset needs.

    Each file is one capture: an optional time column (:data:`TIME_COLUMNS`),
    channel columns and, optionally, text columns. As in
    :func:`~automl.data.read_labelled_csv_folder`, the channels are the
    columns (other than the time columns and ``reserved``) in which more than
    half of the filled cells are numbers, unless ``channels`` names them; a
    text column whose value is the same on every row becomes capture
    metadata. Every file needs the same channels (reordered to the first
    file's).

    Sample rate: from the time column (``1 / median interval``, jitter limit
    as in :func:`~automl.data._readers.interval_stats`). A file without a time
    column needs ``sample_rate_hz``; if both exist they must agree within
    :data:`~automl.data._readers.MAX_RATE_MISMATCH`.

    Args:
        channels: channel columns to read, in this order; ``None`` for all
            numeric columns.
        reserved: further columns that are never channels (e.g. the time
            column named by a Label Studio config).
        sample_rate_hz: rate (Hz) of files without a time column; ``None`` if
            every file must have one.
    """

    def __init__(
        self,
        channels: Sequence[str] | None,
        reserved: set[str] | frozenset[str] = frozenset(),
        sample_rate_hz: float | None = None,
    ) -> None:
        self.reserved = set(reserved) | set(_TIME_NAMES)
        self.wanted = _check_channels_arg(channels, self.reserved)
        if sample_rate_hz is not None:
            try:
                rate = float(sample_rate_hz)
            except (TypeError, ValueError):
                rate = float("nan")
            if not math.isfinite(rate) or rate <= 0:
                raise ConfigError(
                    f"The 'sample_rate_hz' parameter must be a positive number of Hz or None. "
                    f"Got {sample_rate_hz!r} instead."
                )
            sample_rate_hz = rate
        self.sample_rate_hz = sample_rate_hz
        self.first: tuple[Path, tuple[str, ...]] | None = None
        self.rates: list[tuple[Path, float]] = []

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel names (those of the first file read)."""
        assert self.first is not None
        return self.first[1]

    def read(self, file: Path, name: str) -> tuple[Capture, _Table]:
        """Read one capture file.

        Returns:
            The :class:`Capture` (``data`` ``(n_samples, n_channels) float32``
            in the file's units, metadata ``file`` = file name plus constant
            text columns) and the table of strings (for time look-ups).

        Raises:
            DataError: as :func:`~automl.data.read_labelled_csv_folder` for
                the file, naming file, row and column.
        """
        table = _read_table(file)
        _check_not_empty(table)
        others = [c for c in table.header if c not in self.reserved]
        if self.wanted is None:
            numeric = tuple(c for c in others if _mostly_numeric(table.columns[c]))
            if not numeric:
                raise DataError(
                    f"{_where(file, 1)}: no numeric channel column; the header has {table.header} and "
                    f"the columns {sorted(self.reserved & set(table.header))} are not channels"
                )
            file_channels = numeric
        else:
            for c in self.wanted:
                table.require(c, " (asked for in 'channels')")
            file_channels = self.wanted
        if self.first is None:
            self.first = (file, file_channels)
        else:
            _check_same_channels(self.first[0], self.first[1], file, file_channels)
        data = np.column_stack([_parse_float(table, c) for c in self.channels]).astype(np.float32)
        self.rates.append((file, self._rate(table)))

        metadata: dict[str, str] = {"file": file.name}
        for c in others:
            if c in self.channels:
                continue
            values = set(table.columns[c])
            if len(values) == 1:
                value = next(iter(values)).strip()
                if value and not _mostly_numeric((value,)):
                    metadata[c] = value
        return Capture(name=name, data=data, metadata=metadata), table

    def _rate(self, table: _Table) -> float:
        has_time = any(c in table.columns for c in _TIME_NAMES)
        if not has_time:
            if self.sample_rate_hz is None:
                raise DataError(
                    f"{_where(table.path, 1)}: no time column; the header has {table.header}, expected one of "
                    f"{list(_TIME_NAMES)} (seconds_elapsed/time/t in s, timestamp in ns), or give "
                    "sample_rate_hz= for files without one"
                )
            return self.sample_rate_hz
        rate = _sample_rate(table)
        if self.sample_rate_hz is not None:
            ratio = max(rate, self.sample_rate_hz) / min(rate, self.sample_rate_hz) - 1.0
            if ratio > MAX_RATE_MISMATCH:
                column = next(c for c, _ in TIME_COLUMNS if c in table.columns)
                raise DataError(
                    f"{_where(table.path, 2, column)}: the time column gives {rate:.4g} Hz but sample_rate_hz "
                    f"is {self.sample_rate_hz:.4g} Hz ({ratio:.1%} apart, more than "
                    f"{MAX_RATE_MISMATCH:.0%}); drop sample_rate_hz or fix the time column"
                )
        return rate

    def dataset_rate(self) -> float:
        """Median of the files' rates; DataError if they spread more than 5 %."""
        return _check_rates(self.rates)


# --------------------------------------------------------------------------- #
# JSON
# --------------------------------------------------------------------------- #


def _jwhere(path: Path, entry: str | None = None, field: str | None = None) -> str:
    """Location prefix of a JSON error: ``file, entry [0].sessions[1], field 'end'``."""
    parts = [str(path)]
    if entry:
        parts.append(f"entry {entry}")
    if field is not None:
        parts.append(f"field {field!r}")
    return ", ".join(parts)


def _load_json(path: Path, what: str) -> Any:
    """The parsed content of a JSON file.

    Raises:
        DataError: missing or unreadable file, not UTF-8, invalid JSON (with
            the line and column of the first problem).
    """
    if not path.exists():
        raise DataError(f"{path}: file not found; give the {what}")
    if not path.is_file():
        raise DataError(f"{path}: is a folder, not a file; give the {what}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8 JSON") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}, line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg}); "
            f"the {what} must be valid JSON"
        ) from None


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )


def _get(path: Path, obj: Any, entry: str, key: str, kind: type | tuple[type, ...], expected: str) -> Any:
    """``obj[key]``, which must exist and be of ``kind``; DataError naming file, entry and field."""
    if key not in obj:
        raise DataError(
            f"{_jwhere(path, entry, key)}: missing key {key!r}; the entry has {sorted(obj)}, expected {expected}"
        )
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise DataError(f"{_jwhere(path, entry, key)}: {_type_name(value)} ({_short(value)}); expected {expected}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _object(path: Path, value: Any, entry: str, expected: str) -> dict:
    """``value`` if it is a JSON object; DataError naming the entry otherwise."""
    if not isinstance(value, dict):
        raise DataError(f"{_jwhere(path, entry)}: {_type_name(value)} ({_short(value)}); expected {expected}")
    return value


def _text(path: Path, obj: dict, entry: str, key: str, expected: str) -> str:
    """A non-empty string field (numbers are accepted and turned into text)."""
    value = _get(path, obj, entry, key, (str, int, float), expected)
    text = value if isinstance(value, str) else _short(value)
    if not text.strip():
        raise DataError(f"{_jwhere(path, entry, key)}: empty text; expected {expected}")
    return text.strip()


def _number(path: Path, obj: dict, entry: str, key: str, expected: str) -> float:
    """A finite number field (JSON int or float, not true/false, not a string)."""
    value = _get(path, obj, entry, key, (int, float, str), expected)
    if isinstance(value, str):
        raise DataError(f"{_jwhere(path, entry, key)}: the string {_short(value)}; expected {expected}")
    number = float(value)
    if not math.isfinite(number):
        raise DataError(f"{_jwhere(path, entry, key)}: {value!r} is not a finite number; expected {expected}")
    return number


# --------------------------------------------------------------------------- #
# Segments
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class _Span:
    """A segment with the place it came from, for error messages.

    Attributes:
        segment: the segment in samples (start inclusive, end exclusive).
        where: location prefix of the entry's start (``file, entry [0]..., field 'start'``).
        entry: the entry alone, to name it in another entry's error.
        shown: how the source wrote the span, e.g. ``2..8 (end inclusive)``.
    """

    segment: Segment
    where: str
    entry: str
    shown: str


def _check_spans(spans: list[_Span], order: dict[str, int], note: str = "") -> list[Segment]:
    """Segments sorted by capture order then start; DataError on the first overlap.

    Args:
        spans: segments with their source locations.
        order: capture name -> position in the dataset.
        note: extra words for the overlap message (how ends are counted).
    """
    ranked = sorted(spans, key=lambda s: (order[s.segment.capture], s.segment.start, s.segment.end))
    for a, b in zip(ranked, ranked[1:]):
        if a.segment.capture == b.segment.capture and b.segment.start < a.segment.end:
            shared = min(a.segment.end, b.segment.end) - b.segment.start
            raise DataError(
                f"{b.where}: segment {b.shown} of capture {b.segment.capture!r} overlaps segment {a.shown} "
                f"of entry {a.entry} ({shared} shared sample{'s' if shared != 1 else ''}{note}); "
                "segments of one capture must not overlap"
            )
    return [s.segment for s in ranked]
