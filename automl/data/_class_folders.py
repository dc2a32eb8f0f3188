"""One class per folder: ``<root>/<class>/**/*.csv``, the folder name is the class.

A glove or phone app export often looks like ``Left Jab/``, ``Right Hook/``,
each holding one file (or one file per sensor) per recording. Every capture
is one segment of its folder's class; files of one recording written per
sensor are merged (``automl/data/_recordings.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl.data._captures import CaptureOptions
from automl.data._dataset import Dataset
from automl.data._per_file import read_recordings
from automl.data._recordings import find_csv_files, group_recordings, require_dir
from automl.errors import DataError


def read_class_folders(path: str | Path, **options: Any) -> Dataset:
    """Read a folder whose sub-folders are the classes.

    * Classes: the names of the sub-folders of ``path`` (hidden ones skipped).
    * Captures: the ``*.csv`` files anywhere under a class folder (CSV files
      directly in ``path`` have no class and are skipped, and listed),
      named ``<class>/<path in the class folder without .csv>``; a recording
      written as one file per sensor becomes one capture. Columns, sample
      rate and resampling as :class:`~automl.data._captures.CaptureSet`.
    * Metadata: ``file``, constant text columns; with ``name_metadata`` the
      named groups of the capture name (e.g. the subject in the file name).
    * Segments: one per capture, ``[0, n_samples)``, labelled with its class.

    Args:
        path: the folder holding one folder per class.
        **options: :class:`~automl.data._captures.CaptureOptions` fields.

    Raises:
        DataError: missing folder, no class folder with a CSV file, any
            capture CSV problem (file, row, column).
        ConfigError: a bad option.
    """
    opts = CaptureOptions(**options)
    root = require_dir(path, "the folder that holds one folder of CSV files per class")
    found = find_csv_files(root, recursive=True)
    top = [f for f in found.files if f.parent == root]
    found.files = [f for f in found.files if f.parent != root]
    found.skipped.extend((f, "not in a class folder") for f in top)
    if not found.files:
        raise DataError(f"{root}: no CSV files in sub-folders; expected <class>/<recording>.csv, one folder per "
                        "class (for CSV files with a label column use --format label-column)")
    recordings = group_recordings(root, found.files)
    info = {}
    for rec in recordings:
        label = rec.first.relative_to(root).parts[0]
        info[rec.name] = {"label": label}
    return read_recordings(root, recordings, info, opts, found)
