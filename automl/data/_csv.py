"""CSV primitives: tables of strings for small files, bounded-memory column scans for captures.

Two readers, one set of checks (header names, ragged rows, encoding):

* :func:`read_table` keeps every cell as a string; for small files
  (``labels.csv``, ``metadata.csv``, mapping files).
* :class:`CsvScan` reads a capture file in chunks of :data:`CHUNK_ROWS` rows
  and converts each chunk at once into the numpy arrays the caller asked
  for (:meth:`CsvScan.read`), so a capture costs its arrays plus one chunk
  of strings, not every cell as a Python string. ``benchmarks/large_capture.py``
  measures the peak memory on a 5-million-row file.

Row numbers in messages are 1-based file lines as in a text editor (the
header is row 1; blank lines are skipped but counted). Cells may use a
decimal comma (``"0,0287"``, quoted in a comma-separated file, or bare in a
``;``-separated one): see :func:`parse_numbers`. Files are only read, never
written.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from automl.errors import DataError

#: Rows converted to arrays at a time. 16,384 rows of ~10 cells hold ~10 MB of
#: Python strings at once; larger chunks do not read faster (measured with
#: benchmarks/large_capture.py).
CHUNK_ROWS = 16_384

#: Delimiters a CSV file may use; the one found most often in the header line
#: wins, ``,`` on a tie (spreadsheets in decimal-comma locales write ``;``).
DELIMITERS: tuple[str, ...] = (",", ";", "\t")

# A number written with a decimal comma: digits, one comma, digits (e.g. 0,0287 or -12,5).
_LOOKS_DATE_TIME = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d+,\d+(?:[eE][+-]?\d+)?\s*$")


def where(path: Path, row: int | None = None, column: str | None = None) -> str:
    """Location prefix of an error message: ``file, row 5, column 'accX'``."""
    parts = [str(path)]
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column!r}")
    return ", ".join(parts)


def _sniff_delimiter(first_line: str) -> str:
    counts = [first_line.count(d) for d in DELIMITERS]
    best = max(range(len(DELIMITERS)), key=lambda i: (counts[i], -i))
    return DELIMITERS[best] if counts[best] else ","


def _check_header(path: Path, header: list[str]) -> list[str]:
    header = [h.strip() for h in header]
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            raise DataError(f"{where(path, 1)}: column {i + 1} of the header has no name; give every column a name")
        if name in seen:
            raise DataError(
                f"{where(path, 1, name)}: column name {name!r} appears twice (columns {seen[name] + 1} "
                f"and {i + 1}); column names must be unique"
            )
        seen[name] = i
    return header


class _Rows:
    """Data rows of an open CSV file with their file rows; checks the header and ragged rows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fh = open(path, newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise DataError(f"{where(path)}: cannot be read ({exc.strerror or exc})") from None
        try:
            first = self._guard(self._fh.readline)
            self._fh.seek(0)
            self.delimiter = _sniff_delimiter(first)
            self._reader = csv.reader(self._fh, delimiter=self.delimiter)
            header = self._guard(lambda: next(self._reader, None))
            if header is None:
                raise DataError(f"{where(path, 1)}: the file is empty; expected a header row of column names")
            self.header = _check_header(path, header)
        except BaseException:
            self._fh.close()
            raise

    def _guard(self, read: Callable):
        try:
            return read()
        except UnicodeDecodeError as exc:
            raise DataError(f"{where(self.path)}: not UTF-8 text ({exc.reason}); save it as a UTF-8 CSV file") from None
        except csv.Error as exc:
            raise DataError(f"{where(self.path, self._reader.line_num)}: malformed CSV ({exc})") from None
        except OSError as exc:
            raise DataError(f"{where(self.path)}: cannot be read ({exc.strerror or exc})") from None

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[tuple[list[list[str]], list[int]]]:
        """``(rows, file rows)`` of up to ``size`` data rows at a time; closes the file at the end."""
        n = len(self.header)
        reader = self._reader
        try:
            while True:
                rows: list[list[str]] = []
                lines: list[int] = []

                def fill() -> None:
                    for row in reader:
                        if len(row) != n:
                            if not row or (len(row) == 1 and not row[0].strip()):
                                continue  # blank line (a row of empty cells is kept and reported)
                            hint = ("; numbers with a decimal comma must be quoted (\"0,5\") or the columns "
                                    "separated by ';'" if len(row) > n and self.delimiter == "," and
                                    any(_DECIMAL_COMMA.match(f"{a},{b}") for a, b in zip(row, row[1:])) else "")
                            raise DataError(
                                f"{where(self.path, reader.line_num)}: {len(row)} cells but the header (row 1) has "
                                f"{n} columns; every row needs one cell per column{hint}"
                            )
                        rows.append(row)
                        lines.append(reader.line_num)
                        if len(rows) >= size:
                            return

                self._guard(fill)
                if rows:
                    yield rows, lines
                if len(rows) < size:
                    return
        finally:
            self._fh.close()

    def close(self) -> None:
        self._fh.close()


# --------------------------------------------------------------------------- #
# Small tables of strings
# --------------------------------------------------------------------------- #


@dataclass
class Table:
    """A CSV file as strings, with the file row of every data row.

    Attributes:
        path: the file.
        header: column names (stripped), in file order.
        columns: column name -> cell strings, one per data row.
        rows: ``(n_rows,)`` 1-based file row of each data row (the header is
            row 1; blank lines are skipped but still counted).
    """

    path: Path
    header: list[str]
    columns: dict[str, tuple[str, ...]]
    rows: list[int]

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    def require(self, name: str, why: str = "") -> tuple[str, ...]:
        """The cells of column ``name``; DataError naming row 1 if absent."""
        if name not in self.columns:
            raise DataError(f"{where(self.path, 1, name)}: missing column {name!r}{why}; the header has {self.header}")
        return self.columns[name]


def read_table(path: Path, required: Sequence[str] = (), empty: str | None = None) -> Table:
    """Read a (small) CSV file into strings, keeping the file row of every data row.

    Args:
        path: the file.
        required: columns it must have.
        empty: if given, a file without data rows is an error with this text
            (e.g. ``"labels.csv has a header (row 1) but no segments; ..."``).

    Raises:
        DataError: unreadable or non-UTF-8 file, empty file, unnamed or
            duplicate header column, a row with a different number of cells
            than the header, a missing required column (row 1), no data row
            when ``empty`` is given (row 2).
    """
    rows_in = _Rows(Path(path))
    rows: list[list[str]] = []
    lines: list[int] = []
    for chunk, chunk_lines in rows_in.chunks():
        rows.extend(chunk)
        lines.extend(chunk_lines)
    cells = list(zip(*rows)) if rows else [() for _ in rows_in.header]
    table = Table(rows_in.path, rows_in.header, dict(zip(rows_in.header, cells)), lines)
    for column in required:
        table.require(column)
    if empty is not None and not table.n_rows:
        raise DataError(f"{where(table.path, 2)}: {empty}")
    return table


# --------------------------------------------------------------------------- #
# Numbers
# --------------------------------------------------------------------------- #


def is_number(text: str) -> bool:
    """True if ``text`` is a number, with a decimal point or a decimal comma."""
    try:
        float(text)
        return True
    except ValueError:
        return bool(_DECIMAL_COMMA.match(text))


def mostly_numeric(values: Sequence[str]) -> bool:
    """True if more than half of the non-empty cells are numbers (see :func:`is_number`).

    Such a column is a channel; its other cells are then reported as bad
    values by :func:`parse_numbers` instead of silently turning the column
    into text.
    """
    try:
        np.asarray(values, dtype=np.float64)  # the common case, vectorised
        return len(values) > 0
    except ValueError:
        pass
    counts = Counter(v for v in values if v.strip())  # label and text columns have few distinct values
    filled = sum(counts.values())
    return filled > 0 and sum(n for v, n in counts.items() if is_number(v)) * 2 > filled


def decimal_comma(values: Sequence[str]) -> bool:
    """True if some cell is written with a decimal comma (``0,0287``) and none with a point."""
    if "," not in "".join(values):
        return False
    return any(_DECIMAL_COMMA.match(v) for v in values) and not any("." in v for v in values)


def parse_numbers(path: Path, column: str, values: Sequence[str], rows: Sequence[int],
                  comma: bool = False) -> np.ndarray:
    """Cells as ``(n,) float64``; every cell must be a finite number.

    Args:
        path, column, rows: where the cells come from (for messages);
            ``rows[i]`` is the file row of ``values[i]``.
        values: the cells.
        comma: the column uses a decimal comma (``0,5`` is one half).

    Raises:
        DataError: naming the file, row and column of the first empty,
            non-numeric, NaN or infinite cell.
    """
    cells = [v.replace(",", ".") for v in values] if comma else values
    try:
        out = np.asarray(cells, dtype=np.float64)
    except ValueError:
        for i, value in enumerate(cells):
            try:
                float(value)
            except ValueError:
                at = where(path, rows[i], column)
                if not value.strip():
                    raise DataError(f"{at}: empty cell; every {column!r} cell needs a number") from None
                raise DataError(f"{at}: non-numeric value {values[i]!r}; expected a number") from None
        out = np.array([float(v) for v in cells], dtype=np.float64)  # numpy stricter than float()
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{where(path, rows[i], column)}: {values[i].strip()!r} is not a finite number "
            "(NaN and infinite values are not allowed); fill in the value or delete the row"
        )
    return out


