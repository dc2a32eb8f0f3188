"""Canonical folder: our own format, captures plus a labels file and optional metadata::

    <root>/captures/<capture>.csv   a time column + channel columns
    <root>/labels.csv               capture,label,start,end   (samples, end exclusive)
    <root>/metadata.csv             capture,<any other columns>  (optional)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from automl.data._captures import CaptureOptions, CaptureSet
from automl.data._csv import Table, read_table, where
from automl.data._dataset import Dataset, Segment
from automl.data._recordings import find_csv_files, require_dir
from automl.errors import DataError

#: Required columns of ``labels.csv``.
LABEL_FILE_COLUMNS: tuple[str, ...] = ("capture", "label", "start", "end")


def _parse_int_cell(table: Table, i: int, column: str) -> int:
    value = table.columns[column][i].strip()
    at = where(table.path, table.rows[i], column)
    if not value:
        raise DataError(f"{at}: empty cell; {column!r} needs a sample index (whole number)")
    try:
        return int(value)
    except ValueError:
        pass
    try:
        number = float(value)
    except ValueError:
        raise DataError(f"{at}: non-numeric value {value!r}; expected a sample index (whole number)") from None
    if not np.isfinite(number) or not number.is_integer():
        raise DataError(f"{at}: {value!r} is not a whole number; {column!r} is a sample index")
    return int(number)


def _read_labels(file: Path, sizes: dict[str, int]) -> list[Segment]:
    """Segments of ``labels.csv``, sorted by capture order then start."""
    table = read_table(file, LABEL_FILE_COLUMNS, "labels.csv has a header (row 1) but no segments; add one row "
                                                 "capture,label,start,end per labelled span")
    order = {name: k for k, name in enumerate(sizes)}
    found: list[tuple[int, Segment]] = []  # (file row, segment)
    for i in range(table.n_rows):
        row = table.rows[i]
        capture = table.columns["capture"][i].strip()
        if not capture:
            raise DataError(f"{where(file, row, 'capture')}: empty cell; name the capture (file stem)")
        if capture not in sizes:
            raise DataError(
                f"{where(file, row, 'capture')}: unknown capture {capture!r}; captures/ holds "
                f"{_preview(list(sizes))}"
            )
        label = table.columns["label"][i].strip()
        if not label:
            raise DataError(f"{where(file, row, 'label')}: empty cell; every segment needs a label")
        start = _parse_int_cell(table, i, "start")
        end = _parse_int_cell(table, i, "end")
        if end <= start:
            raise DataError(
                f"{where(file, row, 'end')}: end {end} <= start {start}; a segment spans samples "
                "start (inclusive) to end (exclusive), so end must be greater than start"
            )
        n = sizes[capture]
        if start < 0:
            raise DataError(
                f"{where(file, row, 'start')}: segment outside the capture: start {start} < 0; "
                f"capture {capture!r} has samples 0..{n - 1}"
            )
        if end > n:
            raise DataError(
                f"{where(file, row, 'end')}: segment outside the capture: end {end} > {n}, the number of "
                f"samples of {capture!r} (end is exclusive, samples 0..{n - 1})"
            )
        found.append((row, Segment(capture, label, start, end)))

    found.sort(key=lambda rs: (order[rs[1].capture], rs[1].start, rs[1].end))
    for (row_a, a), (row_b, b) in zip(found, found[1:]):
        if a.capture == b.capture and b.start < a.end:
            raise DataError(
                f"{where(file, row_b, 'start')}: segment {b.start}..{b.end} of {b.capture!r} overlaps "
                f"segment {a.start}..{a.end} of row {row_a}; segments of one capture must not overlap"
            )
    return [s for _, s in found]


def _read_metadata(file: Path, names: set[str]) -> dict[str, dict[str, str]]:
    """Per-capture metadata of ``metadata.csv`` (empty cells skipped)."""
    table = read_table(file, ("capture",))
    captures = table.columns["capture"]
    out: dict[str, dict[str, str]] = {}
    first_row: dict[str, int] = {}
    for i, capture in enumerate(captures):
        capture = capture.strip()
        row = table.rows[i]
        if not capture:
            raise DataError(f"{where(file, row, 'capture')}: empty cell; name the capture (file stem)")
        if capture not in names:
            raise DataError(
                f"{where(file, row, 'capture')}: unknown capture {capture!r}; captures/ holds "
                f"{_preview(sorted(names))}"
            )
        if capture in out:
            raise DataError(
                f"{where(file, row, 'capture')}: capture {capture!r} already has metadata in row "
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


def read_canonical(path: str | Path, **options: Any) -> Dataset:
    """Read a folder in the canonical format.

    Layout::

        captures/<capture>.csv  a time column and channel columns, every
                                cell a number
        labels.csv              capture,label,start,end: one row per segment;
                                start/end are sample indices (0-based, end
                                exclusive) into the capture as recorded;
                                other columns are ignored
        metadata.csv            optional: column capture plus any others,
                                one row per capture, values kept as text

    Captures are read by :class:`~automl.data._captures.CaptureSet` (columns,
    sample rate, resampling); every capture's metadata also gets ``file``.

    Args:
        path: the folder holding ``captures/`` and ``labels.csv``.
        **options: :class:`~automl.data._captures.CaptureOptions` fields.

    Returns:
        A :class:`Dataset` named after the folder; segments sorted by
        capture, then start.

    Raises:
        DataError: missing folder or file, no CSV files, a capture problem
            (file, row, column), a labels.csv row with an unknown capture,
            ``end <= start``, a span outside its capture or overlapping
            another, labels.csv without rows, a metadata.csv row with an
            unknown or repeated capture. The message names file, row, column.
        ConfigError: a bad option.
    """
    opts = CaptureOptions(**options)
    root = require_dir(path)
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
    files = find_csv_files(capture_dir).files
    if not files:
        raise DataError(f"{capture_dir}: no CSV files in this folder; expected one <capture>.csv per recording")
    captures = CaptureSet(opts)
    for file in files:
        captures.read(file.stem, file)
    sizes = {c.name: c.n_samples for c in captures.captures}
    segments = _read_labels(labels_file, sizes)
    metadata_file = root / "metadata.csv"
    if metadata_file.is_file():
        extra = _read_metadata(metadata_file, set(sizes))
        for capture in captures.captures:
            capture.metadata.update(extra.get(capture.name, {}))
    return captures.dataset(root.resolve().name, segments)
