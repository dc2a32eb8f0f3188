"""Readers that turn capture folders into a :class:`~automl.data.Dataset`.

Two on-disk formats are understood:

* **Labelled CSV folder** (the boxing-punches format): one CSV per capture,
  one row per sample, a time column, channel columns and a per-sample label
  column. Runs of equal labels become segments.
* **Canonical folder** (our own format)::

      <root>/captures/<capture>.csv   time column + channel columns
      <root>/labels.csv               capture,label,start,end   (samples)
      <root>/metadata.csv             capture,<any other columns>  (optional)

Every problem with the input raises one :class:`~automl.errors.DataError`
whose message names the file, the row (1-based as in a text editor, the header
is row 1) and the column, so that the user can open the file and fix it.
Files are only read, never written.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from automl.data._dataset import Capture, Dataset, Segment
from automl.errors import ConfigError, DataError

#: Recognised time columns, in order of preference, with the factor that turns
#: their values into seconds. Source: the Sensor Logger export used by the
#: boxing-punches data (``seconds_elapsed`` in s, ``timestamp`` in ns, see
#: /work/shared/data/README.md); ``time``/``t`` in s for hand-made files.
TIME_COLUMNS: tuple[tuple[str, float], ...] = (
    ("seconds_elapsed", 1.0),
    ("timestamp", 1e-9),
    ("time", 1.0),
    ("t", 1.0),
)

#: Largest accepted sample-timing jitter of one capture (fraction of the median
#: interval; see :func:`interval_stats`). Project requirement (issue brief).
MAX_JITTER = 0.05

#: Largest accepted spread of the per-capture sample rates, ``max / min - 1``.
#: Project requirement (issue brief): all captures share one rate within 5 %.
MAX_RATE_MISMATCH = 0.05

#: An interval longer than this many median intervals is a gap (one or more
#: samples missing), not jitter. 1.5 is the midpoint between one interval
#: (no sample missing) and two intervals (one sample missing).
GAP_FACTOR = 1.5

#: Required columns of the canonical ``labels.csv``.
LABEL_FILE_COLUMNS: tuple[str, ...] = ("capture", "label", "start", "end")

_TIME_NAMES = tuple(name for name, _ in TIME_COLUMNS)


# --------------------------------------------------------------------------- #
# Low-level table reading
# --------------------------------------------------------------------------- #


def _where(path: Path, row: int | None = None, column: str | None = None) -> str:
    """Location prefix of an error message: ``file, row 5, column 'accX'``."""
    parts = [str(path)]
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column!r}")
    return ", ".join(parts)


@dataclass
class _Table:
    """A CSV file as strings, with the file row of every data row.

    Attributes:
        path: the file.
        header: column names (stripped), in file order.
        columns: column name -> cell strings, one per data row.
        rows: ``(n_rows,)`` 1-based file row number of each data row (the
            header is row 1; blank lines are skipped but still counted).
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
            raise DataError(
                f"{_where(self.path, 1, name)}: missing column {name!r}{why}; "
                f"the header has {self.header}"
            )
        return self.columns[name]


def _read_table(path: Path) -> _Table:
    """Read a CSV file into strings, keeping the file row of every data row.

    The standard-library ``csv`` module is used rather than pandas so that row
    numbers are exact (blank lines and quoted cells included) and every
    problem can be reported as a :class:`DataError`.

    Raises:
        DataError: unreadable or non-UTF-8 file, empty file, unnamed or
            duplicate header column, a row with a different number of cells
            than the header.
    """
    header: list[str] | None = None
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    reader = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise DataError(f"{_where(path, 1)}: the file is empty; expected a header row of column names")
            header = [h.strip() for h in header]
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line (a row of empty cells is kept and reported)
                if len(row) != len(header):
                    raise DataError(
                        f"{_where(path, reader.line_num)}: {len(row)} cells but the header (row 1) has "
                        f"{len(header)} columns; every row needs one cell per column"
                    )
                rows.append(row)
                line_numbers.append(reader.line_num)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{_where(path)}: not UTF-8 text (byte {exc.start}: {exc.reason}); save it as a UTF-8 CSV file"
        ) from None
    except csv.Error as exc:
        row = reader.line_num if reader is not None else None
        raise DataError(f"{_where(path, row)}: malformed CSV ({exc})") from None
    except OSError as exc:
        raise DataError(f"{_where(path)}: cannot be read ({exc.strerror or exc})") from None

    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            raise DataError(
                f"{_where(path, 1)}: column {i + 1} of the header has no name; give every column a name"
            )
        if name in seen:
            raise DataError(
                f"{_where(path, 1, name)}: column name {name!r} appears twice (columns {seen[name] + 1} "
                f"and {i + 1}); column names must be unique"
            )
        seen[name] = i
    cells = list(zip(*rows)) if rows else [() for _ in header]
    return _Table(path, header, dict(zip(header, cells)), line_numbers)