def parse_datetimes(path: Path, column: str, values: Sequence[str], rows: Sequence[int]) -> np.ndarray:
    """ISO 8601 date-time cells as ``(n,) int64`` nanoseconds since 1970-01-01 UTC.

    Cells with a zone (``2019-09-23T13:33:40.089-08:00``, ``...Z``) are
    converted to UTC; cells without one are read as UTC, so a file written in
    one zone keeps its intervals. Parsed with ``pandas.to_datetime(format="ISO8601")``.

    Raises:
        DataError: naming the file, row and column of the first cell that is
            not an ISO 8601 date-time.
    """
    import pandas as pd

    parsed = pd.to_datetime(pd.Series(list(values), dtype=object), format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{where(path, rows[i], column)}: {values[i].strip()!r} is not an ISO 8601 date-time (e.g. "
            "2022-04-20 00:00:02.818000 or 2022-04-20T00:00:02.818+02:00); fix the cell or name another time "
            "column with --time-column"
        )
    return parsed.dt.as_unit("ns").astype("int64").to_numpy()


def parse_datetime(text: str) -> int | None:
    """One ISO 8601 date-time as nanoseconds since 1970-01-01 UTC (as :func:`parse_datetimes`), or None."""
    import pandas as pd

    if not _LOOKS_DATE_TIME.match(text):
        return None
    parsed = pd.to_datetime(pd.Series([text.strip()], dtype=object), format="ISO8601", utc=True, errors="coerce")
    return None if parsed.isna().iloc[0] else int(parsed.dt.as_unit("ns").astype("int64").iloc[0])


def parse_integers(values: Sequence[str]) -> np.ndarray | None:
    """Cells as ``(n,) int64`` if every one is a whole number written without a point, else None."""
    try:
        return np.asarray(values, dtype=np.int64)
    except (ValueError, OverflowError):
        return None


def _float32(path: Path, column: str, values: Sequence[str], rows: Sequence[int], comma: bool) -> np.ndarray:
    wide = parse_numbers(path, column, values, rows, comma)
    with np.errstate(over="ignore"):
        out = wide.astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{where(path, rows[i], column)}: {values[i].strip()!r} is beyond the float32 range (+-3.4e38) "
            "samples are stored in; fix the value or delete the row"
        )
    return out


