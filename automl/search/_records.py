"""What a finished trial leaves behind: one writer, one reader, and the compaction of old trials.

A trial's outcome attributes (metrics, confusion matrices, cost breakdown,
pipeline summary, and whatever else the objective records) would make the
study's journal grow by ~5 KB per trial, replayed by every ``status``,
``report`` and resume. :func:`record_trial` writes them whole to
``artifacts/trial-<n>/trial.json``, next to the trial's model, and puts in
the storage only the scalars of :data:`JOURNAL_ATTRS` (besides what Optuna
itself keeps: parameters, values, constraints, state). :func:`trial_detail`
reads a trial's attributes back (storage scalars plus ``trial.json``) for the
report, export and status; :func:`read_artifact` reads one file of a trial,
from its folder or from a pack.

Packs: :func:`compact_artifacts` moves the folders of trials that are neither
on the Pareto front nor recent into one zip file
(``artifacts/packs/trials-<first>-<last>-<count>.zip``, members
``trial-<n>/<file>``), byte for byte; readers look there when the folder is
gone, so every trial can still be reported and exported.

``status.json`` in the study folder is the search's small summary of
:func:`~automl.search._progress.study_status` (:func:`write_status`), so
``automl status`` need not replay the journal.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from automl.errors import StudyError, io_path
from automl.search._storage import artifact_dir

#: The file of a trial's full attributes, in its artifact folder.
TRIAL_FILE = "trial.json"
#: Folder (under ``artifacts/``) of the packs of compacted trials.
PACKS_DIR = "packs"
#: The study's summary for ``automl status``.
STATUS_FILE = "status.json"

#: The only outcome attributes kept in the study's storage, as ``{attribute name: dotted path into the
#: outcome's attributes}``: scalars read for every trial (status, the report's table and its sample of
#: dominated trials, the recommendation rule's flags and seed noise, the search's own counts). Everything else is read from ``trial.json``. A path
#: missing from an outcome, or leading to anything but a bool, number or short string, is skipped.
JOURNAL_ATTRS: dict[str, str] = {
    "infeasible": "infeasible",
    "collapsed": "collapsed",
    "collapsed_test": "collapsed_test",
    "no_background": "no_background",
    "n_seeds": "n_seeds",
    "f1_std": "f1_std",
    "duration_s": "duration_s",
    "test_macro_f1": "test_metrics.macro_f1",
    "test_event_f1": "test_events.f1",
    # The exact costs: the told objective values are rounded up to search.cost_resolution of the budgets.
    "cost_flash_bytes": "cost.flash_bytes",
    "cost_ram_bytes": "cost.ram_bytes",
    "cost_latency_ms": "cost.latency_ms",
}
#: Longest string kept as a storage scalar (characters).
MAX_SCALAR_CHARS = 200


def journal_scalars(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`JOURNAL_ATTRS` found in ``attrs`` (an outcome's user attributes)."""
    out = {}
    for name, path in JOURNAL_ATTRS.items():
        value: Any = attrs
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, (bool, int, float)) or (isinstance(value, str) and len(value) <= MAX_SCALAR_CHARS):
            out[name] = value
    return out


#: Objective names in the contract's order (docs/CONTRACTS.md), for :func:`exact_values` without the study's.
OBJECTIVE_ORDER = ("f1", "flash_bytes", "ram_bytes", "latency_ms")


def exact_values(trial: Any, names: list[str] | tuple[str, ...] = OBJECTIVE_ORDER) -> list[float]:
    """A complete trial's objective values with its exact costs.

    The sampler is told each cost rounded up to ``search.cost_resolution`` of
    its budget; the exact cost is the storage scalar ``cost_<objective name>``
    (:data:`JOURNAL_ATTRS`). Objectives without one (F1; studies from before)
    keep the told value.

    Args:
        trial: a ``FrozenTrial`` with values.
        names: the study's objective names (``objective_names`` study attribute), in order
            (default: :data:`OBJECTIVE_ORDER`, the contract's).
    """
    return [float(trial.user_attrs[f"cost_{n}"]) if isinstance(trial.user_attrs.get(f"cost_{n}"), (int, float))
            else float(v) for n, v in zip(names, trial.values)]