def _parse_float(table: _Table, column: str) -> np.ndarray:
    """Column ``column`` as ``(n_rows,) float64``; every cell must be a finite number.

    Raises:
        DataError: naming the file, row and column of the first empty,
            non-numeric, NaN or infinite cell.
    """
    values = table.require(column)
    try:
        out = np.asarray(values, dtype=np.float64)
    except ValueError:
        for i, value in enumerate(values):
            try:
                float(value)
            except ValueError:
                where = _where(table.path, table.rows[i], column)
                if not value.strip():
                    raise DataError(f"{where}: empty cell; every {column!r} cell needs a number") from None
                raise DataError(f"{where}: non-numeric value {value!r}; expected a number") from None
        out = np.array([float(v) for v in values], dtype=np.float64)  # numpy stricter than float()
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{_where(table.path, table.rows[i], column)}: {values[i].strip()!r} is not a finite number "
            "(NaN and infinite values are not allowed); fill in the value or delete the row"
        )
    return out


def _mostly_numeric(values: tuple[str, ...]) -> bool:
    """True if more than half of the non-empty cells parse as numbers.

    Such a column is a channel; its other cells are then reported as bad
    values by :func:`_parse_float` instead of silently turning the column
    into text.
    """
    try:
        np.asarray(values, dtype=np.float64)
        return bool(values)
    except ValueError:
        pass
    filled = 0
    numbers = 0
    for value in values:
        if value.strip():
            filled += 1
            try:
                float(value)
                numbers += 1
            except ValueError:
                pass
    return filled > 0 and numbers * 2 > filled