# --------------------------------------------------------------------------- #
# Bounded-memory scans of capture files
# --------------------------------------------------------------------------- #

#: What :meth:`CsvScan.read` makes of a column.
NUMBER, TIME, DATES, TEXT, RUNS, CONSTANT = "number", "time", "dates", "text", "runs", "constant"


@dataclass
class Runs:
    """A text column as runs of equal values.

    Attributes:
        values: the value of each run (stripped).
        starts: ``(n_runs,) int64`` first data row index (0-based) of each run.
        n: number of data rows.
    """

    values: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    n: int = 0

    def add(self, cells: Sequence[str]) -> None:
        for i, v in enumerate(cells):
            v = v.strip()
            if not self.values or v != self.values[-1]:
                self.values.append(v)
                self.starts.append(self.n + i)
        self.n += len(cells)

    def spans(self) -> list[tuple[str, int, int]]:
        """``(value, start, end)`` per run, end exclusive."""
        ends = [*self.starts[1:], self.n]
        return list(zip(self.values, self.starts, ends))


@dataclass
class Scan:
    """The columns of a capture file, converted.

    Attributes:
        path: the file.
        header: column names in file order.
        rows: ``(n_rows,) int32`` file row of each data row.
        numbers: NUMBER columns: ``(n_rows,) float32`` (the
            dtype of ``Capture.data``; a value beyond float32's range is an error).
        times: TIME columns: ``(n_rows,) int64`` if every cell is a whole
            number, else ``float64`` (units of the file); DATES columns:
            ``(n_rows,) int64`` nanoseconds since 1970 (UTC).
        text: TEXT columns: the cells as a list of strings.
        runs: RUNS columns as :class:`Runs`.
        constants: CONSTANT columns: the stripped value if every row holds
            the same non-empty text, else None.
    """

    path: Path
    header: list[str]
    rows: np.ndarray
    numbers: dict[str, np.ndarray] = field(default_factory=dict)
    times: dict[str, np.ndarray] = field(default_factory=dict)
    text: dict[str, list[str]] = field(default_factory=dict)
    runs: dict[str, Runs] = field(default_factory=dict)
    constants: dict[str, str | None] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.rows.size)