def write_artifacts(folder: Path, trial_number: int, files: Mapping[str, bytes]) -> Path:
    """Write a trial's artifact folder atomically (temp folder, then rename).

    An existing folder for the same trial number (left by a crashed run that
    re-uses the number) is replaced as a whole; nothing half-written is ever
    visible.

    Returns:
        The artifact folder.

    Raises:
        OSError: naming the file that could not be written (e.g. a full disk).
    """
    final = artifact_dir(folder, trial_number)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".trial-{trial_number}-", dir=final.parent))
    try:
        for name, data in files.items():
            with io_path(tmp / name):
                (tmp / name).write_bytes(data)
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700
        if final.exists():
            old = final.with_name(final.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def record_trial(folder: Path, trial: Any, attrs: Mapping[str, Any], files: Mapping[str, bytes]) -> None:
    """Record a finished trial's outcome: the detail on disk, a few scalars in the storage.

    Writes ``files`` (the model and ``pipeline.json`` of a trained trial;
    nothing for one over budget) and ``trial.json`` (all of ``attrs``) to
    ``artifacts/trial-<n>/`` atomically, then sets the trial's
    :func:`journal_scalars` and, when a model was stored, ``artifact_dir``.
    Values and constraints are the caller's (``study.tell``).

    Args:
        folder: the study folder.
        trial: the running ``optuna.Trial``.
        attrs: the outcome's JSON-able attributes (any keys).
        files: ``{file name: bytes}`` of the trial's artifacts.

    Raises:
        OSError: if the artifact folder cannot be written (naming the file).
        TypeError / ValueError: if ``attrs`` is not JSON-able.
    """
    detail = json.dumps(dict(attrs), separators=(",", ":"), sort_keys=True).encode()
    path = write_artifacts(folder, trial.number, {**files, TRIAL_FILE: detail})
    for name, value in journal_scalars(attrs).items():
        trial.set_user_attr(name, value)
    if files:
        trial.set_user_attr("artifact_dir", str(path.relative_to(folder)))


def trial_detail(folder: Path | None, trial: Any) -> dict[str, Any]:
    """All attributes of a trial: its storage user attributes updated with its ``trial.json``.

    Studies written before ``trial.json`` existed keep everything in the
    storage; for them (and for failed trials) this is ``trial.user_attrs``.

    Args:
        folder: the study folder, or None (then only the storage's attributes).
        trial: a ``FrozenTrial``.

    Raises:
        StudyError: if the trial's ``trial.json`` is not valid JSON (naming it).
    """
    detail = dict(trial.user_attrs)
    raw = read_artifact(folder, trial.number, TRIAL_FILE) if folder is not None else None
    if raw is not None:
        try:
            stored = json.loads(raw)
        except ValueError as exc:
            raise StudyError(f"{artifact_dir(folder, trial.number) / TRIAL_FILE}: not valid JSON ({exc})") from None
        if isinstance(stored, dict):
            detail.update(stored)
    return detail


def read_artifact(folder: Path, trial_number: int, name: str) -> bytes | None:
    """One file of a trial's artifacts, from ``artifacts/trial-<n>/`` or a pack; None if it has none.

    Raises:
        OSError: if the file exists but cannot be read.
    """
    path = artifact_dir(folder, trial_number) / name
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        pass
    member = f"trial-{int(trial_number)}/{name}"
    pack = _pack_index(Path(folder)).get(member)
    if pack is None:
        return None
    with zipfile.ZipFile(pack) as z:
        return z.read(member)


_INDEX: dict[Path, tuple[tuple, dict[str, Path]]] = {}


def _pack_index(folder: Path) -> dict[str, Path]:
    """``{member: pack}`` over the study's packs, cached until a pack is added."""
    packs = folder / "artifacts" / PACKS_DIR
    try:
        listing = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in packs.glob("*.zip")))
    except OSError:
        return {}
    cached = _INDEX.get(packs)
    if cached is not None and cached[0] == listing:
        return cached[1]
    index: dict[str, Path] = {}
    for name, _ in listing:
        with zipfile.ZipFile(packs / name) as z:
            for member in z.namelist():
                index.setdefault(member, packs / name)
    _INDEX[packs] = (listing, index)
    return index


