"""One label per file: a folder of capture CSVs, each one recording of one class.

The class comes from the file name (a regular expression with a named group
``label``) or from a mapping CSV with columns ``file,label``. The whole
capture is one segment ``[0, n_samples)``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from automl.data._dataset import Capture, Dataset, Segment
from automl.data._import_common import _CaptureSet
from automl.data._readers import _csv_files, _read_table, _require_dir, _where
from automl.errors import ConfigError, DataError

#: Required columns of the mapping CSV.
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


def _labels_from_pattern(files: list[Path], pattern: re.Pattern[str]) -> dict[Path, dict[str, str]]:
    """file -> {"label": class, other named groups...}."""
    out: dict[Path, dict[str, str]] = {}
    for file in files:
        match = pattern.fullmatch(file.name) or pattern.fullmatch(file.stem)
        if match is None:
            raise DataError(
                f"{file}: the file name {file.name!r} does not match the pattern {pattern.pattern!r} (matched in "
                "full against the name or the stem); rename the file, move it out of the folder or widen the "
                "pattern"
            )
        groups = {k: v for k, v in match.groupdict().items() if v}
        if "label" not in groups or not groups["label"].strip():
            raise DataError(
                f"{file}: the group 'label' of the pattern {pattern.pattern!r} matched no text in {file.name!r}; "
                "every file needs a class"
            )
        out[file] = {k: v.strip() for k, v in groups.items()}
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


def _labels_from_mapping(root: Path, mapping: Path, files: list[Path]) -> dict[Path, dict[str, str]]:
    """file -> {"label": class, other columns...} from the rows of the mapping CSV."""
    table = _read_table(mapping)
    for column in MAPPING_COLUMNS:
        table.require(column)
    if table.n_rows == 0:
        raise DataError(
            f"{_where(mapping, 2)}: the mapping has a header (row 1) but no rows; add one row file,label per capture"
        )
    out: dict[Path, dict[str, str]] = {}
    first_row: dict[Path, int] = {}
    for i in range(table.n_rows):
        row = table.rows[i]
        cell = table.columns["file"][i].strip()
        if not cell:
            raise DataError(f"{_where(mapping, row, 'file')}: empty cell; name the capture CSV file")
        file = root / cell
        if not file.is_file() and not cell.lower().endswith(".csv") and (root / f"{cell}.csv").is_file():
            file = root / f"{cell}.csv"
        if not file.is_file():
            raise DataError(
                f"{_where(mapping, row, 'file')}: unknown capture file {cell!r}: {file} not found (file names "
                f"are relative to {root})"
            )
        key = file.resolve()
        if key in first_row:
            raise DataError(
                f"{_where(mapping, row, 'file')}: {cell!r} already has a label in row {first_row[key]}; "
                "give one row per file"
            )
        first_row[key] = row
        label = table.columns["label"][i].strip()
        if not label:
            raise DataError(f"{_where(mapping, row, 'label')}: empty cell; every file needs a class")
        extra = {c: table.columns[c][i].strip() for c in table.header if c not in MAPPING_COLUMNS}
        out[file] = {"label": label, **{k: v for k, v in extra.items() if v}}
    listed = {f.resolve() for f in out}
    for file in files:
        if file.resolve() not in listed:
            raise DataError(
                f"{file}: not listed in the mapping {mapping} (column 'file'); add a row {file.name},<label> "
                "or move the file out of the folder"
            )
    return out


def read_per_file_labels(
    path: str | Path,
    *,
    pattern: str | re.Pattern[str] | None = None,
    mapping: str | Path | None = None,
    channels: Sequence[str] | None = None,
    sample_rate_hz: float | None = None,
    background: str = "NoActivity",
) -> Dataset:
    """Read a folder of capture CSVs with one class per file.

    * Class: from ``pattern``, a regular expression matched in full against
      the file name or its stem (``(?P<label>[a-z]+)_\\d+\\.csv`` gives
      ``walk`` for ``walk_01.csv``); its other named groups become metadata.
      Or from ``mapping``, a CSV with columns ``file,label`` (file names
      relative to ``path``, ``.csv`` optional); its other columns become
      metadata. Every CSV in the folder (the mapping file itself excepted)
      needs a class.
    * Captures: the ``*.csv`` files directly in ``path`` (or, with a mapping,
      the files it lists), named by stem, sorted by name. CSV reading,
      channels and sample rate as in
      :func:`~automl.data.read_labelled_csv_folder` without a label column
      (``sample_rate_hz`` for files without a time column).
    * Segments: one per capture, ``[0, n_samples)``.

    Args:
        path: the folder.
        pattern: regular expression with a named group ``label``.
        mapping: the mapping CSV; a relative path is looked up in the current
            folder, then in ``path``.
        channels: channel columns to read, in this order; ``None`` for all.
        sample_rate_hz: sample rate of files without a time column (Hz).
        background: name of the background class.

    Returns:
        A :class:`Dataset` named after the folder.

    Raises:
        DataError: missing folder or mapping file, no CSV file, a file not
            matched by the pattern, a mapping row naming a missing file (row
            and column named), a repeated or empty mapping cell, a CSV not in
            the mapping, any capture CSV problem (file, row, column).
        ConfigError: neither or both of ``pattern`` and ``mapping``, a
            pattern that does not compile or has no group ``label``, bad
            ``channels`` or ``sample_rate_hz``.
    """
    if (pattern is None) == (mapping is None):
        raise ConfigError(
            "The 'pattern' and 'mapping' parameters: give exactly one (the class from the file name, or from a "
            f"file,label CSV). Got pattern={pattern!r}, mapping={mapping!r} instead."
        )
    compiled = _compile(pattern) if pattern is not None else None
    root = _require_dir(path)
    map_path = _resolve_mapping(root, mapping) if mapping is not None else None
    files = [f for f in _csv_files(root) if map_path is None or f.resolve() != map_path.resolve()]

    if compiled is not None:
        if not files:
            raise DataError(f"{root}: no CSV files in this folder; expected one <class>_<n>.csv per recording")
        labels = _labels_from_pattern(files, compiled)
    else:
        assert map_path is not None
        labels = _labels_from_mapping(root, map_path, files)

    ordered = sorted(labels, key=lambda f: (f.stem, f.name))
    for a, b in zip(ordered, ordered[1:]):
        if a.stem == b.stem:
            raise DataError(f"{a} and {b}: two files give the capture name {a.stem!r}; rename one of them")
    reader = _CaptureSet(channels, sample_rate_hz=sample_rate_hz)
    captures: list[Capture] = []
    segments: list[Segment] = []
    for file in ordered:
        capture, _ = reader.read(file, file.stem)
        info = dict(labels[file])
        label = info.pop("label")
        capture.metadata.update(info)
        captures.append(capture)
        segments.append(Segment(capture.name, label, 0, capture.n_samples))
    return Dataset(
        name=root.resolve().name,
        channels=reader.channels,
        sample_rate_hz=reader.dataset_rate(),
        captures=captures,
        segments=segments,
        background=background,
    )
