"""Where a study lives: its folder, its Optuna storage, its trial artifacts."""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import optuna

from automl.errors import ConfigError, StudyError, io_path, warn
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


LOCK_FILE = "search.lock"


@contextlib.contextmanager
def driver_lock(folder: Path, study: str) -> Iterator[None]:
    """Hold the study's one-driver lock for the block: a second search of the study is refused.

    The lock is an exclusive ``flock`` of ``<folder>/search.lock``, which
    also records the owner (pid, host, start time, UTC). The kernel drops a
    ``flock`` when its process dies, so the lock of a killed search is stale
    at once and the next search takes it over (with a warning naming the
    run it replaces) instead of waiting. The descriptor is not inherited by
    programs the driver starts (PEP 446).

    Raises:
        StudyError: if a live process holds the lock, naming its pid, host and start time.
        OSError: if the lock file cannot be created (e.g. a read-only study folder).
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(study, _read_owner(fd), path) from None
        previous = _read_owner(fd)
        if previous:
            warn(f"{path}: taking over the lock of a search that stopped without releasing it "
                 f"({_lock_owner_text(previous)})")
        with io_path(path):
            _write_owner(fd, {"pid": os.getpid(), "host": socket.gethostname(),
                              "started": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")})
        try:
            yield
        finally:
            with contextlib.suppress(OSError):  # a full disk must not hide the error that ended the run
                _write_owner(fd, None)
    finally:
        os.close(fd)  # also drops the flock


def _busy(study: str, owner: dict, path: Path) -> StudyError:
    return StudyError(f"study {study!r} is already being searched by {_lock_owner_text(owner)} (lock {path}); wait "
                      f"for that run to end, or stop it with Ctrl-C, before starting another")


def check_not_searched(folder: Path, study: str) -> None:
    """Refuse early (before the data is read) a search of a study another search holds.

    :func:`driver_lock` still takes the lock (this check and the lock are not atomic).

    Raises:
        StudyError: naming the running search's pid, host and start time.
    """
    owner = lock_owner(folder)
    if owner is not None:
        raise _busy(study, owner, folder / LOCK_FILE)


def lock_owner(folder: Path) -> dict | None:
    """``{"pid", "host", "started"}`` of the search holding ``<folder>/search.lock``, or None if none runs."""
    path = folder / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_owner(fd) or {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_owner(fd: int) -> dict:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        owner = json.loads(text) if text else {}
        return owner if isinstance(owner, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_owner(fd: int, owner: dict | None) -> None:
    os.ftruncate(fd, 0)
    if owner:
        os.pwrite(fd, (json.dumps(owner) + "\n").encode(), 0)
    os.fsync(fd)


def _lock_owner_text(owner: dict) -> str:
    if not owner:
        return "another process"
    return f"pid {owner.get('pid', '?')} on host {owner.get('host', '?')} (started {owner.get('started', '?')} UTC)"


def is_study_folder(folder: Path) -> bool:
    """A folder a search made: it holds the search lock (every search leaves it, whatever the storage), or a
    journal with its search log (studies of earlier versions)."""
    return (folder / LOCK_FILE).exists() or ((folder / JOURNAL_FILE).exists() and (folder / "search.log").exists())


def enclosing_study(path: str | Path) -> Path | None:
    """The study folder that is ``path`` or holds it (:func:`is_study_folder`), or None."""
    p = Path(path).absolute()
    for folder in (p, *p.parents):
        if is_study_folder(folder):
            return folder
    return None


def check_out_path(out: str | Path, study_folder: Path, allow: Path | None = None, option: str = "--out") -> None:
    """Refuse an output path of ``report`` / ``export`` that would write into a study.

    Report and export never write inside a study folder (the one named on
    the command line, or any folder holding a study's journal, lock, log or
    artifacts), nor onto a folder that holds the study: a typo must not
    replace ``journal.log`` or a trial's model.

    Args:
        out: the ``--out`` path as typed.
        study_folder: the study being reported or exported (may not exist).
        allow: the one path inside ``study_folder`` that is allowed (the
            report's own ``<study>/report.html``).
        option: the command-line option that gave ``out``, for the message.

    Raises:
        ConfigError: naming ``out`` and the study folder it is in (or holds).
    """
    target, study = Path(out).absolute().resolve(), Path(study_folder).absolute().resolve()
    if allow is not None and target == Path(allow).absolute().resolve():
        return
    inside = study if target == study or study in target.parents else enclosing_study(target)
    if inside is not None:
        raise ConfigError(f"{option} {str(out)!r} is inside the study folder {str(inside)!r}; report and export never "
                          "write there (the study's journal and trial artifacts live there): choose a path outside it")
    if target in study.parents:
        raise ConfigError(f"{option} {str(out)!r} holds the study folder {str(study)!r}; writing there could replace the "
                          "study: choose another path")
