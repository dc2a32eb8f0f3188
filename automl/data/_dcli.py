"""SensiML Data Capture Lab / Data Studio ``.dcli`` (``.dai``) import files.

Format (SensiML documentation, "Importing Pre-Labeled Data with the DAI
Format", ``docs/source/data-studio/dai-import-format.rst`` in
github.com/sensiml/piccolo; DCLI was renamed DAI and DAI import still reads
DCLI files, same JSON)::

    [{"file_name": "Example_01.csv",              # relative to the .dcli file
      "metadata": [{"name": "Subject", "value": "User001"}, ...],
      "sessions": [{"session_name": "Session 1",
                    "segments": [{"name": "Label",  # label group
                                  "value": "Kick",  # class
                                  "start": 188, "end": 1500}, ...]}, ...],
      "videos": [...]}, ...]                       # ignored here

**SensiML's ``end`` is inclusive** (the last sample of the segment). Evidence,
all in github.com/sensiml/piccolo: the server cuts a segment's samples with
``DataFrame.loc[seg_start:seg_end]`` (``src/server/datamanager/query.py``;
``.loc`` slices include both ends), reports its length as
``end - start + 1`` (``queryparser.py``), and rejects an ``end`` greater than
the capture's ``max_sequence`` = number of samples - 1 or ``end <= start``
(``serializers/capture_label_relationship.py``). Our :class:`Segment` end is
exclusive, so ``Segment.end = end + 1``; a valid SensiML segment has
``0 <= start < end <= n_samples - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl.data._captures import CaptureOptions, CaptureSet
from automl.data._dataset import Capture, Dataset, Segment
from automl.data._json import (Span, check_spans, get_number, get_object, get_text, get_value, inside, jwhere,
                               load_json, type_name)
from automl.errors import DataError

_WHAT = "SensiML .dcli/.dai import file"
_SHAPE = '[{"file_name": ..., "metadata": [...], "sessions": [{"session_name": ..., "segments": [...]}]}]'


@dataclass
class _RawSegment:
    entry: str
    group: str
    label: str
    start: float
    end: float


@dataclass
class _Entry:
    index: int
    file: Path
    name: str
    metadata: dict[str, str]
    sessions: dict[str, tuple[str, list]]  # session name -> (entry path, segments JSON list)


def _parse_entries(path: Path, doc: object) -> list[_Entry]:
    if not isinstance(doc, list):
        raise DataError(
            f"{jwhere(path, '(top level)')}: {type_name(doc)}; expected a list of file entries {_SHAPE}"
        )
    if not doc:
        raise DataError(f"{jwhere(path, '(top level)')}: empty list; expected one entry per capture file {_SHAPE}")
    entries: list[_Entry] = []
    seen_files: dict[Path, str] = {}
    seen_names: dict[str, str] = {}
    for i, raw in enumerate(doc):
        entry = f"[{i}]"
        obj = get_object(path, raw, entry, 'a file entry {"file_name", "metadata", "sessions"}')
        file_name = get_text(path, obj, entry, "file_name", "the capture CSV file name, relative to the .dcli file")
        file = inside(path.parent, file_name, jwhere(path, entry, "file_name"))
        if not file.is_file():
            raise DataError(
                f"{jwhere(path, entry, 'file_name')}: unknown capture file {file_name!r}, {file} not found "
                "(file_name is relative to the folder of the .dcli file)"
            )
        key = file.resolve()
        if key in seen_files:
            raise DataError(
                f"{jwhere(path, entry, 'file_name')}: {file_name!r} is already entry {seen_files[key]}; "
                "give each capture file once"
            )
        name = Path(file_name).stem
        if name in seen_names:
            raise DataError(
                f"{jwhere(path, entry, 'file_name')}: capture name {name!r} (the file stem) is already used by "
                f"entry {seen_names[name]}; rename one of the files"
            )
        seen_files[key] = entry
        seen_names[name] = entry

        metadata: dict[str, str] = {}
        if "metadata" in obj:
            items = get_value(path, obj, entry, "metadata", list, 'a list of {"name", "value"} objects')
            first: dict[str, str] = {}
            for j, item in enumerate(items):
                where = f"{entry}.metadata[{j}]"
                item = get_object(path, item, where, 'a {"name", "value"} object')
                mname = get_text(path, item, where, "name", "the metadata name (e.g. Subject)")
                if mname in first:
                    raise DataError(
                        f"{jwhere(path, where, 'name')}: metadata {mname!r} is already given in {first[mname]}; "
                        "give each name once per file"
                    )
                first[mname] = where
                metadata[mname] = get_text(path, item, where, "value", "the metadata value (text)")

        sessions: dict[str, tuple[str, list]] = {}
        for j, raw_session in enumerate(get_value(path, obj, entry, "sessions", list, "a list of sessions")):
            where = f"{entry}.sessions[{j}]"
            s = get_object(path, raw_session, where, 'a session {"session_name", "segments"}')
            sname = get_text(path, s, where, "session_name", "the session name")
            if sname in sessions:
                raise DataError(
                    f"{jwhere(path, where, 'session_name')}: session {sname!r} is already "
                    f"{sessions[sname][0]}; give each session once per file"
                )
            segments = get_value(path, s, where, "segments", list, 'a list of {"name", "value", "start", "end"}')
            sessions[sname] = (where, segments)
        entries.append(_Entry(i, file, name, metadata, sessions))
    return entries


def _parse_segments(path: Path, where: str, items: list) -> list[_RawSegment]:
    out = []
    for k, raw in enumerate(items):
        entry = f"{where}.segments[{k}]"
        obj = get_object(path, raw, entry, 'a segment {"name", "value", "start", "end"}')
        group = get_text(path, obj, entry, "name", "the label group name (e.g. Label)")
        label = get_text(path, obj, entry, "value", "the class of the segment")
        start = get_number(path, obj, entry, "start", "a sample index (whole number)")
        end = get_number(path, obj, entry, "end", "a sample index (whole number, inclusive)")
        out.append(_RawSegment(entry, group, label, start, end))
    return out


def _to_segment(path: Path, raw: _RawSegment, capture: Capture) -> Span:
    """Check one SensiML segment against its capture and convert its end to exclusive."""
    n = capture.n_samples
    for key, value in (("start", raw.start), ("end", raw.end)):
        if not float(value).is_integer():
            raise DataError(
                f"{jwhere(path, raw.entry, key)}: wrong units: {value!r} is not a whole number; SensiML start/end "
                "are sample indices (0-based), and a fractional value looks like a time in seconds; "
                f"multiply times by the sample rate (capture {capture.name!r} has {n} samples)"
            )
    start, end = int(raw.start), int(raw.end)
    if start < 0:
        raise DataError(
            f"{jwhere(path, raw.entry, 'start')}: start {start} < 0; capture {capture.name!r} has samples 0..{n - 1}"
        )
    if end < start:
        raise DataError(
            f"{jwhere(path, raw.entry, 'end')}: end {end} < start {start}; a segment runs from start to end"
        )
    if end == start:
        raise DataError(
            f"{jwhere(path, raw.entry, 'end')}: end {end} == start {start}; SensiML rejects segments with "
            "end <= start (end is the last sample, inclusive), so end must be greater than start"
        )
    if end > n - 1:
        raise DataError(
            f"{jwhere(path, raw.entry, 'end')}: end {end} is beyond capture {capture.name!r}, whose last sample "
            f"is {n - 1} ({n} samples; SensiML's end is inclusive, so it is at most {n - 1})"
        )
    return Span(
        Segment(capture.name, raw.label, start, end + 1),
        jwhere(path, raw.entry, "start"),
        raw.entry,
        f"{start}..{end}",
    )


def read_dcli(path: str | Path, *, session: str | None = None, label_group: str | None = None,
              **options: Any) -> Dataset:
    """Read a SensiML Data Capture Lab ``.dcli`` (or Data Studio ``.dai``) import file.

    * Captures: one per entry, in the file's order, named by the stem of
      ``file_name`` (relative to the folder of the ``.dcli`` file; a name
      that leads outside that folder is refused). The CSV files are read by
      :class:`~automl.data._captures.CaptureSet`: channels are the numeric
      columns other than the time columns; a time column gives the sample
      rate, or ``sample_rate_hz`` for files without one (SensiML captures
      often have no time column). CSV files next to the ``.dcli`` that it
      does not name are not read.
    * Metadata: the entry's ``metadata`` ``name -> value`` plus ``file``.
    * Segments: those of one session and one label group. A capture without
      that session has no segments (all background).
    * Ends: SensiML's ``end`` is the last sample (inclusive, see the module
      docstring); ``Segment.end = end + 1`` (exclusive).

    Args:
        path: the ``.dcli``/``.dai`` file.
        session: ``session_name`` to read; ``None`` for the first session of
            the first entry that has one (the only one in most files).
        label_group: segment ``name`` (label group) to read, e.g. ``Label``;
            ``None`` if the session uses only one.
        **options: :class:`~automl.data._captures.CaptureOptions` fields
            (``sample_rate_hz`` for captures without a time column, checked
            against the time column where there is one).

    Returns:
        A :class:`Dataset` named after the file's stem; segments sorted by
        capture, then start.

    Raises:
        DataError: one per problem, naming the file, the entry (JSON path
            such as ``[0].sessions[1].segments[3]``) and the field: invalid
            JSON, wrong shape or type, missing key, unknown or repeated
            capture file, unknown session, several label groups, start/end
            not whole numbers (wrong units, e.g. seconds), ``start < 0``,
            ``end <= start``, ``end`` beyond the capture, overlapping
            segments, a ``file_name`` outside the folder; and any capture
            CSV problem (file, row, column).
        ConfigError: a bad option.
    """
    opts = CaptureOptions(**options)
    path = Path(path)
    entries = _parse_entries(path, load_json(path, _WHAT))

    names = [name for e in entries for name in e.sessions]
    if not names:
        raise DataError(f"{path}: no entry has a session; nothing is labelled (expected {_SHAPE})")
    known = list(dict.fromkeys(names))
    chosen = known[0] if session is None else session
    if chosen not in known:
        raise DataError(f"{path}: no session {chosen!r}; the file has sessions {known}; pass one of them as session=")

    raw: list[tuple[_Entry, _RawSegment]] = []
    for e in entries:
        if chosen in e.sessions:
            where, items = e.sessions[chosen]
            raw.extend((e, r) for r in _parse_segments(path, where, items))
    groups = list(dict.fromkeys(r.group for _, r in raw))
    if label_group is None:
        if len(groups) > 1:
            second = next(r for _, r in raw if r.group != groups[0])
            raise DataError(
                f"{jwhere(path, second.entry, 'name')}: label group {second.group!r} differs from {groups[0]!r} "
                f"of earlier segments; session {chosen!r} has label groups {groups}, pick one with label_group="
            )
    elif raw and label_group not in groups:
        raise DataError(
            f"{path}: no segment of session {chosen!r} has label group (field 'name') {label_group!r}; "
            f"it has {groups}"
        )
    if label_group is not None:
        raw = [(e, r) for e, r in raw if r.group == label_group]

    reader = CaptureSet(opts)
    captures: dict[int, Capture] = {}
    for e in entries:
        capture = reader.read(e.name, e.file)
        capture.metadata.update(e.metadata)
        captures[e.index] = capture

    spans = [_to_segment(path, r, captures[e.index]) for e, r in raw]
    order = {e.name: e.index for e in entries}
    segments = check_spans(
        spans, order, "; SensiML's end is inclusive, so a segment ending at sample k and one starting at k share k"
    )
    return reader.dataset(path.stem, segments)

