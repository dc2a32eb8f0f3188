"""Where a study lives: its folder, its Optuna storage, its trial artifacts."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import optuna

from automl.errors import ConfigError, StudyError, warn
from automl.search._journal import JournalFile, StudyJournal, repair_journal

_STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
JOURNAL_FILE = "journal.log"


def check_study_name(name: str) -> str:
    """Return ``name`` if it is a safe folder name, else raise ConfigError."""
    if not _STUDY_NAME.match(name or ""):
        raise ConfigError(f"The 'study' parameter must be 1-100 characters of letters, digits, '_', '.', '-' "
                          f"starting with a letter or digit. Got {name!r} instead.")
    return name


def study_dir(root: str | Path, study: str) -> Path:
    """The study folder ``<root>/<study>`` (not created)."""
    return Path(root) / check_study_name(study)


def open_storage(folder: Path, url: str | None = None, *, repair: bool = False) -> optuna.storages.BaseStorage:
    """Open the study's Optuna storage.

    Args:
        folder: the study folder (created if needed for the default storage).
        url: an Optuna RDB URL (``sqlite:///…``, ``postgresql://…``); default
            ``None`` = the journal file ``<folder>/journal.log``
            (:class:`~automl.search._journal.JournalFile`).
        repair: cut a torn last record off the journal first (with a warning
            naming what was kept, see :func:`~automl.search._journal.repair_journal`);
            only the search, the study's one writer, asks for this.

    Raises:
        ConfigError: if the URL is malformed or names a database driver that is not installed.
        StudyError: if the database cannot be reached, or the journal is damaged
            before its last record (naming file and line).
        OSError: if the study folder or journal cannot be created or read.
    """
    if url:
        return _open_rdb(url)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / JOURNAL_FILE
    if repair:
        note = repair_journal(path)
        if note:
            warn(note)
    backend = JournalFile(path)
    storage = StudyJournal(backend)
    if backend.damaged_tail is not None:
        warn(f"{path}: the last record (byte {backend.damaged_tail:,}) is damaged and was skipped; "
             "the next `automl search` of this study moves it aside")
    return storage


def _open_rdb(url: str) -> optuna.storages.BaseStorage:
    import sqlalchemy.exc
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except (sqlalchemy.exc.ArgumentError, ValueError) as exc:
        raise ConfigError(f"--storage {url!r} is not a database URL ({str(exc).splitlines()[0]})") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.drivername == "postgresql" and _missing("psycopg2") and not _missing("psycopg"):
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver installed
    try:
        return optuna.storages.RDBStorage(parsed.render_as_string(hide_password=False))
    except (ImportError, sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError) as exc:
        raise ConfigError(f"--storage {shown!r} cannot be used: {str(exc).splitlines()[0]} (for PostgreSQL: "
                          "pip install 'psycopg[binary]')") from None
    except Exception as exc:  # sqlalchemy and the drivers raise many kinds for an unreachable database
        raise StudyError(f"--storage {shown!r} cannot be opened: {str(exc).strip().splitlines()[0]}") from None


def _missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None


def load_study(root: str | Path, study: str, storage: str | None = None) -> tuple[optuna.Study, Path]:
    """Load an existing study and its folder.

    Raises:
        StudyError: if there is no such study in the storage.
    """
    folder = study_dir(root, study)
    if storage is None and not (folder / JOURNAL_FILE).is_file():
        raise StudyError(f"no study {study!r}: {folder / JOURNAL_FILE} does not exist (run `automl search` first "
                         f"or pass --root/--storage)")
    st = open_storage(folder, storage)
    try:
        return optuna.load_study(study_name=study, storage=st), folder
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(st)]
        raise StudyError(f"no study {study!r} in the storage (it holds: {names or 'none'})") from None


def artifact_dir(folder: Path, trial_number: int) -> Path:
    """``<study folder>/artifacts/trial-<n>``."""
    return folder / "artifacts" / f"trial-{int(trial_number)}"


def write_artifacts(folder: Path, trial_number: int, files: dict[str, bytes]) -> Path:
    """Write a trial's artifacts atomically (temp folder, then rename).

    An existing folder for the same trial number (left by a crashed run that
    re-uses the number) is replaced as a whole; nothing half-written is ever
    visible.

    Returns:
        The artifact folder.
    """
    final = artifact_dir(folder, trial_number)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".trial-{trial_number}-", dir=final.parent))
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    if final.exists():
        old = final.with_name(final.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    return final
