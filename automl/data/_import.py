"""One entry point for every dataset format: :func:`import_dataset`; :func:`detect_format` says which.

Adding a format: write ``automl/data/_<format>.py`` with one reader
``read_<format>(path, *, <its own options>, **options)`` that finds its
capture files and labels, reads the captures with
:class:`~automl.data._captures.CaptureSet` (``**options`` are its
:class:`~automl.data._captures.CaptureOptions`) and returns
``CaptureSet.dataset(name, segments)``; then add it to :data:`READERS` and,
if it can be recognised, to :func:`detect_format`.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from automl.data._canonical import read_canonical
from automl.data._captures import CaptureOptions
from automl.data._class_folders import read_class_folders
from automl.data._csv import csv_header
from automl.data._dataset import Dataset
from automl.data._dcli import read_dcli
from automl.data._label_column import read_labelled_csv_folder
from automl.data._label_studio import read_label_studio
from automl.data._per_file import read_per_file_labels
from automl.data._recordings import find_csv_files, require_dir
from automl.errors import ConfigError, DataError

#: Format name -> reader. ``fmt`` of :func:`import_dataset` is one of these or ``"auto"``.
READERS: dict[str, Callable[..., Dataset]] = {
    "label-column": read_labelled_csv_folder,
    "canonical": read_canonical,
    "per-file": read_per_file_labels,
    "folders": read_class_folders,
    "dcli": read_dcli,
    "label-studio": read_label_studio,
}

#: Accepted values of ``fmt``.
IMPORT_FORMATS: tuple[str, ...] = ("auto", *READERS)

#: Options every reader takes (:class:`~automl.data._captures.CaptureOptions`).
COMMON_OPTIONS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(CaptureOptions))

_DCLI_SUFFIXES = (".dcli", ".dai")


def _json_kind(path: Path) -> str | None:
    """``dcli``, ``label-studio`` or None, from the first item of a JSON list."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # the chosen reader reports the problem
    if not (isinstance(doc, list) and doc and isinstance(doc[0], dict)):
        return None
    if {"file_name", "sessions"} <= set(doc[0]):
        return "dcli"
    return "label-studio" if "data" in doc[0] else None


def detect_format(path: str | Path | Sequence[str | Path], **options: Any) -> str:
    """The format :func:`import_dataset` reads ``path`` as when ``fmt="auto"``.

    Rules, in order:

    1. Several paths: ``label-studio`` (train and test exports).
    2. A file ending in ``.dcli`` or ``.dai`` (any case): ``dcli``.
    3. A ``.json`` file: ``dcli`` if it is a list whose first item has
       ``file_name`` and ``sessions``, otherwise ``label-studio``. A ``.csv``
       file: ``label-column`` (one capture).
    4. A folder holding a ``captures/`` folder: ``canonical``.
    5. A folder, with the option ``pattern`` or ``mapping``: ``per-file``.
    6. A folder holding exactly one ``.dcli``/``.dai`` file (a Data Capture
       Lab export next to its CSVs): ``dcli`` (that file is read).
    7. A folder holding Label Studio ``.json`` exports and no ``.dcli``:
       ``label-studio`` (every export is read).
    8. A folder with CSV files whose header has the label column
       (``label_column``, default ``label``): ``label-column``.
    9. A folder whose sub-folders hold CSV files: ``folders`` (one class
       per folder; CSV files beside the class folders are skipped and listed).

    Raises:
        DataError: ``path`` does not exist, is a file of another kind, or a
            folder of CSV files without a label column (the message says
            which options give one class per file).
    """
    if not isinstance(path, (str, Path)):
        paths = [Path(p) for p in path]
        if len(paths) == 1:
            return detect_format(paths[0], **options)
        for p in paths:
            if not p.exists():
                raise DataError(f"{p}: not found; several --data are Label Studio exports (.json files)")
        return "label-studio"
    p = Path(path)
    if not p.exists():
        raise DataError(
            f"{p}: not found; give a dataset folder, a capture CSV, a SensiML .dcli/.dai file or a Label Studio "
            ".json export"
        )
    if p.is_file():
        suffix = p.suffix.lower()
        if suffix in _DCLI_SUFFIXES:
            return "dcli"
        if suffix == ".json":
            return "dcli" if _json_kind(p) == "dcli" else "label-studio"
        if suffix == ".csv":
            return "label-column"
        raise DataError(
            f"{p}: cannot tell the format from the extension {p.suffix or '(none)'!r}; expected a folder, "
            f"a .csv, a .dcli/.dai or a .json file, or pass --format (one of {list(READERS)})"
        )
    if (p / "captures").is_dir():
        return "canonical"
    if options.get("pattern") is not None or options.get("mapping") is not None:
        return "per-file"
    if len(_dcli_files(p)) == 1:
        return "dcli"
    if any(_json_kind(f) == "label-studio" for f in sorted(p.glob("*.json"))):
        return "label-studio"
    found = find_csv_files(p)
    label = options.get("label_column") or "label"
    if found.files and label in csv_header(found.files[0]):
        return "label-column"
    if any(f.parent != p for f in find_csv_files(p, recursive=True).files):
        return "folders"
    if found.files:
        raise DataError(
            f"{found.files[0]}: no {label!r} column, so the folder is not one CSV per capture with a label on "
            "every row; for one class per file give --label-pattern REGEX or --label-map FILE.csv, for a label "
            "column of another name --label-column NAME"
        )
    return "label-column"  # reports the folder without CSV files


