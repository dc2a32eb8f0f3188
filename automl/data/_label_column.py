"""Label column: a folder of capture CSVs with a label on every row (the boxing-punches layout).

Sensor Logger writes ``timestamp`` (ns), ``seconds_elapsed`` (s), ``accZ,
accY, accX`` (m/s^2), ``gyrZ, gyrY, gyrX`` (rad/s); the boxing-punches files
add ``label`` and ``hand`` (../shared/data/README.md). Runs of equal labels
become segments, the background runs included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl.data._captures import CaptureOptions, CaptureSet
from automl.data._csv import csv_header
from automl.data._dataset import Dataset, Segment
from automl.data._recordings import capture_name, find_csv_files, require_dir
from automl.errors import DataError


def read_labelled_csv_folder(path: str | Path, *, label_column: str = "label", recursive: bool = False,
                             require_labels: bool = True, **options: Any) -> Dataset:
    """Read a folder of capture CSVs (or one such CSV) that carry a label on every row.

    * Captures: every ``*.csv`` in ``path`` (and its sub-folders if
      ``recursive``; hidden files skipped), named by the path relative to
      ``path`` without ``.csv``, sorted by name.
    * Columns, metadata, sample rate: as
      :class:`~automl.data._captures.CaptureSet` (time columns and the label
      column are never channels; constant text columns such as ``hand``
      become metadata, as does ``file``).
    * Segments: one per run of equal labels, the background runs included.

    Args:
        path: the folder, or one ``.csv`` file (a dataset of that one capture, named by the file).
        label_column: name of the per-sample label column.
        recursive: look in sub-folders too.
        require_labels: ``False`` reads the files as unlabelled captures (no
            segments) when one of them has no label column, e.g. a field
            recording to replay.
        **options: :class:`~automl.data._captures.CaptureOptions` fields
            (``channels``, ``background``, ``resample_hz``, ...).

    Returns:
        A :class:`Dataset` named after the folder; ``Capture.data`` is
        ``(n_samples, n_channels) float32`` in the units of the files.

    Raises:
        DataError: missing folder, no CSV files, missing column, empty,
            non-numeric, NaN or infinite cell, empty capture, time not
            strictly increasing, implausible rate, inconsistent channel
            columns, no channel column. The message names file, row, column.
        ConfigError: a bad option (e.g. ``channels`` empty, repeated, or
            naming the label or a time column).
    """
    opts = CaptureOptions(**options)
    single = Path(path).is_file() and Path(path).suffix.lower() == ".csv"
    root = Path(path).parent if single else require_dir(path)
    found = None if single else find_csv_files(root, recursive)
    files = [Path(path)] if single else found.files
    if not files:
        hint = ""
        if (root / "captures").is_dir():
            hint = " (there is a captures/ folder: the canonical format also needs labels.csv next to it)"
        elif any(why == "sub-folder" for _, why in found.skipped):
            hint = " (it has sub-folders: one class per folder is --format folders)"
        raise DataError(f"{root}: no CSV files in this folder{hint}; expected one <capture>.csv per recording")
    labelled = require_labels or all(label_column in csv_header(f) for f in files)
    captures = CaptureSet(opts, labels=label_column if labelled else None)
    segments: list[Segment] = []
    for file in files:
        name = capture_name(root, file)
        captures.read(name, file, display=file.relative_to(root).as_posix())
        if labelled:
            segments.extend(Segment(name, label, start, end)
                            for label, start, end in captures.label_runs[name].spans())
    if found is not None and found.skipped and recursive:
        captures.notes.insert(0, found.note())
    return captures.dataset(Path(path).resolve().stem if single else root.resolve().name, segments)
