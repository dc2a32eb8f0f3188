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
``timeColumn``, in that column's own units; without a ``timeColumn`` Label
Studio plots the rows against 0, 1, 2, ... and the values are 0-based row
indices (labelstud.io/templates/time_series). Label Studio snaps both edges of
a region to data points (``stick`` in ``tags/object/TimeSeries/Channel.jsx``
of the Label Studio editor), so a region drawn on a sampled axis starts and
ends on sample times.

**Conversion to samples.** A region covers the samples whose time ``t``
satisfies ``start <= t < end``: ``Segment.start`` is the first sample at or
after ``start`` and ``Segment.end`` (exclusive) the first sample at or after
``end``. Regions drawn edge to edge share their snapped boundary point; the
half-open reading gives that point to the later region, so such regions tile
the capture without overlapping. Comparisons allow 1 % of the median sample
interval for rounding in the export. On the index axis this is the identity
(``Segment(start, end)``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

from automl.data._dataset import Capture, Dataset, Segment
from automl.data._import_common import (
    _CaptureSet,
    _check_spans,
    _get,
    _jwhere,
    _load_json,
    _object,
    _short,
    _Span,
    _type_name,
)
from automl.data._readers import _TIME_NAMES, _parse_float, _Table, _where
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


@dataclass
class _Region:
    entry: str  # JSON path of the result item's value
    label: str
    start: float
    end: float
    instant: bool


@dataclass
class _Task:
    index: int
    task_id: str | None
    file: Path
    regions: list[_Region]


def _csv_reference(path: Path, data: dict, entry: str, data_key: str | None) -> tuple[str, str]:
    """``(key, reference)`` of the capture CSV in a task's ``data``."""
    if data_key is not None:
        if data_key not in data:
            raise DataError(
                f"{_jwhere(path, entry, data_key)}: missing key {data_key!r} (asked for in data_key); "
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
            raise DataError(f"{_jwhere(path, entry)}: empty task data; expected a reference to the capture CSV")
        elif not strings:
            key = next(iter(data))
        else:
            raise DataError(
                f"{_jwhere(path, entry)}: cannot tell which of {strings} refers to the capture CSV; "
                "pass data_key= (the $name in <TimeSeries value=\"$name\">)"
            )
    value = data[key]
    if not isinstance(value, str):
        raise DataError(
            f"{_jwhere(path, entry, key)}: {_type_name(value)}, not a reference to a CSV file; inline time "
            "series (valueType=\"json\") are not supported, export the tasks with CSV files (valueType=\"url\")"
        )
    if not value.strip():
        raise DataError(f"{_jwhere(path, entry, key)}: empty text; expected a reference to the capture CSV")
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


def _parse_tasks(path: Path, doc: object, data_key: str | None, csv_dir: Path) -> list[_Task]:
    if not isinstance(doc, list):
        raise DataError(
            f"{_jwhere(path, '(top level)')}: {_type_name(doc)}; expected the list of tasks of a Label Studio "
            f"JSON export {_SHAPE}"
        )
    tasks: list[_Task] = []
    seen: dict[Path, str] = {}
    for i, raw in enumerate(doc):
        entry = f"[{i}]"
        obj = _object(path, raw, entry, 'a task {"data", "annotations"}')
        data = _get(path, obj, entry, "data", dict, "an object holding the reference to the capture CSV")
        key = "annotations" if "annotations" in obj or "completions" not in obj else "completions"
        annotations = _get(path, obj, entry, key, list, "a list of annotations")
        kept = [
            (j, a) for j, a in enumerate(annotations) if not (isinstance(a, dict) and a.get("was_cancelled") is True)
        ]
        if not kept:
            continue  # not labelled (yet): skipped, its file is not read
        j, annotation = kept[0]
        where = f"{entry}.{key}[{j}]"
        annotation = _object(path, annotation, where, 'an annotation {"result": [...]}')
        result = _get(path, annotation, where, "result", list, "a list of regions")

        data_entry = f"{entry}.data"
        field, reference = _csv_reference(path, data, data_entry, data_key)
        tried = _candidates(reference)
        found = next((csv_dir / name for name in tried if (csv_dir / name).is_file()), None)
        if found is None:
            raise DataError(
                f"{_jwhere(path, data_entry, field)}: unknown capture file {reference!r}: none of {tried} is in "
                f"{csv_dir}; put the task's CSV there or pass csv_dir="
            )
        resolved = found.resolve()
        if resolved in seen:
            raise DataError(
                f"{_jwhere(path, data_entry, field)}: {reference!r} is the same file ({found.name}) as task "
                f"{seen[resolved]}; give each capture once"
            )
        seen[resolved] = entry

        regions = []
        for k, item in enumerate(result):
            item_entry = f"{where}.result[{k}]"
            item = _object(path, item, item_entry, 'a region {"type", "value"}')
            kind = _get(path, item, item_entry, "type", str, "the result type, e.g. timeserieslabels")
            if kind != "timeserieslabels":
                continue  # choices, text areas, ... on the same task
            value_entry = f"{item_entry}.value"
            value = _get(path, item, item_entry, "value", dict, 'an object {"start", "end", "timeserieslabels"}')
            start = _edge(path, value, value_entry, "start")
            end = _edge(path, value, value_entry, "end")
            labels = _get(path, value, value_entry, "timeserieslabels", list, "a list with one label")
            if len(labels) != 1:
                raise DataError(
                    f"{_jwhere(path, value_entry, 'timeserieslabels')}: {len(labels)} labels {_short(labels)}; "
                    "expected exactly one label per region (set choice=\"single\" on <TimeSeriesLabels>)"
                )
            label = labels[0]
            if not isinstance(label, str) or not label.strip():
                raise DataError(
                    f"{_jwhere(path, value_entry, 'timeserieslabels')}: label {_short(label)} is not a "
                    "non-empty text"
                )
            regions.append(_Region(value_entry, label.strip(), start, end, value.get("instant") is True))
        task_id = obj.get("id")
        tasks.append(_Task(i, None if task_id is None else str(task_id), found, regions))
    return tasks


def _edge(path: Path, value: dict, entry: str, key: str) -> float:
    """A region edge: a finite JSON number."""
    raw = _get(path, value, entry, key, (int, float, str), "a number in the time column's units")
    if isinstance(raw, str):
        looks_date = bool(re.match(r"^\d{4}-\d{2}-\d{2}", raw.strip()))
        kind = "a date/time text" if looks_date else "a text"
        raise DataError(
            f"{_jwhere(path, entry, key)}: wrong units: {kind} {raw!r}; only numeric time axes are supported "
            "(a numeric time column such as seconds, or row indices); export the time as numbers"
        )
    number = float(raw)
    if not np.isfinite(number):
        raise DataError(f"{_jwhere(path, entry, key)}: {raw!r} is not a finite number")
    return number


# --------------------------------------------------------------------------- #
# Time axis -> samples
# --------------------------------------------------------------------------- #


@dataclass
class _Axis:
    """The axis Label Studio gave regions on, for one capture.

    Attributes:
        column: time column name, ``None`` for row indices.
        t: ``(n_samples,) float64`` axis value of each sample (column units,
            or 0..n-1).
        step: median interval of ``t`` (column units; 1 for indices).
        guessed: the column was chosen by ``time_column="auto"``.
    """

    column: str | None
    t: np.ndarray
    step: float
    guessed: bool = False


def _axis(table: _Table, time_column: str | None, n: int) -> _Axis:
    guessed = time_column == "auto"
    if guessed:
        time_column = next((c for c in _TIME_NAMES if c in table.columns), None)
    if time_column is None:
        return _Axis(None, np.arange(n, dtype=np.float64), 1.0)
    table.require(time_column, " (the time_column of the Label Studio <TimeSeries> tag)")
    t = _parse_float(table, time_column)
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise DataError(
            f"{_where(table.path, table.rows[i], time_column)}: time {table.columns[time_column][i].strip()} is "
            f"not after the previous sample's {table.columns[time_column][i - 1].strip()}; the time column must "
            "strictly increase"
        )
    step = float(np.median(np.diff(t))) if n > 1 else 1.0
    return _Axis(time_column, t, step, guessed)


def _other_axes(table: _Table, current: _Axis, start: float, end: float) -> str:
    """Hint naming another axis whose range holds ``start..end``, or ``""``."""
    n = table.n_rows
    if current.column is not None and float(start).is_integer() and float(end).is_integer():
        if 0 <= start and end <= n:
            return (
                f"; they look like sample indices (the capture has {n} rows): if the <TimeSeries> tag has no "
                "timeColumn, pass time_column=None"
            )
    for column in [c for c in _TIME_NAMES if c in table.columns]:
        if column == current.column:
            continue
        try:
            t = _parse_float(table, column)
        except DataError:
            continue
        step = float(np.median(np.diff(t))) if t.size > 1 else 0.0
        if t[0] - step <= start and end <= t[-1] + step:
            return (
                f"; they fit column {column!r} ({t[0]:.6g}..{t[-1]:.6g}): pass time_column={column!r}"
            )
    return ""


def _to_span(path: Path, region: _Region, capture: Capture, table: _Table, axis: _Axis) -> _Span:
    name, n = capture.name, capture.n_samples
    start, end = region.start, region.end
    if axis.column is None:
        for key, value in (("start", start), ("end", end)):
            if not float(value).is_integer():
                raise DataError(
                    f"{_jwhere(path, region.entry, key)}: wrong units: {value!r} is not a whole sample index; "
                    "without a time column start/end are 0-based row numbers (Label Studio snaps regions to "
                    f"rows), and a fractional value looks like a time in seconds{_other_axes(table, axis, start, end)}"
                )
    if end < start:
        raise DataError(f"{_jwhere(path, region.entry, 'end')}: end {end:.6g} < start {start:.6g}")
    if end == start:
        what = "an instant region (a single point)" if region.instant else "an empty region"
        raise DataError(
            f"{_jwhere(path, region.entry, 'end')}: end {end:.6g} == start {start:.6g}, {what}; a segment needs "
            "end > start (use a span, not an instant, for a class)"
        )
    if axis.column is None:
        if start < 0:
            raise DataError(
                f"{_jwhere(path, region.entry, 'start')}: start {start:.6g} < 0; capture {name!r} has rows 0..{n - 1}"
            )
        if end > n:
            raise DataError(
                f"{_jwhere(path, region.entry, 'end')}: end {end:.6g} is beyond capture {name!r} ({n} rows, so end "
                f"is at most {n}, exclusive){_other_axes(table, axis, start, end)}"
            )
    else:
        lo, hi = float(axis.t[0]), float(axis.t[-1])
        start_out = not lo - axis.step <= start <= hi + axis.step
        if start_out or end > hi + axis.step:
            key = "start" if start_out else "end"
            raise DataError(
                f"{_jwhere(path, region.entry, key)}: wrong units or capture: region {start:.6g}..{end:.6g} is "
                f"outside the time range {lo:.6g}..{hi:.6g} of column {axis.column!r} of capture {name!r}"
                f"{_other_axes(table, axis, start, end)}"
            )
    tol = TIME_TOLERANCE * axis.step
    whole = all(float(v).is_integer() for v in (start, end))
    if axis.column is not None and axis.guessed and axis.step < 0.5 and whole:
        # Label Studio snaps edges to sample times; whole numbers that are no sample time on a
        # fine time axis are row numbers of a <TimeSeries> tag without timeColumn.
        off = [v for v in (start, end) if np.min(np.abs(axis.t - v)) > tol]
        if off:
            key = "start" if off[0] == start else "end"
            raise DataError(
                f"{_jwhere(path, region.entry, key)}: wrong units: region {start:.6g}..{end:.6g} is whole numbers "
                f"that are not sample times of column {axis.column!r} (Label Studio snaps region edges to samples), "
                "so they look like row numbers: pass time_column=None if the <TimeSeries> tag has no timeColumn, "
                f"or time_column={axis.column!r} to read them as times"
            )
    first = int(np.searchsorted(axis.t, start - tol, side="left"))
    stop = int(np.searchsorted(axis.t, end - tol, side="left"))
    if stop <= first:
        raise DataError(
            f"{_jwhere(path, region.entry, 'end')}: region {start:.6g}..{end:.6g} covers no sample of capture "
            f"{name!r} (samples are {axis.step:.6g} apart on {axis.column or 'the row index'}); "
            "a segment needs at least one sample"
        )
    return _Span(
        Segment(name, region.label, first, stop),
        _jwhere(path, region.entry, "start"),
        region.entry,
        f"{start:.6g}..{end:.6g}",
    )


def read_label_studio(
    path: str | Path,
    *,
    time_column: str | None = "auto",
    data_key: str | None = None,
    csv_dir: str | Path | None = None,
    channels: Sequence[str] | None = None,
    sample_rate_hz: float | None = None,
    background: str = "NoActivity",
) -> Dataset:
    """Read a Label Studio JSON export of time-series tasks.

    * Captures: one per labelled task, in task order, read from the CSV its
      ``data`` refers to (the only text value of ``data``, or the one with
      ``.csv``, or ``data[data_key]``). The reference is looked up in
      ``csv_dir`` as written (if relative), by its file name, and by its file
      name without Label Studio's upload prefix (``4f3a2b1c-walk_01.csv`` ->
      ``walk_01.csv``); local-storage references (``?d=path``) use ``path``.
      Captures are named by the file stem. CSV reading, channels and sample
      rate as in :func:`~automl.data.read_labelled_csv_folder` without a label
      column (``sample_rate_hz`` for files without a time column).
    * Annotations: the first annotation that is not cancelled
      (``was_cancelled``); a task with none is skipped as unlabelled (its file
      is not read). An annotation with no region is a labelled capture that
      is all background. Results of other types (``choices``, ...) are
      ignored. A region must carry exactly one label.
    * Units check: with ``time_column="auto"`` a region whose edges are
      whole numbers but not sample times of a fine time axis (interval
      < 0.5 units) is reported as row numbers, since Label Studio snaps
      edges to samples; name the column explicitly to skip this check.
    * Time conversion: see the module docstring. A region covers samples
      with ``start <= t < end``; ``Segment.start`` is the first sample at or
      after ``start``, ``Segment.end`` the first at or after ``end``
      (exclusive).
    * Metadata: ``file`` and ``task_id``.

    Args:
        path: the exported JSON file.
        time_column: the ``timeColumn`` of the ``<TimeSeries>`` tag: a column
            of the CSV; ``None`` if the tag has none (values are 0-based row
            indices); ``"auto"`` for the first of :data:`TIME_COLUMNS
            <automl.data._readers.TIME_COLUMNS>` present, else row indices.
            The column is not a channel.
        data_key: key of the task ``data`` that refers to the CSV (the
            ``$name`` of ``<TimeSeries value="$name">``); ``None`` to find it.
        csv_dir: folder holding the CSV files; default the JSON's folder.
        channels: channel columns to read, in this order; ``None`` for all.
        sample_rate_hz: sample rate of CSVs without a time column (Hz).
        background: name of the background class.

    Returns:
        A :class:`Dataset` named after the file's stem; segments sorted by
        capture, then start.

    Raises:
        DataError: one per problem, naming the file, the entry (JSON path
            such as ``[0].annotations[0].result[2].value``) and the field:
            invalid JSON, wrong shape or type, missing key, unknown or
            repeated CSV file, not exactly one label, ``end <= start``,
            region outside the capture's time range or covering no sample,
            wrong units (text dates, fractional row indices, values that fit
            another axis: the message says which); no labelled task; any
            capture CSV problem (file, row, column).
        ConfigError: bad ``channels`` or ``sample_rate_hz``.
    """
    path = Path(path)
    if time_column is not None and not isinstance(time_column, str):
        raise ConfigError(
            f"The 'time_column' parameter must be a column name, 'auto' or None. Got {time_column!r} instead."
        )
    folder = Path(csv_dir) if csv_dir is not None else path.parent
    tasks = _parse_tasks(path, _load_json(path, _WHAT), data_key, folder)
    if not tasks:
        raise DataError(
            f"{path}: no task has an annotation (every task is unlabelled or cancelled); label at least one "
            "task in Label Studio and export again"
        )

    reserved = {time_column} if time_column not in (None, "auto") else set()
    reader = _CaptureSet(channels, reserved=reserved, sample_rate_hz=sample_rate_hz)
    captures: list[Capture] = []
    spans: list[_Span] = []
    for task in tasks:
        capture, table = reader.read(task.file, task.file.stem)
        if task.task_id is not None:
            capture.metadata["task_id"] = task.task_id
        captures.append(capture)
        if task.regions:
            axis = _axis(table, time_column, capture.n_samples)
            spans.extend(_to_span(path, r, capture, table, axis) for r in task.regions)
    order = {c.name: k for k, c in enumerate(captures)}
    if len(order) != len(captures):
        names = [c.name for c in captures]
        twice = next(n for n in names if names.count(n) > 1)
        raise DataError(f"{path}: two tasks' CSV files give the capture name {twice!r}; rename one of them")
    return Dataset(
        name=path.stem,
        channels=reader.channels,
        sample_rate_hz=reader.dataset_rate(),
        captures=captures,
        segments=_check_spans(spans, order),
        background=background,
    )
