"""Label Studio time-series JSON exports.

An export is a list of tasks. Each task's ``data`` holds a reference to the
capture CSV (the ``$value`` of the ``<TimeSeries valueType="url">`` tag) and
its ``annotations`` hold regions::

    [{"id": 1,
      "data": {"csv": "/data/upload/1/4f3a2b1c-walk_01.csv"},
      "annotations": [{"was_cancelled": false,
                       "result": [{"type": "timeserieslabels",
                                   "value": {"start": 0.04, "end": 0.18, "instant": false,
                                             "timeserieslabels": ["walk"]}}, ...]}]}, ...]

(labelstud.io/templates/time_series: output format; labelstud.io/tags/timeseries).

**Time axis.** ``start``/``end`` are values of the ``<TimeSeries>`` tag's
``timeColumn``; without a ``timeColumn`` Label Studio plots the rows against
0, 1, 2, ... and the values are 0-based row indices. The editor serialises an
edge as ``Number(t)``, or, when the tag has a ``timeFormat``, as the text
``d3.timeFormat(timeFormat)(t)`` (``serialize`` in
``src/regions/TimeSeriesRegion.js`` of label-studio-frontend). So an edge is
one of:

* a number in the time column's units (or a row index);
* a number written as text (``timeFormat="%S.%f"`` gives ``"09.992000"``);
* an ISO 8601 date-time text (``"%Y-%m-%d %H:%M:%S.%f"`` gives
  ``"2022-04-20 00:00:02.818000"``), with or without a zone; the time column
  then holds date-times too, and both are converted to seconds from the
  capture's first sample (text without a zone is read as UTC on both sides).

Label Studio snaps both edges of a region to data points (``stick`` in
``tags/object/TimeSeries/Channel.jsx``), so a region drawn on a sampled axis
starts and ends on sample times.

**Conversion to samples.** A region covers the samples whose time ``t``
satisfies ``start <= t < end``: ``Segment.start`` is the first sample at or
after ``start`` and ``Segment.end`` (exclusive) the first sample at or after
``end``. Regions drawn edge to edge share their snapped boundary point; the
half-open reading gives that point to the later region, so such regions tile
the capture without overlapping. Comparisons allow 1 % of the median sample
interval for rounding in the export. On the index axis this is the identity.

**Several exports** (train and test annotated apart) are read as one data
set: ``path`` may be a list of export files or a folder of them; each
capture's metadata ``export`` is the stem of its export file, so
``--test-where export=test`` holds out the second export's captures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

from automl.data._captures import CaptureOptions, CaptureSet
from automl.data._csv import parse_datetime
from automl.data._dataset import Capture, Dataset, Segment
from automl.data._json import (Span, check_spans, get_object, get_value, inside, jwhere, load_json, short,
                               type_name)
from automl.data._time import DATETIME, TimeColumn
from automl.errors import ConfigError, DataError

_WHAT = "Label Studio JSON export"
_SHAPE = '[{"data": {"csv": <CSV file>}, "annotations": [{"result": [{"type": "timeserieslabels", "value": ...}]}]}]'

#: Relative tolerance (fraction of the median sample interval) when comparing
#: region edges with sample times: exported numbers may be rounded.
TIME_TOLERANCE = 0.01

#: Label Studio prefixes uploaded files with 8 hex digits and a dash
#: (``/data/upload/<project>/4f3a2b1c-walk_01.csv``); the user's copy has the
#: original name.
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-(.+)$")
_LOOKS_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")


@dataclass
class _Region:
    entry: str  # JSON path of the result item's value
    label: str
    start: float | str  # as exported: a number, or text
    end: float | str
    instant: bool


@dataclass
class _Task:
    export: Path
    index: int
    task_id: str | None
    file: Path
    regions: list[_Region]


def _csv_reference(path: Path, data: dict, entry: str, data_key: str | None) -> tuple[str, str]:
    """``(key, reference)`` of the capture CSV in a task's ``data``."""
    if data_key is not None:
        if data_key not in data:
            raise DataError(
                f"{jwhere(path, entry, data_key)}: missing key {data_key!r} (asked for in data_key); "
                f"the task data has {sorted(data)}"
            )
        key = data_key
    else:
        strings = [k for k, v in data.items() if isinstance(v, str)]
        csvs = [k for k in strings if urlsplit(data[k]).path.lower().endswith(".csv") or ".csv" in data[k].lower()]
        if len(strings) == 1:
            key = strings[0]
        elif len(csvs) == 1:
            key = csvs[0]
        elif not data:
            raise DataError(f"{jwhere(path, entry)}: empty task data; expected a reference to the capture CSV")
        elif not strings:
            key = next(iter(data))
        else:
            raise DataError(
                f"{jwhere(path, entry)}: cannot tell which of {strings} refers to the capture CSV; "
                "pass data_key= (the $name in <TimeSeries value=\"$name\">)"
            )
    value = data[key]
    if not isinstance(value, str):
        raise DataError(
            f"{jwhere(path, entry, key)}: {type_name(value)}, not a reference to a CSV file; inline time "
            "series (valueType=\"json\") are not supported, export the tasks with CSV files (valueType=\"url\")"
        )
    if not value.strip():
        raise DataError(f"{jwhere(path, entry, key)}: empty text; expected a reference to the capture CSV")
    return key, value.strip()


