"""One entry point for every dataset format: :func:`import_dataset`."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automl.data._dataset import Dataset
from automl.data._dcli import read_dcli
from automl.data._label_studio import read_label_studio
from automl.data._per_file import read_per_file_labels
from automl.data._readers import read_canonical, read_labelled_csv_folder
from automl.errors import ConfigError, DataError

#: Format name -> reader. ``fmt`` of :func:`import_dataset` is one of these or ``"auto"``.
READERS: dict[str, Callable[..., Dataset]] = {
    "dcli": read_dcli,
    "label-studio": read_label_studio,
    "per-file": read_per_file_labels,
    "label-column": read_labelled_csv_folder,
    "canonical": read_canonical,
}

#: Accepted values of ``fmt``.
IMPORT_FORMATS: tuple[str, ...] = ("auto", *READERS)

_DCLI_SUFFIXES = (".dcli", ".dai")


def _looks_like_dcli(path: Path) -> bool:
    """True if a ``.json`` file is a list whose first item has ``file_name`` and ``sessions``."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False  # the chosen reader reports the problem
    return bool(isinstance(doc, list) and doc and isinstance(doc[0], dict) and {"file_name", "sessions"} <= set(doc[0]))


def detect_format(path: str | Path, **options: Any) -> str:
    """The format :func:`import_dataset` reads ``path`` as when ``fmt="auto"``.

    Rules, in order:

    1. A file ending in ``.dcli`` or ``.dai`` (any case): ``dcli``.
    2. A ``.json`` file: ``dcli`` if it is a list whose first item has
       ``file_name`` and ``sessions``, otherwise ``label-studio``. A ``.csv``
       file: ``label-column`` (one capture).
    3. A folder holding a ``captures/`` folder: ``canonical``.
    4. A folder, with the option ``pattern`` or ``mapping``: ``per-file``.
    5. A folder holding exactly one ``.dcli``/``.dai`` file (a Data Capture
       Lab export next to its CSVs): ``dcli`` (that file is read).
    6. Any other folder: ``label-column`` (a label on every row).

    Raises:
        DataError: ``path`` does not exist, or is a file of another kind.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(
            f"{p}: not found; give a dataset folder, a SensiML .dcli/.dai file or a Label Studio .json export"
        )
    if p.is_file():
        suffix = p.suffix.lower()
        if suffix in _DCLI_SUFFIXES:
            return "dcli"
        if suffix == ".json":
            return "dcli" if _looks_like_dcli(p) else "label-studio"
        if suffix == ".csv":
            return "label-column"
        raise DataError(
            f"{p}: cannot tell the format from the extension {p.suffix or '(none)'!r}; expected a folder, "
            f"a .csv, a .dcli/.dai or a .json file, or pass fmt= (one of {list(READERS)})"
        )
    if (p / "captures").is_dir():
        return "canonical"
    if options.get("pattern") is not None or options.get("mapping") is not None:
        return "per-file"
    if len(_dcli_files(p)) == 1:
        return "dcli"
    return "label-column"


def _dcli_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in _DCLI_SUFFIXES)


def import_dataset(path: str | Path, fmt: str = "auto", **options: Any) -> Dataset:
    """Read a dataset in any supported format into the canonical :class:`Dataset`.

    Formats (``fmt``) and their readers:

    * ``"dcli"``: SensiML Data Capture Lab ``.dcli``/``.dai`` file
      (:func:`~automl.data.read_dcli`; SensiML ``end`` is inclusive and is
      converted to our exclusive end).
    * ``"label-studio"``: Label Studio JSON export of time-series tasks
      (:func:`~automl.data.read_label_studio`; region ``start <= t < end``
      converted to samples).
    * ``"per-file"``: a folder with one class per CSV, from a file-name
      regex or a ``file,label`` CSV (:func:`~automl.data.read_per_file_labels`).
    * ``"label-column"``: a folder of CSVs with a label on every row
      (:func:`~automl.data.read_labelled_csv_folder`).
    * ``"canonical"``: ``captures/`` + ``labels.csv`` (+ ``metadata.csv``)
      (:func:`~automl.data.read_canonical`).
    * ``"auto"``: chosen by :func:`detect_format` (extension, then folder
      structure).

    Args:
        path: the file or folder.
        fmt: one of :data:`IMPORT_FORMATS`.
        **options: keyword options of the chosen reader (e.g. ``session=``
            for ``dcli``, ``time_column=`` for ``label-studio``,
            ``pattern=``/``mapping=`` for ``per-file``, ``channels=`` and
            ``background=`` for all).

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
        ds = import_dataset("recordings/", pattern=r"(?P<label>[a-z]+)_\\d+\\.csv")
    """
    if fmt not in IMPORT_FORMATS:
        raise ConfigError(f"The 'fmt' parameter must be one of {list(IMPORT_FORMATS)}. Got {fmt!r} instead.")
    chosen = detect_format(path, **options) if fmt == "auto" else fmt
    reader = READERS[chosen]
    allowed = [
        name
        for name, p in inspect.signature(reader).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        how = "detected" if fmt == "auto" else "given"
        raise ConfigError(
            f"The {chosen!r} format ({how}) does not take the option(s) {unknown}; it takes {allowed}. "
            f"Got {sorted(options)} instead."
        )
    target = Path(path)
    if chosen == "dcli" and target.is_dir():
        found = _dcli_files(target)
        if len(found) != 1:
            raise DataError(
                f"{target}: fmt 'dcli' needs the .dcli/.dai file or a folder with exactly one; this folder has "
                f"{[f.name for f in found]}"
            )
        target = found[0]
    return reader(target, **options)


def read_source(source: str | Path, *, background: str = "NoActivity", label_column: str | None = None) -> Dataset:
    """The data a study was searched on, from its ``data_source`` attribute.

    Args:
        source: ``"basic-motions"`` (the built-in demo data) or a path in any
            import format (:func:`detect_format`).
        background: the background class name (the search space's ``data.background``).
        label_column: the label column of the ``label-column`` format (default ``label``).

    Returns:
        The :class:`Dataset`, in the units of the source files.

    Raises:
        DataError: the path does not exist on this machine, or as :func:`import_dataset`.
    """
    if str(source) == "basic-motions":
        from automl.data._demo import load_basic_motions

        return load_basic_motions()
    path = Path(source)
    if not path.exists():
        raise DataError(f"data source {source} does not exist on this machine")
    fmt = detect_format(path)
    options: dict[str, Any] = {"background": background}
    if fmt == "label-column" and label_column:
        options["label_column"] = label_column
    return import_dataset(path, fmt, **options)