def compact_artifacts(folder: Path, keep: Iterable[int], min_trials: int = 200) -> int:
    """Move the artifact folders of trials not in ``keep`` into one new pack.

    The pack is written to a temporary file, synced and renamed into
    ``artifacts/packs/`` before any folder is removed, so a crash leaves each
    trial in its folder, in a pack, or both (a later compaction then removes
    the folder). Readers (:func:`read_artifact`) find packed files byte for
    byte: an export of a packed trial is the same as before.

    Args:
        folder: the study folder.
        keep: trial numbers whose folders stay (the Pareto front, recent trials).
        min_trials: do nothing unless at least this many folders can be packed.

    Returns:
        The number of trial folders packed.

    Raises:
        OSError: naming the pack if it cannot be written (nothing is removed then).
    """
    art = Path(folder) / "artifacts"
    keep = set(keep)
    numbers = []
    for p in art.glob("trial-*"):
        suffix = p.name[len("trial-"):]
        if p.is_dir() and suffix.isdigit() and int(suffix) not in keep:
            numbers.append(int(suffix))
    packed = _pack_index(Path(folder))
    for n in [n for n in numbers if f"trial-{n}/{TRIAL_FILE}" in packed]:  # packed before a crash
        shutil.rmtree(art / f"trial-{n}", ignore_errors=True)
        numbers.remove(n)
    if len(numbers) < min_trials:
        return 0
    numbers.sort()
    packs = art / PACKS_DIR
    packs.mkdir(exist_ok=True)
    final = packs / f"trials-{numbers[0]}-{numbers[-1]}-{len(numbers)}.zip"
    tmp = packs / f".{final.name}.tmp"
    try:
        with io_path(final, always=True):
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
                for n in numbers:
                    for f in sorted((art / f"trial-{n}").iterdir()):
                        z.write(f, f"trial-{n}/{f.name}")
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
    finally:
        Path(tmp).unlink(missing_ok=True)
    for n in numbers:
        shutil.rmtree(art / f"trial-{n}", ignore_errors=True)
    return len(numbers)


def write_status(folder: Path, status: Mapping[str, Any], final: bool) -> None:
    """Write the study's summary (``status.json``) atomically.

    Args:
        folder: the study folder.
        status: :func:`~automl.search._progress.study_status` of the study.
        final: the search has ended (False while it runs).
    """
    data = dict(status, final=bool(final),
                updated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"))
    fd, tmp = tempfile.mkstemp(prefix=f".{STATUS_FILE}.", dir=folder)
    try:
        with io_path(folder / STATUS_FILE), os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / STATUS_FILE)
    finally:
        Path(tmp).unlink(missing_ok=True)


def load_trial_pipeline(folder: Path, trial_number: int) -> Any:
    """A trial's :class:`~automl.pipeline.FittedPipeline` from its ``pipeline.json`` and ``model.tflite``,
    read from its artifact folder or a pack (:func:`read_artifact`): for replays of a trial.

    Raises:
        StudyError: ``"Trial N's model cannot be loaded: …"`` naming the missing or broken file.
    """
    from automl.errors import AutomlError
    from automl.pipeline import FittedPipeline

    where = artifact_dir(folder, trial_number)
    try:
        stored = {name: read_artifact(folder, trial_number, name) for name in ("pipeline.json", "model.tflite")}
        missing = [name for name, data in stored.items() if data is None]
        if missing:
            raise StudyError(f"its {missing[0]} is missing (looked in {str(where)!r} and the study's packs): the "
                             "trial has no stored artifacts")
        return FittedPipeline.from_json(stored["pipeline.json"].decode("utf-8"), stored["model.tflite"],
                                        where=str(where / "pipeline.json"))
    except (AutomlError, OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: zipfile's BadZipFile
        raise StudyError(f"Trial {trial_number}'s model cannot be loaded: {exc}") from None


def final_summary(study: Any, folder: Path, tracker: Any = None) -> dict:
    """What ``automl status`` shows of an ended search (kept in ``status.json``).

    Args:
        study: the ``optuna.Study``.
        folder: the study folder (for the trials' ``trial.json``).
        tracker: a :class:`~automl.search._progress.ParetoTracker` to reuse, or None.

    Returns:
        :func:`~automl.search._progress.study_status`'s counts, with ``"best"``
        ([trial number, F1] of the best F1 within the budgets, or None),
        ``"metric"`` (objective 0's short name, "event F1") and
        ``"recommendation"`` (the report's recommendation line) from the
        report data; only the counts if the study cannot be summarised
        (logged; the search's result stands).
    """
    from automl.report import build_report_data, recommendation_line
    from automl.search._progress import study_status

    status = study_status(study, tracker)
    try:
        data = build_report_data(study, folder, timeline=False, importance=False, hypervolume=False)
    except Exception as exc:  # noqa: BLE001 -- a summary must not fail a finished search
        logging.getLogger("automl.search").warning("no recommendation in status.json: %s", exc)
        return status
    best = None if data.best is None else [int(data.best.number), float(data.best.values[0])]
    return {**status, "best": best, "metric": data.objective_short(0) if data.objective_names else "F1",
            "recommendation": recommendation_line(data)}


def read_status(folder: Path) -> dict[str, Any] | None:
    """The summary the last search wrote, or None if there is none usable.

    A summary older than the journal's last change (written by something
    other than a search of this version) is not usable.
    """
    path = folder / STATUS_FILE
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
        journal = folder / "journal.log"
        if journal.exists() and journal.stat().st_mtime > path.stat().st_mtime + 1.0 and status.get("final"):
            return None
    except (OSError, ValueError):
        return None
    return status if isinstance(status, dict) else None