def _candidates(reference: str) -> list[str]:
    """Relative paths to try for a CSV reference, in order."""
    split = urlsplit(reference)
    query = parse_qs(split.query)
    if "d" in query:  # local storage: /data/local-files/?d=folder/file.csv
        rel = unquote(query["d"][0])
    else:
        rel = unquote(split.path)
    names = []
    if not split.scheme and not rel.startswith("/"):
        names.append(rel)  # a plain relative path as written
    base = PurePosixPath(rel).name
    names.append(base)
    match = _UPLOAD_PREFIX.match(base)
    if match:
        names.append(match.group(1))
    return list(dict.fromkeys(n for n in names if n))


def _parse_tasks(path: Path, doc: object, data_key: str | None, csv_dir: Path,
                 seen: dict[Path, str]) -> list[_Task]:
    if not isinstance(doc, list):
        raise DataError(
            f"{jwhere(path, '(top level)')}: {type_name(doc)}; expected the list of tasks of a Label Studio "
            f"JSON export {_SHAPE}"
        )
    tasks: list[_Task] = []
    for i, raw in enumerate(doc):
        entry = f"[{i}]"
        obj = get_object(path, raw, entry, 'a task {"data", "annotations"}')
        data = get_value(path, obj, entry, "data", dict, "an object holding the reference to the capture CSV")
        key = "annotations" if "annotations" in obj or "completions" not in obj else "completions"
        annotations = get_value(path, obj, entry, key, list, "a list of annotations")
        kept = [
            (j, a) for j, a in enumerate(annotations) if not (isinstance(a, dict) and a.get("was_cancelled") is True)
        ]
        if not kept:
            continue  # not labelled (yet): skipped, its file is not read
        j, annotation = kept[0]
        where = f"{entry}.{key}[{j}]"
        annotation = get_object(path, annotation, where, 'an annotation {"result": [...]}')
        result = get_value(path, annotation, where, "result", list, "a list of regions")

        data_entry = f"{entry}.data"
        field, reference = _csv_reference(path, data, data_entry, data_key)
        tried = _candidates(reference)
        at = jwhere(path, data_entry, field)
        found = next((f for f in (inside(csv_dir, name, at) for name in tried) if f.is_file()), None)
        if found is None:
            raise DataError(
                f"{at}: unknown capture file {reference!r}: none of {tried} is in {csv_dir}; put the task's CSV "
                "there or pass --csv-dir (csv_dir=)"
            )
        resolved = found.resolve()
        if resolved in seen:
            raise DataError(f"{at}: {reference!r} is the same file ({found.name}) as {seen[resolved]}; give each "
                            "capture once")
        seen[resolved] = f"task {entry} of {path.name}"

        regions = []
        for k, item in enumerate(result):
            item_entry = f"{where}.result[{k}]"
            item = get_object(path, item, item_entry, 'a region {"type", "value"}')
            kind = get_value(path, item, item_entry, "type", str, "the result type, e.g. timeserieslabels")
            if kind != "timeserieslabels":
                continue  # choices, text areas, ... on the same task
            value_entry = f"{item_entry}.value"
            value = get_value(path, item, item_entry, "value", dict, 'an object {"start", "end", "timeserieslabels"}')
            start = _edge(path, value, value_entry, "start")
            end = _edge(path, value, value_entry, "end")
            labels = get_value(path, value, value_entry, "timeserieslabels", list, "a list with one label")
            if len(labels) != 1:
                raise DataError(
                    f"{jwhere(path, value_entry, 'timeserieslabels')}: {len(labels)} labels {short(labels)}; "
                    "expected exactly one label per region (set choice=\"single\" on <TimeSeriesLabels>)"
                )
            label = labels[0]
            if not isinstance(label, str) or not label.strip():
                raise DataError(
                    f"{jwhere(path, value_entry, 'timeserieslabels')}: label {short(label)} is not a non-empty text"
                )
            regions.append(_Region(value_entry, label.strip(), start, end, value.get("instant") is True))
        task_id = obj.get("id")
        tasks.append(_Task(path, i, None if task_id is None else str(task_id), found, regions))
    return tasks


