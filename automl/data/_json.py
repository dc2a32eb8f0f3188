"""JSON exports of labelling tools: reading, typed field access, file references, segment checks.

* :func:`load_json` reads a JSON file; :func:`jwhere` and the ``get_*``
  helpers report a bad JSON value as one :class:`~automl.errors.DataError`
  naming the file, the entry (a JSON path such as
  ``[0].sessions[1].segments[3]``) and the field.
* :func:`inside` resolves a capture file named in an export and refuses one
  outside the data folder (``../../etc/passwd``, absolute paths, symbolic
  links out), without opening it.
* :func:`check_spans` checks the segments of each capture against each other
  (no overlap) once they are in samples.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from automl.data._dataset import Segment
from automl.errors import DataError


def inside(root: Path, reference: str, where_: str) -> Path:
    """``root / reference`` if it stays inside ``root`` once resolved.

    Args:
        root: the data folder.
        reference: a relative file name from an export.
        where_: location prefix for the message (file, entry, field).

    Raises:
        DataError: an absolute reference, or one that resolves outside
            ``root`` (through ``..`` or a symbolic link); the file is not
            opened, and nothing of it is shown.
    """
    if PurePosixPath(reference).is_absolute() or PureWindowsPath(reference).is_absolute():
        raise DataError(f"{where_}: {reference!r} is an absolute path; capture files must be named relative to "
                        f"the data folder {root}")
    path = root / reference
    base = root.resolve()
    if not path.resolve().is_relative_to(base):
        raise DataError(f"{where_}: {reference!r} points outside the data folder {root}; capture files must be "
                        "inside it (copy the file there)")
    return path


def jwhere(path: Path, entry: str | None = None, field: str | None = None) -> str:
    """Location prefix of a JSON error: ``file, entry [0].sessions[1], field 'end'``."""
    parts = [str(path)]
    if entry:
        parts.append(f"entry {entry}")
    if field is not None:
        parts.append(f"field {field!r}")
    return ", ".join(parts)


def load_json(path: Path, what: str) -> Any:
    """The parsed content of a JSON file.

    Raises:
        DataError: missing or unreadable file, not UTF-8, invalid JSON (with
            the line and column of the first problem).
    """
    if not path.exists():
        raise DataError(f"{path}: file not found; give the {what}")
    if not path.is_file():
        raise DataError(f"{path}: is a folder, not a file; give the {what}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8 JSON") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}, line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg}); "
            f"the {what} must be valid JSON"
        ) from None


def type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )


def get_value(path: Path, obj: Any, entry: str, key: str, kind: type | tuple[type, ...], expected: str) -> Any:
    """``obj[key]``, which must exist and be of ``kind``; DataError naming file, entry and field."""
    if key not in obj:
        raise DataError(
            f"{jwhere(path, entry, key)}: missing key {key!r}; the entry has {sorted(obj)}, expected {expected}"
        )
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in as_tuple(kind)):
        raise DataError(f"{jwhere(path, entry, key)}: {type_name(value)} ({short(value)}); expected {expected}")
    return value


def as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def get_object(path: Path, value: Any, entry: str, expected: str) -> dict:
    """``value`` if it is a JSON object; DataError naming the entry otherwise."""
    if not isinstance(value, dict):
        raise DataError(f"{jwhere(path, entry)}: {type_name(value)} ({short(value)}); expected {expected}")
    return value


def get_text(path: Path, obj: dict, entry: str, key: str, expected: str) -> str:
    """A non-empty string field (numbers are accepted and turned into text)."""
    value = get_value(path, obj, entry, key, (str, int, float), expected)
    text = value if isinstance(value, str) else short(value)
    if not text.strip():
        raise DataError(f"{jwhere(path, entry, key)}: empty text; expected {expected}")
    return text.strip()


def get_number(path: Path, obj: dict, entry: str, key: str, expected: str) -> float:
    """A finite number field (JSON int or float, not true/false, not a string)."""
    value = get_value(path, obj, entry, key, (int, float, str), expected)
    if isinstance(value, str):
        raise DataError(f"{jwhere(path, entry, key)}: the string {short(value)}; expected {expected}")
    number = float(value)
    if not math.isfinite(number):
        raise DataError(f"{jwhere(path, entry, key)}: {value!r} is not a finite number; expected {expected}")
    return number


# --------------------------------------------------------------------------- #
# Segments
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Span:
    """A segment with the place it came from, for error messages.

    Attributes:
        segment: the segment in samples (start inclusive, end exclusive).
        where: location prefix of the entry's start (``file, entry [0]..., field 'start'``).
        entry: the entry alone, to name it in another entry's error.
        shown: how the source wrote the span, e.g. ``2..8 (end inclusive)``.
    """

    segment: Segment
    where: str
    entry: str
    shown: str


def check_spans(spans: list[Span], order: dict[str, int], note: str = "") -> list[Segment]:
    """Segments sorted by capture order then start; DataError on the first overlap.

    Args:
        spans: segments with their source locations.
        order: capture name -> position in the dataset.
        note: extra words for the overlap message (how ends are counted).
    """
    ranked = sorted(spans, key=lambda s: (order[s.segment.capture], s.segment.start, s.segment.end))
    for a, b in zip(ranked, ranked[1:]):
        if a.segment.capture == b.segment.capture and b.segment.start < a.segment.end:
            shared = min(a.segment.end, b.segment.end) - b.segment.start
            raise DataError(
                f"{b.where}: segment {b.shown} of capture {b.segment.capture!r} overlaps segment {a.shown} "
                f"of entry {a.entry} ({shared} shared sample{'s' if shared != 1 else ''}{note}); "
                "segments of one capture must not overlap"
            )
    return [s.segment for s in ranked]
