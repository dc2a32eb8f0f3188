"""The study journal file: Optuna's JournalStorage operations, compact and repairable.

Optuna's ``JournalStorage`` records every change of a study as one operation
("op") and replays them all when the study is opened. Its own file backend
writes each op as a JSON line; a study of the boxing space then costs ~6.6 KB
per trial before any user attribute, because every one of a trial's 23
parameters is its own line repeating a 55-character worker id and the
~100-character JSON of the parameter's distribution (measured 2026-12-07).

:class:`JournalFile` is a backend (``optuna.storages.journal.BaseJournalBackend``)
for the same ops in a smaller file, and :class:`StudyJournal` a
``JournalStorage`` that hands it a trial's parameters in one batch. Lines are
JSON objects of three kinds:

- a plain Optuna op (``"op_code"`` key), as Optuna's ``JournalFileBackend``
  writes it: journals of earlier versions read unchanged;
- a definition ``{"def": 3, "str": "…"}``: string number 3 of the file, for the
  values that repeat (worker ids, distribution JSON), written once, before the
  first op that uses it;
- a compact op ``{"o": 5, "w": 3, "t": 48, "n": "k", "v": 12, "d": 7}``: the
  short keys of :data:`_SHORT`, ``w``/``d`` naming defined strings, and for
  SET_TRIAL_PARAM a batch ``"p": [[name, internal value, distribution id], …]``
  that reads back as one op per parameter.

A write is one ``write`` + ``fsync`` of whole lines under an exclusive
``flock`` of the journal; a failed write is cut back to the size it had, so a
later write never lands on a torn line. A crash or a full disk can still tear
the last line: :func:`repair_journal` (run by the search before it writes)
moves such a tail aside; readers skip it. A damaged line with records after it
is a :class:`~automl.errors.StudyError` naming the file and line.

The file is no longer readable by Optuna's own ``JournalFileBackend``:
open it with :func:`automl.search.open_storage` (e.g. for
``optuna_dashboard.run_server``).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import fcntl  # POSIX, as the study lock (automl.search._storage)
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from optuna.distributions import check_distribution_compatibility, json_to_distribution
from optuna.storages import JournalStorage
from optuna.storages.journal import BaseJournalBackend
from optuna.storages.journal._storage import JournalStorageReplayResult  # the replay StudyJournal speeds up

from automl.errors import StudyError, io_path

#: Optuna op field -> key in a compact line.
_SHORT = {"op_code": "o", "worker_id": "w", "study_id": "s", "trial_id": "t", "param_name": "n",
          "param_value_internal": "v", "distribution": "d", "state": "st", "values": "vs",
          "datetime_start": "ds", "datetime_complete": "dc", "user_attr": "u", "system_attr": "y"}
_LONG = {v: k for k, v in _SHORT.items()}
#: Fields whose (long, repeated) string values are written once as a definition.
_INTERNED = ("worker_id", "distribution")
_SET_TRIAL_PARAM = 5
#: Ops of one trial written as one line when consecutive: op code -> the compact key holding them all
#: (SET_TRIAL_PARAM: ``[[name, value, distribution id], ...]``; user / system attributes: ``{key: value}``).
_MERGED = {_SET_TRIAL_PARAM: "p", 8: "u", 9: "y"}
#: A damaged tail longer than this is not a torn write: refuse to cut it (bytes).
MAX_REPAIR_BYTES = 1 << 20


def _lock(fd: int) -> None:
    """Exclusive ``flock`` of an open journal file descriptor (released when it is closed)."""
    fcntl.flock(fd, fcntl.LOCK_EX)


class JournalFile(BaseJournalBackend):
    """A journal file of Optuna ops in the compact format described above.

    Args:
        path: the journal file; created (empty) if missing.

    Raises:
        StudyError: from :meth:`read_logs`, naming the file and line, when a
            line with records after it is not a journal record.
        OSError: if the file cannot be created, read or appended to.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            with open(self.path, "ab"):
                pass
        self._strings: list[str] = []  # definitions in file order: id -> string
        self._ids: dict[str, int] = {}
        self._defs_through = 0  # every definition before this byte offset is known
        self._resume = (0, 0, 0)  # (log number, byte offset, line number) where the last read stopped
        self.damaged_tail: int | None = None  # byte offset of a damaged last line a read skipped

    # -- reading -------------------------------------------------------------
    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        """Ops with log number >= ``log_number_from`` (0: all), in file order."""
        log_number, offset, line_no = self._resume if self._resume[0] <= log_number_from else (0, 0, 0)
        with open(self.path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(offset)
            bad: tuple[int, int, str] | None = None  # (line number, offset, reason) of an unreadable line
            for raw in fh:
                if offset + len(raw) > size or not raw.endswith(b"\n"):
                    break  # being written, or torn: not a record (yet)
                line_no += 1
                if bad is not None:
                    raise self._middle_error(*bad)
                try:
                    logs = self._decode(raw)
                except (ValueError, KeyError, IndexError, TypeError) as exc:
                    bad = (line_no, offset, str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
                    offset += len(raw)
                    continue
                offset += len(raw)
                self._defs_through = max(self._defs_through, offset)
                for log in logs:
                    if log_number >= log_number_from:
                        yield log
                    log_number += 1
                self._resume = (log_number, offset, line_no)
            self.damaged_tail = None if bad is None else bad[1]

    def _middle_error(self, line_no: int, offset: int, reason: str) -> StudyError:
        return StudyError(
            f"{self.path}: line {line_no} (byte {offset}) is not a journal record ({reason}) and records follow "
            f"it, so the study cannot be read past it; move that line aside (e.g. into {self.path.name}.damaged) "
            f"to recover the trials around it")

    def _decode(self, raw: bytes) -> list[dict[str, Any]]:
        rec = json.loads(raw)
        if not isinstance(rec, dict):
            raise ValueError("not a JSON object")
        if "op_code" in rec:
            return [rec]
        if "def" in rec:
            self._define(int(rec["def"]), str(rec["str"]))
            return []
        op = {_LONG[k]: v for k, v in rec.items() if k != "p"}
        for name in _INTERNED:
            if name in op:
                op[name] = self._strings[op[name]]
        if "p" in rec:
            return [{**op, "param_name": n, "param_value_internal": v, "distribution": self._strings[d]}
                    for n, v, d in rec["p"]]
        for field in ("user_attr", "system_attr"):  # several attributes of one trial: one op each
            if field in op and len(op[field]) > 1:
                return [{**op, field: {k: v}} for k, v in op[field].items()]
        return [op]

    def _define(self, number: int, text: str) -> None:
        if number < len(self._strings):
            if self._strings[number] != text:
                raise ValueError(f"string {number} is defined twice, differently")
            return
        if number != len(self._strings):
            raise ValueError(f"string {number} is defined before string {len(self._strings)}")
        self._strings.append(text)
        self._ids.setdefault(text, number)

    def _catch_up(self) -> None:
        """Learn the definitions another writer appended since this object last looked (under the lock)."""
        with open(self.path, "rb") as fh:
            fh.seek(self._defs_through)
            offset = self._defs_through
            for raw in fh:
                if not raw.endswith(b"\n"):
                    break
                if raw.startswith(b'{"def"'):
                    rec = json.loads(raw)
                    self._define(int(rec["def"]), str(rec["str"]))
                offset += len(raw)
        self._defs_through = offset

    # -- writing -------------------------------------------------------------
    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        """Append ``logs`` as whole lines: one write, one fsync, under the journal's lock.

        Consecutive SET_TRIAL_PARAM ops of one trial and worker become one line.

        Raises:
            OSError: naming the journal if the write fails (a full disk); the
                file is cut back to its size before the write, so the next
                write never lands on a torn line.
        """
        with io_path(self.path):
            fd = os.open(self.path, os.O_RDWR)
            try:
                _lock(fd)
                self._catch_up()
                end = os.lseek(fd, 0, os.SEEK_END)
                n_strings = len(self._strings)
                lines = [line for rec in self._group(logs) for line in self._encode(rec)]
                data = memoryview(("\n".join(lines) + "\n").encode("utf-8"))
                try:
                    while data:
                        data = data[os.write(fd, data):]
                    os.fsync(fd)
                except BaseException:
                    for text in self._strings[n_strings:]:  # the definitions did not reach the file
                        del self._ids[text]
                    del self._strings[n_strings:]
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, end)
                        os.fsync(fd)
                    raise
            finally:
                os.close(fd)  # also drops the flock

    @staticmethod
    def _group(logs: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        """Runs of consecutive ops of one trial and worker with the same :data:`_MERGED` op code
        (an attribute key set twice starts a new run)."""
        group: list[dict[str, Any]] = []
        keys: set[str] = set()
        for log in logs:
            op = log["op_code"]
            attrs = log.get("user_attr") or log.get("system_attr")
            key = next(iter(attrs)) if attrs else None  # None: a parameter (several of one name never occur)
            same = (group and op in _MERGED and op == group[-1]["op_code"] and (key is None or key not in keys)
                    and log["trial_id"] == group[-1]["trial_id"] and log["worker_id"] == group[-1]["worker_id"])
            if group and not same:
                yield group
                group, keys = [], set()
            group.append(log)
            if key is not None:
                keys.add(key)
        if group:
            yield group

    def _intern(self, text: str, out: list[str]) -> int:
        number = self._ids.get(text)
        if number is None:
            number = len(self._strings)
            self._strings.append(text)
            self._ids[text] = number
            out.append(json.dumps({"def": number, "str": text}, separators=(",", ":")))
        return number

    def _encode(self, group: list[dict[str, Any]]) -> list[str]:
        out: list[str] = []
        head = dict(group[0])
        if head["op_code"] == _SET_TRIAL_PARAM:
            params = [[g["param_name"], g["param_value_internal"], self._intern(g["distribution"], out)]
                      for g in group]
            head = {k: v for k, v in head.items() if k not in ("param_name", "param_value_internal", "distribution")}
            rec = {_SHORT.get(k, k): v for k, v in head.items()}
            rec["w"] = self._intern(head["worker_id"], out)
            rec["p"] = params
        elif len(group) > 1:  # several user or system attributes of one trial
            field = "user_attr" if head["op_code"] == 8 else "system_attr"
            rec = {_SHORT[k]: v for k, v in head.items()}
            rec["w"] = self._intern(head["worker_id"], out)
            rec[_SHORT[field]] = {k: v for g in group for k, v in g[field].items()}
        else:
            if any(k not in _SHORT for k in head):  # a template trial, a study: Optuna's own form
                out.append(json.dumps(head, separators=(",", ":")))
                return out
            rec = {_SHORT[k]: v for k, v in head.items()}
            for name in _INTERNED:
                if name in head:
                    rec[_SHORT[name]] = self._intern(head[name], out)
        out.append(json.dumps(rec, separators=(",", ":")))
        return out


class _Replay(JournalStorageReplayResult):
    """Optuna's replay of journal ops, with a trial's consecutive SET_TRIAL_PARAM ops applied in one step.

    Optuna applies each parameter op by copying the trial and its parameter
    and distribution dicts and parsing the distribution's JSON: ~70 % of the
    time to open a study (4 of 5.7 s at 3,000 boxing trials, profiled). Here a
    run of one trial's parameter ops copies the trial once, each distinct
    distribution JSON is parsed once (the objects are shared, as Optuna never
    mutates them), and compatibility is checked against the first trial that
    had the parameter, as Optuna does. The result is the same
    (tests/search/test_journal.py compares every field with Optuna's backend).
    """

    def __init__(self, worker_id_prefix: str) -> None:
        super().__init__(worker_id_prefix)
        self._parsed: dict[str, Any] = {}  # distribution JSON -> distribution
        self._first: dict[tuple[int, str], Any] = {}  # (study id, parameter) -> its first trial's distribution

    def apply_logs(self, logs) -> None:
        run: list[dict[str, Any]] = []
        for log in logs:
            if run and (log["op_code"] != _SET_TRIAL_PARAM or log["trial_id"] != run[0]["trial_id"]
                        or log["worker_id"] != run[0]["worker_id"]):
                self._apply_params(run)
                run = []
            if log["op_code"] == _SET_TRIAL_PARAM:
                run.append(log)
            else:
                super().apply_logs([log])
        if run:
            self._apply_params(run)

    def _apply_params(self, run: list[dict[str, Any]]) -> None:
        trial_id = run[0]["trial_id"]
        trial = params = dists = None
        try:
            for log in run:
                self.log_number_read += 1
                if not self._trial_exists_and_updatable(trial_id, log):
                    continue
                text = log["distribution"]
                dist = self._parsed.get(text)
                if dist is None:
                    dist = self._parsed[text] = json_to_distribution(text)
                study_id = self._trial_id_to_study_id[trial_id]
                first = self._first.get((study_id, log["param_name"]))
                if first is None:
                    first = self._first_distribution(study_id, log["param_name"])
                if first is not None and first is not dist:  # the same JSON: the same, compatible object
                    try:
                        check_distribution_compatibility(first, dist)
                    except Exception:
                        if self._is_issued_by_this_worker(log):
                            raise
                        continue
                if trial is None:
                    trial = copy.copy(self._trials[trial_id])
                    params, dists = dict(trial.params), dict(trial.distributions)
                params[log["param_name"]] = dist.to_external_repr(log["param_value_internal"])
                dists[log["param_name"]] = dist
                if first is None:  # this trial is the first to have it
                    self._first[(study_id, log["param_name"])] = dist
        finally:
            if trial is not None:
                trial.params, trial.distributions = params, dists
                self._trials[trial_id] = trial

    def _first_distribution(self, study_id: int, name: str):
        for prev_id in self._study_id_to_trial_ids[study_id]:  # Optuna's rule: the first trial having it
            prev = self._trials[prev_id]
            if name in prev.distributions:
                self._first[(study_id, name)] = prev.distributions[name]
                return prev.distributions[name]
        return None


class StudyJournal(JournalStorage):
    """Optuna's ``JournalStorage`` that can write a trial's parameters, or its attributes, as one record.

    Inside :meth:`batch`, the ops that set a trial's parameters, user
    attributes and system attributes are held back and written together
    (one write, one fsync) when the block ends or before any other op (the
    state change of ``study.tell``). A ``Trial`` keeps the parameters it
    suggested itself, and nothing the driver does inside a block reads back
    an attribute it set there.
    """

    def __init__(self, backend: BaseJournalBackend) -> None:
        self._held: list[dict[str, Any]] | None = None
        super().__init__(backend)

    def _sync_with_backend(self) -> None:
        if type(self._replay_result) is not _Replay:  # before the first read (in __init__): nothing applied yet
            if self._replay_result.log_number_read:
                raise RuntimeError("the journal replay was swapped after logs were applied")
            self._replay_result = _Replay(self._worker_id_prefix)
        super()._sync_with_backend()

    def _write_log(self, op_code: int, extra_fields: dict[str, Any]) -> None:
        log = {"op_code": op_code, "worker_id": self._replay_result.worker_id, **extra_fields}
        if self._held is not None and op_code in _MERGED:
            self._held.append(log)
            return
        self._flush()
        self._backend.append_logs([log])

    def _flush(self) -> None:
        if self._held:
            held, self._held = self._held, []
            self._backend.append_logs(held)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Hold back parameter and attribute writes until the block ends (or another op); then write them at once."""
        if self._held is not None:  # nested: the outer block writes
            yield
            return
        self._held = []
        try:
            yield
        finally:
            with self._thread_lock:
                try:
                    self._flush()
                finally:
                    self._held = None
                self._sync_with_backend()


def batch_writes(storage: Any) -> contextlib.AbstractContextManager:
    """``storage.batch()`` for a :class:`StudyJournal`, else a no-op block (RDB storages)."""
    return storage.batch() if isinstance(storage, StudyJournal) else contextlib.nullcontext()


def repair_journal(path: str | Path) -> str | None:
    """Cut a torn or garbage last record off a journal file, keeping its bytes aside.

    The records of a journal are whole lines. After a crash or a full disk
    the file may end in part of a record, NUL bytes, or a line that is not
    JSON. Everything after the last complete record is moved to
    ``<path>.damaged-<UTC time>`` and cut from the journal, under the same
    lock writers take, so a record being written by a live process is never
    taken for damage.

    Args:
        path: the journal file (missing: nothing to do).

    Returns:
        One warning line naming the file, the byte offset cut at, the
        records kept and where the damaged bytes went; ``None`` if the file
        was intact.

    Raises:
        StudyError: if more than :data:`MAX_REPAIR_BYTES` at the end are damaged
            (that is not a torn write: the file is left as it is).
        OSError: if the file or the ``.damaged`` copy cannot be written.
    """
    path = Path(path)
    if not path.is_file():
        return None
    with io_path(path), open(path, "r+b") as fh:
        _lock(fh.fileno())
        size = fh.seek(0, os.SEEK_END)
        keep = _last_good_end(fh, size)
        if keep == size:
            return None
        if size - keep > MAX_REPAIR_BYTES:
            raise StudyError(f"{path}: the last {size - keep:,} bytes are not journal records; that is more than a "
                             f"torn write, so it is left as it is (expected at most {MAX_REPAIR_BYTES:,} bytes)")
        fh.seek(keep)
        damaged = fh.read()
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        aside = path.with_name(f"{path.name}.damaged-{stamp}")
        with io_path(aside), open(aside, "xb") as out:
            out.write(damaged)
            out.flush()
            os.fsync(out.fileno())
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
        fh.seek(0)
        records = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    what = "a torn record" if b"\n" not in damaged[:-1] else "damaged records"
    return (f"{path}: repaired {what} at byte {keep:,}: kept {records:,} complete records (bytes 0-{keep:,}), "
            f"moved the last {len(damaged):,} bytes to {aside.name}")


def _last_good_end(fh, size: int) -> int:
    """Byte offset just after the last line that is a complete record, looking at most
    :data:`MAX_REPAIR_BYTES` (plus 64 KiB) back; ``size - offset`` exceeds the limit if none is found."""
    start = max(0, size - MAX_REPAIR_BYTES - (1 << 16))
    fh.seek(start)
    chunk = fh.read(size - start)
    newline = chunk.rfind(b"\n")
    while newline >= 0:
        previous = chunk.rfind(b"\n", 0, newline)
        if previous < 0 and start > 0:
            break  # the chunk's first line may be partial: everything after it is damaged
        if _is_record(chunk[previous + 1:newline]):
            return start + newline + 1
        newline = previous
    return start


def _is_record(line: bytes) -> bool:
    try:
        rec = json.loads(line)
    except ValueError:
        return False
    return isinstance(rec, dict) and bool({"op_code", "o", "def"} & rec.keys())