def _dcli_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in _DCLI_SUFFIXES)


def _bad_format(fmt: str) -> None:
    raise ConfigError(f"The '--format' parameter (fmt) must be one of {', '.join(IMPORT_FORMATS)}. Got {fmt!r} "
                      "instead.")


def reader_options(fmt: str) -> list[str]:
    """Keyword options the reader of ``fmt`` takes: its own, then :data:`COMMON_OPTIONS`.

    Raises:
        ConfigError: if ``fmt`` is not a reader's format (naming the formats, as ``--format``).
    """
    if fmt not in READERS:
        _bad_format(fmt)
    own = [name for name, p in inspect.signature(READERS[fmt]).parameters.items()
           if p.kind is inspect.Parameter.KEYWORD_ONLY]
    return [*own, *(o for o in COMMON_OPTIONS if o not in own)]


def import_dataset(path: str | Path | Sequence[str | Path], fmt: str = "auto", **options: Any) -> Dataset:
    """Read a dataset in any supported format into the canonical :class:`Dataset`.

    Formats (``fmt``) and their readers:

    * ``"label-column"``: a folder of CSVs with a label on every row
      (:func:`~automl.data.read_labelled_csv_folder`).
    * ``"canonical"``: ``captures/`` + ``labels.csv`` (+ ``metadata.csv``)
      (:func:`~automl.data.read_canonical`).
    * ``"per-file"``: one class per CSV (or per multi-sensor recording), from
      a file-name regex or a ``file,label`` CSV
      (:func:`~automl.data.read_per_file_labels`).
    * ``"folders"``: one class per sub-folder
      (:func:`~automl.data.read_class_folders`).
    * ``"dcli"``: SensiML Data Capture Lab ``.dcli``/``.dai`` file
      (:func:`~automl.data.read_dcli`; SensiML ``end`` is inclusive and is
      converted to our exclusive end).
    * ``"label-studio"``: Label Studio JSON exports of time-series tasks
      (:func:`~automl.data.read_label_studio`; one file, several, or a folder).
    * ``"auto"``: chosen by :func:`detect_format`.

    Args:
        path: the file or folder (several Label Studio exports: a list).
        fmt: one of :data:`IMPORT_FORMATS`.
        **options: keyword options of the chosen reader (``session=`` for
            ``dcli``, ``time_column=`` and ``csv_dir=`` for
            ``label-studio``, ``pattern=``/``mapping=`` for ``per-file``,
            ``label_column=`` for ``label-column``) and the common
            :class:`~automl.data._captures.CaptureOptions` (``channels``,
            ``sensors``, ``time_column``, ``time_unit``, ``sample_rate_hz``,
            ``resample_hz``, ``name_metadata``, ``background``).

    Returns:
        The :class:`Dataset`: ``Capture.data`` ``(n_samples, n_channels)
        float32`` in the units of the source files, segments in samples
        (start inclusive, end exclusive).

    Raises:
        DataError: as the chosen reader, naming file, entry or row, and field
            or column; or ``path`` missing / of an unknown kind.
        ConfigError: unknown ``fmt``, an option the chosen reader does not
            take, or a bad option value.

    Example::

        ds = import_dataset("exports/project.dcli", session="Manual")
        ds = import_dataset("recordings/", pattern=r"(?P<label>[a-z]+)_\\d+\\.csv", resample_hz=50)
        ds = import_dataset(["train.json", "test.json"], time_column="time")
    """
    if fmt not in IMPORT_FORMATS:
        _bad_format(fmt)
    chosen = detect_format(path, **options) if fmt == "auto" else fmt
    allowed = reader_options(chosen)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        how = "detected" if fmt == "auto" else "given"
        raise ConfigError(
            f"The {chosen!r} format ({how}) does not take the option(s) {unknown}; it takes {allowed}. "
            f"Got {sorted(options)} instead."
        )
    many = not isinstance(path, (str, Path))
    if many:
        paths = [Path(p) for p in path]
        if chosen != "label-studio" and len(paths) != 1:
            raise ConfigError(f"The {chosen!r} format reads one folder or file; several (--data given "
                              f"{len(paths)} times) are for Label Studio exports. Got {[str(p) for p in paths]}.")
        target: Any = paths if chosen == "label-studio" else paths[0]
    else:
        target = Path(path)
    if chosen == "dcli" and isinstance(target, Path) and target.is_dir():
        found = _dcli_files(target)
        if len(found) != 1:
            raise DataError(
                f"{target}: fmt 'dcli' needs the .dcli/.dai file or a folder with exactly one; this folder has "
                f"{[f.name for f in found]}"
            )
        target = found[0]
    return READERS[chosen](target, **options)


