"""One class per recording: a folder of capture CSVs, the class from the file name or a mapping file.

The class of each capture comes from a regular expression with a named group
``label`` matched against its file name (``--label-pattern``), or from a
mapping CSV ``file,label`` (``--label-map``); the whole capture is one
segment ``[0, n_samples)``. Sub-folders are searched; a recording written as
one file per sensor is merged into one capture (``automl/data/_recordings.py``).
One class per folder is ``automl/data/_class_folders.py``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from automl.data._captures import CaptureOptions, CaptureSet
from automl.data._csv import read_table, where
from automl.data._dataset import Dataset, Segment
from automl.data._json import inside
from automl.data._recordings import (SENSOR_WORDS, Found, Recording, capture_name, find_csv_files,
                                     group_recordings, require_dir, sensor_of)
from automl.errors import ConfigError, DataError

#: Required columns of the mapping CSV; optional: ``recording`` (files with the same
#: value are one multi-sensor capture), ``sensor`` (the file's sensor group), any
#: other column becomes capture metadata.
MAPPING_COLUMNS: tuple[str, ...] = ("file", "label")


def _compile(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        compiled = pattern
    elif isinstance(pattern, str):
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ConfigError(
                f"The 'pattern' parameter must be a valid regular expression. Got {pattern!r} instead ({exc})."
            ) from None
    else:
        raise ConfigError(f"The 'pattern' parameter must be a regular expression string. Got {pattern!r} instead.")
    if "label" not in compiled.groupindex:
        raise ConfigError(
            f"The 'pattern' parameter must have a named group 'label' that captures the class, e.g. "
            rf"'(?P<label>[a-z]+)_\d+\.csv'. Got {compiled.pattern!r} instead."
        )
    return compiled


def _labels_from_pattern(root: Path, recordings: list[Recording], pattern: re.Pattern[str]) -> dict[str, dict[str, str]]:
    """capture name -> {"label": class, other named groups...}: every file of a recording must agree."""
    out: dict[str, dict[str, str]] = {}
    for rec in recordings:
        for file in rec.files.values():
            rel = file.relative_to(root).as_posix()
            match = pattern.fullmatch(rel) or pattern.fullmatch(file.name) or pattern.fullmatch(file.stem)
            if match is None:
                raise DataError(
                    f"{file}: the file name {file.name!r} does not match the pattern {pattern.pattern!r} (matched in "
                    "full against the path in the data folder, the name or the stem); rename the file, move it out "
                    "of the folder or widen the pattern"
                )
            groups = {k: v.strip() for k, v in match.groupdict().items() if v and v.strip()}
            if "label" not in groups:
                raise DataError(
                    f"{file}: the group 'label' of the pattern {pattern.pattern!r} matched no text in {rel!r}; "
                    "every file needs a class"
                )
            if rec.name in out and out[rec.name]["label"] != groups["label"]:
                raise DataError(f"{file}: class {groups['label']!r} from the pattern, but the other file(s) of "
                                f"recording {rec.name!r} give {out[rec.name]['label']!r}")
            out.setdefault(rec.name, {}).update(groups)
    return out


def _resolve_mapping(root: Path, mapping: str | Path) -> Path:
    path = Path(mapping)
    if not path.is_absolute() and not path.exists() and (root / path).exists():
        path = root / path
    if not path.is_file():
        raise DataError(
            f"{path}: mapping file not found; give a CSV with columns {','.join(MAPPING_COLUMNS)} "
            f"(a relative path is looked up in the current folder, then in {root})"
        )
    return path


def _from_mapping(root: Path, mapping: Path, found: Found) -> tuple[list[Recording], dict[str, dict[str, str]]]:
    """Recordings and their classes from the rows of the mapping CSV."""
    table = read_table(mapping, MAPPING_COLUMNS,
                       "the mapping has a header (row 1) but no rows; add one row file,label per capture")
    info: dict[str, dict[str, str]] = {}
    parts: dict[str, list[tuple[str, Path, int]]] = defaultdict(list)
    first_row: dict[Path, int] = {}
    for i in range(table.n_rows):
        row = table.rows[i]
        cell = table.columns["file"][i].strip()
        if not cell:
            raise DataError(f"{where(mapping, row, 'file')}: empty cell; name the capture CSV file")
        file = inside(root, cell, where(mapping, row, "file"))
        if not file.is_file() and not cell.lower().endswith(".csv") and (root / f"{cell}.csv").is_file():
            file = root / f"{cell}.csv"
        if not file.is_file():
            raise DataError(
                f"{where(mapping, row, 'file')}: unknown capture file {cell!r}: {file} not found (file names "
                f"are relative to {root})"
            )
        key = file.resolve()
        if key in first_row:
            raise DataError(
                f"{where(mapping, row, 'file')}: {cell!r} already has a label in row {first_row[key]}; "
                "give one row per file"
            )
        first_row[key] = row
        label = table.columns["label"][i].strip()
        if not label:
            raise DataError(f"{where(mapping, row, 'label')}: empty cell; every file needs a class")
        recording = table.columns["recording"][i].strip() if "recording" in table.columns else ""
        name = recording or capture_name(root, file)
        sensor = table.columns["sensor"][i].strip().lower() if "sensor" in table.columns else ""
        if recording and not sensor:
            found_sensor = sensor_of(file.stem)
            if found_sensor is None:
                raise DataError(f"{where(mapping, row, 'sensor')}: file {cell!r} is part of recording {recording!r} "
                                f"but no sensor is named (column 'sensor', or a word of {sorted(SENSOR_WORDS)} in "
                                "its file name)")
            sensor = found_sensor[0]
        sensor = SENSOR_WORDS.get(sensor, sensor)
        extra = {c: table.columns[c][i].strip() for c in table.header
                 if c not in (*MAPPING_COLUMNS, "recording", "sensor") and table.columns[c][i].strip()}
        if name in info and info[name]["label"] != label:
            raise DataError(f"{where(mapping, row, 'label')}: recording {name!r} already has class "
                            f"{info[name]['label']!r}; every file of a recording needs the same class")
        info.setdefault(name, {"label": label}).update(extra)
        parts[name].append((sensor, file, row))
    recordings = []
    for name, files in parts.items():
        sensors = [s for s, _, _ in files]
        if len(files) > 1 and len(set(sensors)) != len(sensors):
            _, file, row = files[1]
            raise DataError(f"{where(mapping, row, 'sensor')}: recording {name!r} has two files of sensor "
                            f"{sensors[1]!r}; give each sensor once per recording")
        recordings.append(Recording(name, {s: f for s, f, _ in files} if len(files) > 1 else {"": files[0][1]}))
    listed = set(first_row)
    for file in found.files:
        if file.resolve() not in listed and file.resolve() != mapping.resolve():
            raise DataError(
                f"{file}: not listed in the mapping {mapping} (column 'file'); add a row "
                f"{file.relative_to(root).as_posix()},<label> or move the file out of the folder"
            )
    return recordings, info


def read_recordings(root: Path, recordings: list[Recording], info: dict[str, dict[str, str]],
                    opts: CaptureOptions, found: Found) -> Dataset:
    """A dataset of one class per recording: ``info[name]["label"]``, other entries become metadata."""
    captures = CaptureSet(opts)
    segments: list[Segment] = []
    for rec in sorted(recordings, key=lambda r: r.name):
        display = rec.first.relative_to(root).as_posix() if rec.first.is_relative_to(root) else rec.first.name
        capture = captures.read(rec.name, rec.files if len(rec.files) > 1 else rec.first, display=display)
        meta = dict(info[rec.name])
        label = meta.pop("label")
        capture.metadata.update(meta)
        segments.append(Segment(capture.name, label, 0, capture.n_samples))
    merged = sum(len(r.files) > 1 for r in recordings)
    if merged:
        captures.notes.insert(0, f"{merged} recording(s) merged from one file per sensor (e.g. "
                                 f"{[f.name for f in next(r for r in recordings if len(r.files) > 1).files.values()]})")
    captures.notes.insert(0, found.note())
    return captures.dataset(root.resolve().name, segments)


def read_per_file_labels(
    path: str | Path,
    *,
    pattern: str | re.Pattern[str] | None = None,
    mapping: str | Path | None = None,
    recursive: bool = True,
    **options: Any,
) -> Dataset:
    """Read a folder of capture CSVs with one class per file (or per multi-sensor recording).

    * Class: from ``pattern``, a regular expression matched in full against
      the file's path in the folder, its name or its stem
      (``(?P<label>[a-z]+)_\\d+\\.csv`` gives ``walk`` for ``walk_01.csv``);
      its other named groups become metadata. Or from ``mapping``, a CSV with
      columns ``file,label`` (file names relative to ``path``, ``.csv``
      optional; never outside ``path``), optional ``recording`` (files with
      the same value are one capture, one per sensor) and ``sensor``; its
      other columns become metadata. Every CSV found (the mapping file
      excepted) needs a class.
    * Captures: the ``*.csv`` files of ``path`` (and sub-folders if
      ``recursive``), files of one recording merged, named by the path
      relative to ``path`` without ``.csv``. Columns, sample rate and
      resampling as :class:`~automl.data._captures.CaptureSet`.
    * Segments: one per capture, ``[0, n_samples)``.

    Args:
        path: the folder.
        pattern: regular expression with a named group ``label``.
        mapping: the mapping CSV; a relative path is looked up in the current
            folder, then in ``path``.
        recursive: look in sub-folders.
        **options: :class:`~automl.data._captures.CaptureOptions` fields.

    Returns:
        A :class:`Dataset` named after the folder.

    Raises:
        DataError: missing folder or mapping file, no CSV file, a file not
            matched by the pattern, a mapping row naming a missing file or one
            outside the folder (row and column named), a repeated or empty
            mapping cell, a CSV not in the mapping, any capture CSV problem
            (file, row, column).
        ConfigError: neither or both of ``pattern`` and ``mapping``, a
            pattern that does not compile or has no group ``label``, a bad option.
    """
    if (pattern is None) == (mapping is None):
        raise ConfigError(
            "The 'pattern' and 'mapping' parameters: give exactly one (the class from the file name, or from a "
            f"file,label CSV). Got pattern={pattern!r}, mapping={mapping!r} instead."
        )
    compiled = _compile(pattern) if pattern is not None else None
    opts = CaptureOptions(**options)
    root = require_dir(path)
    found = find_csv_files(root, recursive)
    if compiled is not None:
        if not found.files:
            raise DataError(f"{root}: no CSV files in this folder; expected one <class>_<n>.csv per recording")
        recordings = group_recordings(root, found.files)
        info = _labels_from_pattern(root, recordings, compiled)
    else:
        map_path = _resolve_mapping(root, mapping)
        found.files = [f for f in found.files if f.resolve() != map_path.resolve()]
        recordings, info = _from_mapping(root, map_path, found)
    return read_recordings(root, recordings, info, opts, found)