def _edge(path: Path, value: dict, entry: str, key: str) -> float | str:
    """A region edge as exported: a finite number, or a non-empty text (converted per axis later)."""
    raw = get_value(path, value, entry, key, (int, float, str), "a time (number or date-time text)")
    if isinstance(raw, str):
        if not raw.strip():
            raise DataError(f"{jwhere(path, entry, key)}: empty text; expected a time")
        return raw.strip()
    number = float(raw)
    if not np.isfinite(number):
        raise DataError(f"{jwhere(path, entry, key)}: {raw!r} is not a finite number")
    return number


# --------------------------------------------------------------------------- #
# Time axis -> samples
# --------------------------------------------------------------------------- #


@dataclass
class _Axis:
    """The axis Label Studio gave regions on, for one capture.

    Attributes:
        column: time column name, ``None`` for row indices.
        t: ``(n_samples,) float64`` axis value of each sample: column units,
            0..n-1 for rows, or seconds from the first sample for date-times.
        step: median interval of ``t``.
        dates_ns: for a date-time column, the first sample's time (ns since
            1970 UTC); None otherwise.
        guessed: the column was chosen by ``time_column="auto"``.
        clock: the capture's clock, for hints when regions do not fit the axis.
    """

    column: str | None
    t: np.ndarray
    step: float
    dates_ns: int | None = None
    guessed: bool = False
    clock: tuple[str, np.ndarray] | None = None


def _axis(capture: Capture, clock: TimeColumn | None, raw: np.ndarray | None, rows: bool, guessed: bool) -> _Axis:
    n = capture.n_samples
    hint = None
    if clock is not None and raw is not None and clock.unit != DATETIME:
        hint = (clock.name, raw.astype(np.float64))
    if rows or clock is None or raw is None:
        return _Axis(None, np.arange(n, dtype=np.float64), 1.0, clock=hint)
    if clock.unit == DATETIME:
        t = (raw - raw[0]).astype(np.float64) / 1e9
        return _Axis(clock.name, t, float(np.median(np.diff(t))) if n > 1 else 1.0, int(raw[0]), guessed)
    t = raw.astype(np.float64)
    return _Axis(clock.name, t, float(np.median(np.diff(t))) if n > 1 else 1.0, None, guessed, hint)


def _value(path: Path, region: _Region, key: str, axis: _Axis) -> float:
    """A region edge on the axis: column units, row index, or seconds from the first sample (date-times)."""
    edge = getattr(region, key)
    at = jwhere(path, region.entry, key)
    if axis.dates_ns is not None:
        if isinstance(edge, str):
            ns = parse_datetime(edge)
            if ns is None:
                raise DataError(f"{at}: wrong units: {edge!r} is not an ISO 8601 date-time, but column "
                                f"{axis.column!r} holds date-times")
        else:
            ns = int(round(edge * 1e6))  # JavaScript's Number(date): milliseconds since 1970
        return (ns - axis.dates_ns) / 1e9
    if isinstance(edge, str):
        try:
            return float(edge)
        except ValueError:
            pass
        where_axis = f"column {axis.column!r}" if axis.column else "the row index (no time column)"
        kind = "a date/time text" if _LOOKS_DATE.match(edge) else "a text"
        raise DataError(
            f"{at}: wrong units: {kind} {edge!r}, but the regions are read on {where_axis}, which holds numbers; "
            "name the <TimeSeries> timeColumn that holds these date-times with --time-column NAME (time_column=)"
        )
    return float(edge)


def _hint(axis: _Axis, n: int, start: float, end: float) -> str:
    """Hint naming another axis whose range holds ``start..end``, or ``""``."""
    if axis.column is not None and float(start).is_integer() and float(end).is_integer() and 0 <= start and end <= n:
        return (f"; they look like sample indices (the capture has {n} rows): if the <TimeSeries> tag has no "
                "timeColumn, pass --time-column none (time_column=None)")
    if axis.clock is not None and axis.clock[0] != axis.column:
        name, t = axis.clock
        step = float(np.median(np.diff(t))) if t.size > 1 else 0.0
        if t[0] - step <= start and end <= t[-1] + step:
            return f"; they fit column {name!r} ({t[0]:.6g}..{t[-1]:.6g}): pass --time-column {name} (time_column={name!r})"
    return ""