@dataclass
class DataSource:
    """Where a search's data comes from, as recorded in its study: enough to read it again (report timeline).

    Attributes:
        paths: the files / folders given with ``--data`` (absolute), or
            empty for a built-in dataset.
        dataset: built-in dataset name, or None.
        format: the import format (detected if ``auto``).
        options: the reader options (:func:`automl.data.import_dataset`).
    """

    paths: list[str]
    dataset: str | None
    format: str
    options: dict

    def load(self):
        """Read the data set (raises what :func:`automl.data.import_dataset` raises)."""
        from automl.data._captures import apply_name_metadata
        from automl.data._demo import load_basic_motions

        if self.dataset is not None:
            ds = load_basic_motions()
            if self.options.get("name_metadata"):
                apply_name_metadata(ds.captures, self.options["name_metadata"])
            return ds
        target = self.paths[0] if len(self.paths) == 1 else self.paths
        return import_dataset(target, self.format, **self.options)


def load_dataset(path: str | Path, *, label_column: str = "label", **options: Any) -> Dataset:
    """Read a dataset folder that is either canonical (``captures/``) or label-column.

    A ``captures/`` folder without ``labels.csv`` is reported as such rather
    than read as a labelled folder, where its ``metadata.csv`` would be
    mistaken for a capture.

    Args:
        path: the dataset folder.
        label_column: per-sample label column (label-column folders only).
        **options: :class:`~automl.data._captures.CaptureOptions` fields.

    Raises:
        DataError / ConfigError: as the chosen reader; also if ``path`` is
            missing or not a folder.
    """
    root = require_dir(path)
    if (root / "captures").is_dir():
        return read_canonical(root, **options)
    return read_labelled_csv_folder(root, label_column=label_column, **options)