# --------------------------------------------------------------------------- #
# Sample timing
# --------------------------------------------------------------------------- #


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
    0.13-0.19 % (about 9.95 ms +- 0.02 ms, 100.5 Hz). Dropped samples are tolerated; segments are
    counted in samples, so a gap only shortens the time span of its window.

    Args:
        intervals_s: ``(n_samples - 1,) float64`` time between consecutive
            samples, seconds, all ``> 0``.

    Returns:
        ``(median_interval_s, jitter, n_gaps)``: seconds, fraction (0.01 = 1 %),
        count.
    """
    dt = np.asarray(intervals_s, dtype=np.float64)
    median = float(np.median(dt))
    regular = dt[dt <= GAP_FACTOR * median]
    jitter = float(np.std(regular) / median)
    return median, jitter, int(dt.size - regular.size)


def _time_column(table: _Table) -> tuple[str, float]:
    """The preferred time column present in the table and its factor to seconds."""
    for name, scale in TIME_COLUMNS:
        if name in table.columns:
            return name, scale
    raise DataError(
        f"{_where(table.path, 1)}: no time column; the header has {table.header}, "
        f"expected one of {list(_TIME_NAMES)} (seconds_elapsed/time/t in s, timestamp in ns)"
    )


def _sample_rate(table: _Table) -> float:
    """Sample rate (Hz) of one capture from its time column.

    Raises:
        DataError: fewer than 2 rows, a bad time cell, time not strictly
            increasing, or jitter above :data:`MAX_JITTER`.
    """
    column, scale = _time_column(table)
    if table.n_rows < 2:
        raise DataError(
            f"{_where(table.path, table.rows[0], column)}: only 1 data row; "
            "at least 2 samples are needed to infer the sample rate"
        )
    values = table.columns[column]
    try:  # integer nanosecond timestamps lose precision as float64; diff them as int64
        ints = np.asarray(values, dtype=np.int64)
        dt = np.diff(ints).astype(np.float64) * scale
    except (ValueError, OverflowError):
        dt = np.diff(_parse_float(table, column)) * scale
    bad = np.flatnonzero(dt <= 0)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{_where(table.path, table.rows[i + 1], column)}: time {values[i + 1].strip()} is not after "
            f"the previous sample's {values[i].strip()} (row {table.rows[i]}); "
            "sample times must strictly increase"
        )
    median, jitter, _ = interval_stats(dt)
    if jitter > MAX_JITTER:
        regular = np.flatnonzero(dt <= GAP_FACTOR * median)
        worst = int(regular[np.argmax(np.abs(dt[regular] - median))])
        raise DataError(
            f"{_where(table.path, table.rows[worst + 1], column)}: sample timing jitter {jitter:.1%} exceeds "
            f"{MAX_JITTER:.0%} (std of the intervals up to {GAP_FACTOR} x the median / median interval "
            f"{median * 1e3:.4g} ms); the worst interval, {dt[worst] * 1e3:.4g} ms, ends at this row. "
            "Resample the capture to a fixed rate"
        )
    return 1.0 / median


def _check_rates(rates: Sequence[tuple[Path, float]]) -> float:
    """Median of the per-capture rates; DataError if they spread more than 5 %."""
    slow = min(rates, key=lambda pr: pr[1])
    fast = max(rates, key=lambda pr: pr[1])
    if fast[1] / slow[1] - 1.0 > MAX_RATE_MISMATCH:
        raise DataError(
            f"{fast[0]} is sampled at {fast[1]:.4g} Hz but {slow[0]} at {slow[1]:.4g} Hz "
            f"({fast[1] / slow[1] - 1:.1%} apart, more than {MAX_RATE_MISMATCH:.0%}); "
            "all captures must share one sample rate, resample them or remove the odd one"
        )
    return float(np.median([r for _, r in rates]))


# --------------------------------------------------------------------------- #
# Helpers shared by both formats
# --------------------------------------------------------------------------- #


def _require_dir(path: str | Path) -> Path:
    root = Path(path)
    if not root.exists():
        raise DataError(f"{root}: folder not found; give the folder that holds the capture CSV files")
    if not root.is_dir():
        raise DataError(f"{root}: is a file, not a folder; give the folder that holds the capture CSV files")
    return root


def _csv_files(folder: Path) -> list[Path]:
    """CSV files directly in ``folder`` (``.csv``, any case; hidden files skipped), sorted by stem."""
    files = [
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv" and not p.name.startswith(".")
    ]
    files.sort(key=lambda p: (p.stem, p.name))
    for a, b in zip(files, files[1:]):
        if a.stem == b.stem:
            raise DataError(f"{a} and {b}: two files give the capture name {a.stem!r}; rename one of them")
    return files


def _check_channels_arg(channels: Sequence[str] | None, reserved: set[str]) -> tuple[str, ...] | None:
    if channels is None:
        return None
    if isinstance(channels, str):
        channels = [channels]
    out = tuple(channels)
    if not out:
        raise ConfigError("The 'channels' parameter must name at least one column. Got [] instead.")
    clash = [c for c in out if c in reserved]
    if clash:
        raise ConfigError(
            f"The 'channels' parameter must not include the label or time columns {sorted(reserved)}. "
            f"Got {list(out)} instead."
        )
    if len(set(out)) != len(out):
        raise ConfigError(f"The 'channels' parameter must not repeat a column. Got {list(out)} instead.")
    return out


def _check_same_channels(
    first: Path, first_channels: tuple[str, ...], path: Path, channels: tuple[str, ...]
) -> None:
    """DataError naming both files and a differing column if the channel sets differ.

    The same columns in another order are accepted (they are reordered).
    """
    missing = [c for c in first_channels if c not in channels]
    extra = [c for c in channels if c not in first_channels]
    if missing:
        raise DataError(
            f"{_where(path, 1, missing[0])}: inconsistent channel columns between files: {first} has channel "
            f"{missing[0]!r} but this file does not (channels here: {list(channels)}, "
            f"in {first.name}: {list(first_channels)}); every capture needs the same channels"
        )
    if extra:
        raise DataError(
            f"{_where(path, 1, extra[0])}: inconsistent channel columns between files: channel {extra[0]!r} "
            f"is not in {first} (channels here: {list(channels)}, in {first.name}: {list(first_channels)}); "
            "every capture needs the same channels"
        )


def _check_not_empty(table: _Table) -> None:
    if table.n_rows == 0:
        raise DataError(
            f"{_where(table.path, 2)}: empty capture, the file has a header (row 1) but no data rows; "
            "remove the file or add its samples"
        )


def _label_runs(name: str, labels: Sequence[str]) -> list[Segment]:
    """Segments for the runs of equal consecutive labels (background runs included).

    Args:
        name: capture name.
        labels: ``(n_samples,)`` label of each sample.

    Returns:
        One :class:`Segment` per run, in sample order, covering every sample
        (``start`` inclusive, ``end`` exclusive, samples).
    """
    arr = np.asarray(labels, dtype=object)
    if arr.size == 0:
        return []
    starts = np.concatenate([[0], np.flatnonzero(arr[1:] != arr[:-1]) + 1])
    ends = np.concatenate([starts[1:], [arr.size]])
    return [Segment(name, str(arr[s]), int(s), int(e)) for s, e in zip(starts, ends)]


# --------------------------------------------------------------------------- #
# Labelled CSV folder
# --------------------------------------------------------------------------- #


def read_labelled_csv_folder(
    path: str | Path,
    *,
    label_column: str = "label",
    channels: Sequence[str] | None = None,
    background: str = "NoActivity",
    require_labels: bool = True,
) -> Dataset:
    """Read a folder of capture CSVs (or one such CSV) that carry a label on every row.

    This is the boxing-punches format: columns ``timestamp`` (ns, int),
    ``seconds_elapsed`` (s), ``accZ, accY, accX`` (m/s^2), ``gyrZ, gyrY,
    gyrX`` (rad/s), ``label`` and ``hand``.

    * Captures: every ``*.csv`` directly in ``path`` (hidden files skipped),
      named by file stem and sorted by name.
    * Channels: by default every column, other than the time columns
      (:data:`TIME_COLUMNS`) and the label column, in which more than half of
      the filled cells are numbers, in file order. Every capture must have the
      same channels (another column order is accepted and reordered to the
      first capture's).
    * Metadata: every other column whose value is the same non-empty text on
      all rows of the capture (e.g. ``hand``), plus ``file`` = file name.
      Columns whose text varies are ignored.
    * Segments: one per run of equal labels, the background runs included.
    * Sample rate: from the first time column present, preferring
      ``seconds_elapsed`` (s), then ``timestamp`` (ns), ``time`` (s), ``t``
      (s): ``1 / median interval``; see :func:`interval_stats` for the jitter
      limit. The dataset's rate is the median of the captures' rates, which
      must agree within 5 %.

    Args:
        path: the folder, or one ``.csv`` file (a dataset of that one capture).
        label_column: name of the per-sample label column.
        channels: channel columns to read, in this order; ``None`` for all
            numeric columns as above.
        background: name of the background class (e.g. ``NoActivity``).
        require_labels: ``False`` reads a file without the label column as
            an unlabelled capture (no segments), e.g. a recording to replay.

    Returns:
        A :class:`Dataset` named after the folder; ``Capture.data`` is
        ``(n_samples, n_channels) float32`` in the units of the file.

    Raises:
        DataError: missing folder, no CSV files, missing column, empty,
            non-numeric, NaN or infinite cell, empty capture, time not strictly
            increasing, jitter above 5 %, rates more than 5 % apart,
            inconsistent channel columns between files, no channel column.
            The message names the file, row and column.
        ConfigError: ``channels`` empty, repeated, or naming the label or a
            time column.
    """
    single = Path(path).is_file() and Path(path).suffix.lower() == ".csv"
    root = Path(path) if single else _require_dir(path)
    reserved = {label_column, *_TIME_NAMES}
    wanted = _check_channels_arg(channels, reserved)
    files = [root] if single else _csv_files(root)
    if not files:
        hint = ""
        if (root / "captures").is_dir():
            hint = " (there is a captures/ folder: the canonical format also needs labels.csv next to it)"
        raise DataError(f"{root}: no CSV files in this folder{hint}; expected one <capture>.csv per recording")

    captures: list[Capture] = []
    segments: list[Segment] = []
    rates: list[tuple[Path, float]] = []
    first: tuple[Path, tuple[str, ...]] | None = None
    for file in files:
        table = _read_table(file)
        _time_column(table)
        labels = table.require(label_column, " (the per-sample label)") \
            if require_labels or label_column in table.columns else None
        _check_not_empty(table)

        others = [c for c in table.header if c not in reserved]
        if wanted is None:
            numeric = [c for c in others if _mostly_numeric(table.columns[c])]
            if not numeric:
                raise DataError(
                    f"{_where(file, 1)}: no numeric channel column; the header has {table.header} and "
                    f"the columns {list(_TIME_NAMES)} and {label_column!r} are not channels"
                )
            file_channels = tuple(numeric)
        else:
            for c in wanted:
                table.require(c, " (asked for in 'channels')")
            file_channels = wanted
        if first is None:
            first = (file, file_channels)
        else:
            _check_same_channels(first[0], first[1], file, file_channels)
        channel_order = first[1]

        data = np.column_stack([_parse_float(table, c) for c in channel_order]).astype(np.float32)
        for i, value in enumerate(labels or ()):
            if not value.strip():
                raise DataError(
                    f"{_where(file, table.rows[i], label_column)}: empty cell; every sample needs a label "
                    f"(use {background!r} for the background)"
                )
        rates.append((file, _sample_rate(table)))

        metadata: dict[str, str] = {"file": file.name}
        for c in others:
            if c in channel_order:
                continue
            values = set(table.columns[c])
            if len(values) == 1:
                value = next(iter(values)).strip()
                if value and not _mostly_numeric((value,)):
                    metadata[c] = value
        captures.append(Capture(name=file.stem, data=data, metadata=metadata))
        if labels is not None:
            segments.extend(_label_runs(file.stem, [v.strip() for v in labels]))

    assert first is not None
    return Dataset(
        name=root.resolve().stem if single else root.resolve().name,
        channels=first[1],
        sample_rate_hz=_check_rates(rates),
        captures=captures,
        segments=segments,
        background=background,
    )


# --------------------------------------------------------------------------- #
# Canonical folder
# --------------------------------------------------------------------------- #


def _parse_int_cell(table: _Table, i: int, column: str) -> int:
    value = table.columns[column][i].strip()
    where = _where(table.path, table.rows[i], column)
    if not value:
        raise DataError(f"{where}: empty cell; {column!r} needs a sample index (whole number)")
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        raise DataError(f"{where}: non-numeric value {value!r}; expected a sample index (whole number)") from None
    if not np.isfinite(number) or not number.is_integer():
        raise DataError(f"{where}: {value!r} is not a whole number; {column!r} is a sample index")
    return int(number)


def _read_labels(file: Path, sizes: dict[str, int]) -> list[Segment]:
    """Segments of ``labels.csv``, sorted by capture order then start."""
    table = _read_table(file)
    for column in LABEL_FILE_COLUMNS:
        table.require(column)
    if table.n_rows == 0:
        raise DataError(
            f"{_where(file, 2)}: labels.csv has a header (row 1) but no segments; "
            "add one row capture,label,start,end per labelled span"
        )
    order = {name: k for k, name in enumerate(sizes)}
    found: list[tuple[int, Segment]] = []  # (file row, segment)
    for i in range(table.n_rows):
        row = table.rows[i]
        capture = table.columns["capture"][i].strip()
        if not capture:
            raise DataError(f"{_where(file, row, 'capture')}: empty cell; name the capture (file stem)")
        if capture not in sizes:
            raise DataError(
                f"{_where(file, row, 'capture')}: unknown capture {capture!r}; captures/ holds "
                f"{_preview(list(sizes))}"
            )
        label = table.columns["label"][i].strip()
        if not label:
            raise DataError(f"{_where(file, row, 'label')}: empty cell; every segment needs a label")
        start = _parse_int_cell(table, i, "start")
        end = _parse_int_cell(table, i, "end")
        if end <= start:
            raise DataError(
                f"{_where(file, row, 'end')}: end {end} <= start {start}; a segment spans samples "
                "start (inclusive) to end (exclusive), so end must be greater than start"
            )
        n = sizes[capture]
        if start < 0:
            raise DataError(
                f"{_where(file, row, 'start')}: segment outside the capture: start {start} < 0; "
                f"capture {capture!r} has samples 0..{n - 1}"
            )
        if end > n:
            raise DataError(
                f"{_where(file, row, 'end')}: segment outside the capture: end {end} > {n}, the number of "
                f"samples of {capture!r} (end is exclusive, samples 0..{n - 1})"
            )
        found.append((row, Segment(capture, label, start, end)))

    found.sort(key=lambda rs: (order[rs[1].capture], rs[1].start, rs[1].end))
    for (row_a, a), (row_b, b) in zip(found, found[1:]):
        if a.capture == b.capture and b.start < a.end:
            raise DataError(
                f"{_where(file, row_b, 'start')}: segment {b.start}..{b.end} of {b.capture!r} overlaps "
                f"segment {a.start}..{a.end} of row {row_a}; segments of one capture must not overlap"
            )
    return [s for _, s in found]


def _read_metadata(file: Path, names: set[str]) -> dict[str, dict[str, str]]:
    """Per-capture metadata of ``metadata.csv`` (empty cells skipped)."""
    table = _read_table(file)
    captures = table.require("capture")
    out: dict[str, dict[str, str]] = {}
    first_row: dict[str, int] = {}
    for i, capture in enumerate(captures):
        capture = capture.strip()
        row = table.rows[i]
        if not capture:
            raise DataError(f"{_where(file, row, 'capture')}: empty cell; name the capture (file stem)")
        if capture not in names:
            raise DataError(
                f"{_where(file, row, 'capture')}: unknown capture {capture!r}; captures/ holds "
                f"{_preview(sorted(names))}"
            )
        if capture in out:
            raise DataError(
                f"{_where(file, row, 'capture')}: capture {capture!r} already has metadata in row "
                f"{first_row[capture]}; give one row per capture"
            )
        first_row[capture] = row
        out[capture] = {
            c: table.columns[c][i].strip() for c in table.header if c != "capture" and table.columns[c][i].strip()
        }
    return out


def _preview(names: list[str], k: int = 5) -> str:
    shown = ", ".join(repr(n) for n in names[:k])
    return f"[{shown}{', ...' if len(names) > k else ''}] ({len(names)} captures)"


def read_canonical(
    path: str | Path,
    *,
    channels: Sequence[str] | None = None,
    background: str = "NoActivity",
) -> Dataset:
    """Read a folder in the canonical format.

    Layout::

        captures/<capture>.csv  a time column (seconds_elapsed/time/t in s or
                                timestamp in ns) and channel columns, every
                                cell a number
        labels.csv              capture,label,start,end: one row per segment;
                                start/end are sample indices (0-based, end
                                exclusive) into the capture; other columns
                                are ignored
        metadata.csv            optional: column capture plus any others,
                                one row per capture, values kept as text

    Channels are every column of the capture files but the time columns, in
    file order (or ``channels``); all captures need the same channels. Sample
    rate rules as in :func:`read_labelled_csv_folder`. Every capture's
    metadata also gets ``file`` = its file name.

    Args:
        path: the folder holding ``captures/`` and ``labels.csv``.
        channels: channel columns to read, in this order; ``None`` for all.
        background: name of the background class; spans not covered by any
            segment belong to it.

    Returns:
        A :class:`Dataset` named after the folder; ``Capture.data`` is
        ``(n_samples, n_channels) float32`` in the units of the files;
        segments sorted by capture, then start.

    Raises:
        DataError: missing folder or file, no CSV files, missing column,
            empty/non-numeric/NaN cell, empty capture, timing errors,
            inconsistent channels, a labels.csv row with an unknown capture,
            ``end <= start``, a span outside its capture or overlapping
            another, labels.csv without rows, a metadata.csv row with an
            unknown or repeated capture. The message names the file, row and
            column.
        ConfigError: ``channels`` empty, repeated, or naming a time column.
    """
    root = _require_dir(path)
    wanted = _check_channels_arg(channels, set(_TIME_NAMES))
    capture_dir = root / "captures"
    labels_file = root / "labels.csv"
    if not capture_dir.is_dir():
        raise DataError(
            f"{capture_dir}: folder not found; the canonical format needs captures/<capture>.csv and labels.csv"
        )
    if not labels_file.is_file():
        raise DataError(
            f"{labels_file}: file not found; the canonical format needs labels.csv with columns "
            f"{','.join(LABEL_FILE_COLUMNS)}"
        )
    files = _csv_files(capture_dir)
    if not files:
        raise DataError(f"{capture_dir}: no CSV files in this folder; expected one <capture>.csv per recording")

    captures: list[Capture] = []
    rates: list[tuple[Path, float]] = []
    first: tuple[Path, tuple[str, ...]] | None = None
    for file in files:
        table = _read_table(file)
        _time_column(table)
        if wanted is None:
            file_channels = tuple(c for c in table.header if c not in _TIME_NAMES)
            if not file_channels:
                raise DataError(f"{_where(file, 1)}: no channel column; the header has only {table.header}")
        else:
            for c in wanted:
                table.require(c, " (asked for in 'channels')")
            file_channels = wanted
        if first is None:
            first = (file, file_channels)
        else:
            _check_same_channels(first[0], first[1], file, file_channels)
        _check_not_empty(table)
        data = np.column_stack([_parse_float(table, c) for c in first[1]]).astype(np.float32)
        rates.append((file, _sample_rate(table)))
        captures.append(Capture(name=file.stem, data=data, metadata={"file": file.name}))

    assert first is not None
    sizes = {c.name: c.n_samples for c in captures}
    segments = _read_labels(labels_file, sizes)
    metadata_file = root / "metadata.csv"
    if metadata_file.is_file():
        extra = _read_metadata(metadata_file, set(sizes))
        for capture in captures:
            capture.metadata.update(extra.get(capture.name, {}))
    return Dataset(
        name=root.resolve().name,
        channels=first[1],
        sample_rate_hz=_check_rates(rates),
        captures=captures,
        segments=segments,
        background=background,
    )


def load_dataset(
    path: str | Path,
    *,
    label_column: str = "label",
    channels: Sequence[str] | None = None,
    background: str = "NoActivity",
) -> Dataset:
    """Read a dataset folder in whichever format it is.

    The canonical format (:func:`read_canonical`) if the folder holds a
    ``captures/`` folder; otherwise a labelled CSV folder
    (:func:`read_labelled_csv_folder`). A ``captures/`` folder without
    ``labels.csv`` is reported as such rather than read as a labelled folder,
    where its ``metadata.csv`` would be mistaken for a capture.

    Args:
        path: the dataset folder.
        label_column: per-sample label column (labelled CSV folders only).
        channels: channel columns to read, in this order; ``None`` for all.
        background: name of the background class.

    Returns:
        The :class:`Dataset`.

    Raises:
        DataError: as the chosen reader; also if ``path`` is missing or not a
            folder.
        ConfigError: bad ``channels``.
    """
    root = _require_dir(path)
    if (root / "captures").is_dir():
        return read_canonical(root, channels=channels, background=background)
    return read_labelled_csv_folder(root, label_column=label_column, channels=channels, background=background)