def _to_span(path: Path, region: _Region, capture: Capture, axis: _Axis) -> Span:
    name, n = capture.name, capture.n_samples
    start, end = _value(path, region, "start", axis), _value(path, region, "end", axis)
    shown = (f"{region.start}..{region.end}" if isinstance(region.start, str) else f"{start:.6g}..{end:.6g}")
    if axis.column is None:
        for key, value in (("start", start), ("end", end)):
            if not float(value).is_integer():
                raise DataError(
                    f"{jwhere(path, region.entry, key)}: wrong units: {value!r} is not a whole sample index; "
                    "without a time column start/end are 0-based row numbers (Label Studio snaps regions to "
                    f"rows), and a fractional value looks like a time in seconds{_hint(axis, n, start, end)}"
                )
    if end < start:
        raise DataError(f"{jwhere(path, region.entry, 'end')}: end {end:.6g} < start {start:.6g}")
    if end == start:
        what = "an instant region (a single point)" if region.instant else "an empty region"
        raise DataError(
            f"{jwhere(path, region.entry, 'end')}: end {end:.6g} == start {start:.6g}, {what}; a segment needs "
            "end > start (use a span, not an instant, for a class)"
        )
    if axis.column is None:
        if start < 0:
            raise DataError(
                f"{jwhere(path, region.entry, 'start')}: start {start:.6g} < 0; capture {name!r} has rows 0..{n - 1}"
            )
        if end > n:
            raise DataError(
                f"{jwhere(path, region.entry, 'end')}: end {end:.6g} is beyond capture {name!r} ({n} rows, so end "
                f"is at most {n}, exclusive){_hint(axis, n, start, end)}"
            )
    else:
        lo, hi = float(axis.t[0]), float(axis.t[-1])
        start_out = not lo - axis.step <= start <= hi + axis.step
        if start_out or end > hi + axis.step:
            key = "start" if start_out else "end"
            units = " (seconds from the first sample)" if axis.dates_ns is not None else ""
            raise DataError(
                f"{jwhere(path, region.entry, key)}: wrong units or capture: region {shown} is outside the time "
                f"range {lo:.6g}..{hi:.6g}{units} of column {axis.column!r} of capture {name!r}"
                f"{_hint(axis, n, start, end)}"
            )
    tol = TIME_TOLERANCE * axis.step
    whole = all(float(v).is_integer() for v in (start, end))
    if axis.column is not None and axis.guessed and axis.step < 0.5 and whole and axis.dates_ns is None:
        # Label Studio snaps edges to sample times; whole numbers that are no sample time on a
        # fine time axis are row numbers of a <TimeSeries> tag without timeColumn.
        off = [v for v in (start, end) if np.min(np.abs(axis.t - v)) > tol]
        if off:
            key = "start" if off[0] == start else "end"
            raise DataError(
                f"{jwhere(path, region.entry, key)}: wrong units: region {start:.6g}..{end:.6g} is whole numbers "
                f"that are not sample times of column {axis.column!r} (Label Studio snaps region edges to samples), "
                "so they look like row numbers: pass --time-column none (time_column=None) if the <TimeSeries> tag has "
                f"no timeColumn, or --time-column {axis.column} (time_column={axis.column!r}) to read them as times"
            )
    first = int(np.searchsorted(axis.t, start - tol, side="left"))
    stop = int(np.searchsorted(axis.t, end - tol, side="left"))
    if stop <= first:
        raise DataError(
            f"{jwhere(path, region.entry, 'end')}: region {shown} covers no sample of capture {name!r} (samples "
            f"are {axis.step:.6g} apart on {axis.column or 'the row index'}); a segment needs at least one sample"
        )
    return Span(Segment(name, region.label, first, stop), jwhere(path, region.entry, "start"), region.entry, shown)


def _exports(path: str | Path | Sequence[str | Path]) -> list[Path]:
    if isinstance(path, (str, Path)):
        p = Path(path)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() == ".json"
                           and not f.name.startswith("."))
            if not found:
                raise DataError(f"{p}: no .json file in this folder; give a Label Studio JSON export or a folder "
                                "of them")
            return found
        return [p]
    paths = [Path(p) for p in path]
    if not paths:
        raise ConfigError("The 'path' parameter must name at least one Label Studio export. Got [] instead.")
    return [f for p in paths for f in _exports(p)]


