"""Finding capture files in a folder tree, and the files that make one recording.

**Discovery** (:func:`find_csv_files`): every ``*.csv`` file (any case)
under the folder, in sub-folders too when asked; hidden files and folders
(name starting with ``.``) and files of other types are skipped and listed.

**One recording, several files** (:func:`group_recordings`): a sensor app
that writes one file per sensor (MbientLab MetaBase:
``MetaWear_<start>_<MAC>_Accelerometer_<version>.csv`` and
``..._Gyroscope_<version>.csv``) is read as one capture when the file names
are equal once the sensor word is taken out. The sensor word is the first
``_ - . space``-separated token of the file stem found in
:data:`SENSOR_WORDS` (case-insensitive). Files of one folder with the same
remaining name and different sensors form one recording, named by that
remaining name; every other file is a capture of its own. A mapping file can
say the same explicitly (``recording`` and ``sensor`` columns of
``--label-map``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from automl.errors import DataError

#: Sensor words of file names -> sensor group (the prefix of its channels: accX, gyrZ).
SENSOR_WORDS: dict[str, str] = {
    "accelerometer": "acc", "acceleration": "acc", "accel": "acc", "acc": "acc",
    "gyroscope": "gyr", "gyro": "gyr", "gyr": "gyr",
    "magnetometer": "mag", "mag": "mag",
}

_TOKEN = re.compile(r"[^_\-\s.]+")
_SEPARATORS = "_-. "


@dataclass
class Found:
    """CSV files under a folder.

    Attributes:
        root: the folder.
        files: the CSV files, sorted by relative path.
        skipped: ``(path, reason)`` of every other file or folder left out.
    """

    root: Path
    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def note(self) -> str:
        """One line: how many files were found where, and what was skipped."""
        folders = {f.parent for f in self.files}
        text = f"found {len(self.files)} CSV file{'s' if len(self.files) != 1 else ''}"
        if len(folders) > 1:
            text += f" in {len(folders)} folders"
        if self.skipped:
            shown = ", ".join(f"{p.relative_to(self.root).as_posix()} ({why})" for p, why in self.skipped[:5])
            more = f" and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            text += f"; skipped {shown}{more}"
        return text


def require_dir(path: str | Path, what: str = "the folder that holds the capture CSV files") -> Path:
    """``path`` as a Path; DataError if it is missing or not a folder."""
    root = Path(path)
    if not root.exists():
        raise DataError(f"{root}: folder not found; give {what}")
    if not root.is_dir():
        raise DataError(f"{root}: is a file, not a folder; give {what}")
    return root


def find_csv_files(root: Path, recursive: bool = False) -> Found:
    """The CSV files in ``root`` (and its sub-folders if ``recursive``), sorted by relative path."""
    found = Found(root)

    def walk(folder: Path) -> None:
        for p in sorted(folder.iterdir(), key=lambda q: q.name):
            if p.name.startswith("."):
                found.skipped.append((p, "hidden"))
            elif p.is_dir():
                if recursive:
                    walk(p)
                else:
                    found.skipped.append((p, "sub-folder"))
            elif p.is_file() and p.suffix.lower() == ".csv":
                found.files.append(p)
            else:
                found.skipped.append((p, "not a .csv file"))

    walk(root)
    found.files.sort(key=lambda p: p.relative_to(root).as_posix().lower())
    return found


def sensor_of(stem: str) -> tuple[str, str] | None:
    """``(sensor group, stem without the sensor word)`` of a file stem, or None."""
    for m in _TOKEN.finditer(stem):
        sensor = SENSOR_WORDS.get(m.group(0).lower())
        if sensor is not None:
            before, after = stem[: m.start()].rstrip(_SEPARATORS), stem[m.end():].lstrip(_SEPARATORS)
            joiner = stem[m.start() - 1] if before and after else ""
            return sensor, f"{before}{joiner}{after}"
    return None


@dataclass
class Recording:
    """The file(s) of one capture.

    Attributes:
        name: capture name: the path relative to the data folder without
            ``.csv`` (``Left Jab/S01``), ``/``-separated.
        files: ``{sensor: file}`` of a multi-file recording, or ``{"": file}``.
    """

    name: str
    files: dict[str, Path]

    @property
    def first(self) -> Path:
        return next(iter(self.files.values()))


def capture_name(root: Path, file: Path) -> str:
    """Capture name of a file: its path relative to ``root`` without the suffix, ``/``-separated."""
    return file.relative_to(root).with_suffix("").as_posix()


def group_recordings(root: Path, files: list[Path]) -> list[Recording]:
    """Captures of ``files``: multi-sensor recordings merged by the file-name rule above.

    Raises:
        DataError: two recordings (or files) give the same capture name.
    """
    by_key: dict[tuple[Path, str], list[tuple[str, Path]]] = defaultdict(list)
    for f in files:
        found = sensor_of(f.stem)
        if found is not None:
            by_key[(f.parent, found[1])].append((found[0], f))
    merged: dict[Path, Recording] = {}
    for (folder, rest), parts in by_key.items():
        sensors = [s for s, _ in parts]
        if len(parts) > 1 and len(set(sensors)) == len(sensors) and rest:
            rec = Recording(capture_name(root, folder / f"{rest}.csv"),
                            {s: f for s, f in sorted(parts, key=lambda sp: sp[0])})
            for _, f in parts:
                merged[f] = rec
    out: list[Recording] = []
    seen: dict[str, Path] = {}
    for f in files:
        rec = merged.get(f) or Recording(capture_name(root, f), {"": f})
        if rec.name in seen:
            if seen[rec.name] in rec.files.values():
                continue  # the other file of a recording already listed
            raise DataError(f"{seen[rec.name]} and {f}: two files give the capture name {rec.name!r}; rename one of them")
        seen[rec.name] = f
        out.append(rec)
    return out