class CsvScan:
    """One capture CSV: its header and first rows now, the converted columns on :meth:`read`.

    The first :data:`CHUNK_ROWS` rows (:attr:`sample`) let the caller decide
    what each column is (time, channel, label, metadata) before the file is
    converted; a column classified from those rows and holding bad cells
    further down is reported at the row of the first bad cell.

    Raises:
        DataError: as :func:`read_table` for the header and the first rows.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._rows = _Rows(self.path)
        self.header = self._rows.header
        self._chunks = self._rows.chunks()
        try:
            self._first = next(self._chunks, ([], []))
        except BaseException:
            self._rows.close()
            raise

    @property
    def sample(self) -> dict[str, list[str]]:
        """Column name -> cells of the first rows (at most :data:`CHUNK_ROWS`)."""
        rows = self._first[0]
        return {name: [r[j] for r in rows] for j, name in enumerate(self.header)}

    @property
    def sample_rows(self) -> list[int]:
        """File rows of :attr:`sample`'s cells."""
        return list(self._first[1])

    def read(self, kinds: dict[str, str], commas: set[str] | frozenset[str] = frozenset()) -> Scan:
        """Convert the columns named in ``kinds`` (others are skipped) over the whole file.

        Args:
            kinds: column -> one of NUMBER, TIME, DATES, TEXT, RUNS, CONSTANT.
            commas: NUMBER and TIME columns written with a decimal comma
                (see :func:`decimal_comma`).

        Returns:
            The :class:`Scan`.

        Raises:
            DataError: a bad number (file, row, column), a ragged row or a
                decoding error further down the file.
        """
        index = {name: self.header.index(name) for name in kinds}
        numbers: dict[str, list[np.ndarray]] = {c: [] for c, k in kinds.items() if k == NUMBER}
        times: dict[str, list[np.ndarray]] = {c: [] for c, k in kinds.items() if k in (TIME, DATES)}
        exact: dict[str, bool] = {c: True for c in times}
        text: dict[str, list[str]] = {c: [] for c, k in kinds.items() if k == TEXT}
        runs = {c: Runs() for c, k in kinds.items() if k == RUNS}
        constants: dict[str, str | None] = {}
        first_const: dict[str, str] = {}
        rows: list[np.ndarray] = []

        def chunks():
            if self._first[0]:
                yield self._first
            yield from self._chunks

        try:
            for chunk, lines in chunks():
                rows.append(np.asarray(lines, dtype=np.int32))
                for name, kind in kinds.items():
                    cells = [r[index[name]] for r in chunk]
                    if kind == NUMBER:
                        numbers[name].append(_float32(self.path, name, cells, lines, name in commas))
                    elif kind == TIME:
                        ints = parse_integers(cells) if exact[name] and name not in commas else None
                        if ints is None:
                            exact[name] = False
                            ints = parse_numbers(self.path, name, cells, lines, name in commas)
                        times[name].append(ints)
                    elif kind == DATES:
                        times[name].append(parse_datetimes(self.path, name, cells, lines))
                    elif kind == TEXT:
                        text[name].extend(c.strip() for c in cells)
                    elif kind == RUNS:
                        runs[name].add(cells)
                    elif kind == CONSTANT:
                        if name not in first_const:
                            first_const[name] = cells[0].strip()
                            constants[name] = first_const[name] or None
                        if constants[name] is not None and any(c.strip() != first_const[name] for c in cells):
                            constants[name] = None
                    else:
                        raise ValueError(f"unknown column kind {kind!r}")
        finally:
            self._rows.close()
        out_times = {}
        for name, parts in times.items():
            if not exact[name]:
                parts = [p.astype(np.float64) for p in parts]
            out_times[name] = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return Scan(
            path=self.path, header=self.header,
            rows=np.concatenate(rows) if rows else np.zeros(0, np.int32),
            numbers={c: np.concatenate(p) if p else np.zeros(0, np.float32) for c, p in numbers.items()},
            times=out_times, text=text, runs=runs, constants=constants,
        )

    def close(self) -> None:
        self._rows.close()


def csv_header(path: Path) -> list[str]:
    """The column names of a capture CSV as :class:`CsvScan` reads them (no row is converted).

    Raises:
        DataError: as :class:`CsvScan` (naming the file).
    """
    scan = CsvScan(path)
    scan.close()
    return scan.header