def read_label_studio(
    path: str | Path | Sequence[str | Path],
    *,
    time_column: str | None = "auto",
    data_key: str | None = None,
    csv_dir: str | Path | None = None,
    **options: Any,
) -> Dataset:
    """Read Label Studio JSON exports of time-series tasks (one file, several, or a folder of them).

    * Captures: one per labelled task, in export then task order, read from
      the CSV its ``data`` refers to (the only text value of ``data``, or the
      one with ``.csv``, or ``data[data_key]``). The reference is looked up in
      ``csv_dir`` as written (if relative), by its file name, and by its file
      name without Label Studio's upload prefix (``4f3a2b1c-walk_01.csv`` ->
      ``walk_01.csv``); local-storage references (``?d=path``) use ``path``.
      A reference that leads outside ``csv_dir`` is refused without opening
      it. Captures are named by the file stem; a CSV named by two tasks (in
      one export or two) is an error. Columns, sample rate and resampling as
      :class:`~automl.data._captures.CaptureSet`.
    * Annotations: the first annotation that is not cancelled
      (``was_cancelled``); a task with none is skipped as unlabelled (its file
      is not read). An annotation with no region is a labelled capture that
      is all background. Results of other types (``choices``, ...) are
      ignored. A region must carry exactly one label.
    * Time axis and conversion: see the module docstring. With
      ``time_column="auto"`` a region whose edges are whole numbers but not
      sample times of a fine time axis (interval < 0.5 units) is reported as
      row numbers, since Label Studio snaps edges to samples; name the column
      explicitly to skip this check.
    * Metadata: ``file``, ``task_id`` and ``export`` (the export's file stem).

    Args:
        path: an exported JSON file, a list of them, or a folder of them.
        time_column: the ``timeColumn`` of the ``<TimeSeries>`` tag (also the
            capture's clock); ``None`` (or ``"none"``) if the tag has none
            (edges are 0-based row indices; the rate comes from a recognised
            time column or ``sample_rate_hz``); ``"auto"`` for the preferred
            recognised time column (``automl/data/_time.py``), else rows.
        data_key: key of the task ``data`` that refers to the CSV (the
            ``$name`` of ``<TimeSeries value="$name">``); ``None`` to find it.
        csv_dir: folder holding the CSV files; default each export's folder.
        **options: :class:`~automl.data._captures.CaptureOptions` fields
            (``time_unit``, ``sample_rate_hz``, ``resample_hz``, ...).

    Returns:
        A :class:`Dataset` named after the export's stem (the folder's name
        for several); segments sorted by capture, then start.

    Raises:
        DataError: one per problem, naming the file, the entry (JSON path
            such as ``[0].annotations[0].result[2].value``) and the field:
            invalid JSON, wrong shape or type, missing key, unknown, repeated
            or outside CSV file, not exactly one label, ``end <= start``,
            region outside the capture's time range or covering no sample,
            wrong units (text on a numeric axis, fractional row indices,
            values that fit another axis: the message says which); no
            labelled task; any capture CSV problem (file, row, column).
        ConfigError: a bad option.
    """
    if time_column is not None and not isinstance(time_column, str):
        raise ConfigError(
            f"The 'time_column' parameter must be a column name, 'auto' or None. Got {time_column!r} instead."
        )
    rows = time_column is None or time_column == "none"
    if "time_column" in options:
        raise ConfigError("The 'time_column' parameter is given twice.")
    opts = CaptureOptions(time_column="auto" if rows else time_column, **options)
    exports = _exports(path)
    seen: dict[Path, str] = {}
    tasks: list[_Task] = []
    for export in exports:
        folder = Path(csv_dir) if csv_dir is not None else export.parent
        tasks.extend(_parse_tasks(export, load_json(export, _WHAT), data_key, folder, seen))
    if not tasks:
        where = exports[0] if len(exports) == 1 else f"{', '.join(map(str, exports))}"
        raise DataError(
            f"{where}: no task has an annotation (every task is unlabelled or cancelled); label at least one "
            "task in Label Studio and export again"
        )
    reader = CaptureSet(opts)
    spans: list[Span] = []
    for task in tasks:
        capture = reader.read(task.file.stem, task.file)
        if task.task_id is not None:
            capture.metadata["task_id"] = task.task_id
        capture.metadata["export"] = task.export.stem
        if task.regions:
            clock, raw = reader.clocks[capture.name]
            axis = _axis(capture, clock, raw, rows, time_column == "auto")
            spans.extend(_to_span(task.export, r, capture, axis) for r in task.regions)
    order = {c.name: k for k, c in enumerate(reader.captures)}
    name = exports[0].stem if len(exports) == 1 else exports[0].parent.resolve().name
    return reader.dataset(name, check_spans(spans, order))


