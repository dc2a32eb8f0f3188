"""Where a study lives: its folder, its Optuna storage, its trial artifacts."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import optuna

from automl.errors import ConfigError, StudyError

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


def open_storage(folder: Path, url: str | None = None) -> optuna.storages.BaseStorage:
    """Open the study's Optuna storage.

    Args:
        folder: the study folder (created if needed for the default storage).
        url: an Optuna RDB URL (``sqlite:///…``, ``postgresql://…``); default
            ``None`` = a JournalStorage file ``<folder>/journal.log``.

    Raises:
        ConfigError: if the URL cannot be opened.
    """
    if url:
        try:
            return optuna.storages.RDBStorage(url)
        except Exception as exc:  # sqlalchemy raises many kinds
            raise ConfigError(f"--storage {url!r} cannot be opened: {str(exc).splitlines()[0]}") from None
    folder.mkdir(parents=True, exist_ok=True)
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    path = str(folder / JOURNAL_FILE)
    return optuna.storages.JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))


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
