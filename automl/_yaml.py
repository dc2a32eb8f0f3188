"""Reading a YAML mapping into a pydantic model, with one-line errors naming file and key."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from automl.errors import ConfigError

#: Largest YAML file read (bytes): search spaces and target profiles are a few KB.
MAX_YAML_BYTES = 1 << 20
#: Most values a document may hold once its aliases are expanded (a "billion laughs" file
#: of a few hundred bytes expands to 10^9; the shipped spaces hold ~150).
MAX_YAML_VALUES = 100_000


def cut(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters (``…`` marks the cut)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters: messages never echo a whole input.

    A list or mapping of more than 20 items, or holding containers, is shown as
    ``<list of N items>`` (its ``repr`` alone could be gigabytes).
    """
    try:
        text = repr(value) if not isinstance(value, (list, dict)) or _small(value) else \
            f"<{type(value).__name__} of {len(value)} items>"
    except RecursionError:
        text = f"<{type(value).__name__}>"
    return cut(text, limit)


def _small(value: list | dict) -> bool:
    return len(value) <= 20 and all(not isinstance(v, (list, dict)) for v in
                                    (value.values() if isinstance(value, dict) else value))


def read_yaml(path: Path, what: str) -> Any:
    """Parse a small YAML file safely: size, encoding and alias expansion are bounded.

    Raises:
        ConfigError: naming the file if it is larger than :data:`MAX_YAML_BYTES`,
            not UTF-8, not YAML, nested too deeply, or holds more than
            :data:`MAX_YAML_VALUES` values once its aliases are expanded.
        OSError: if it cannot be read.
    """
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise ConfigError(f"{path}: {size:,} bytes is too large for {what} (at most {MAX_YAML_BYTES:,} bytes)")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # inside: the reader refuses control characters (yaml.reader.ReaderError)
        node = loader.get_single_node()
        if node is None:
            return None
        n = _expanded_size(node, {})
        if n > MAX_YAML_VALUES:
            raise ConfigError(f"{path}: holds {n:,} values once its YAML aliases are expanded, more than "
                              f"{MAX_YAML_VALUES:,}; {what} needs no such repetition")
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        # Where the error was found and, for an unclosed bracket, where what it was parsing started.
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        where = f"{_at(mark)}: " if mark is not None else ""
        since = (f", {cut(context)}" + (f" that starts at {_at(start)}" if start is not None else "")) if context else ""
        raise ConfigError(f"{path}: not valid YAML ({where}{cut(problem or first)}{since})") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be {what}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _at(mark: yaml.Mark) -> str:
    """``"line 2, column 15"``: a PyYAML mark (0-based) as an editor counts (1-based)."""
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Values in ``node`` with every alias expanded; shared nodes are counted once per use, computed once."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = MAX_YAML_VALUES + 1  # a node inside itself (a recursive alias) counts as too many
    if isinstance(node, yaml.MappingNode):
        n = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        n = 1 + sum(_expanded_size(v, memo) for v in node.value)
    else:
        n = 1
    memo[key] = n
    return n


def load_yaml_model(path: Path, model: type[BaseModel], *, what: str, word: str = "key",
                    empty_is_mapping: bool = False, keep_loc: Callable[[str], bool] = lambda part: True):
    """Parse ``path`` as a YAML mapping and validate it as ``model``.

    ``name`` defaults to the file stem.

    Args:
        path: an existing YAML file.
        model: the pydantic model to build.
        what: what the file is, for the "must be a mapping" message (e.g. ``a search space``).
        word: how a location is named in validation errors (``key`` or ``field``).
        empty_is_mapping: read an empty file as an empty mapping (else it is "not a mapping").
        keep_loc: filter for parts of pydantic's error location (drops union tags).

    Raises:
        ConfigError: naming the file (and key) if the file is not YAML (see
            :func:`read_yaml`), not a mapping, or a value is invalid; the
            offending value is shown cut to 80 characters.
    """
    raw = read_yaml(path, what)
    if raw is None and empty_is_mapping:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {what} must be a mapping" + (" of fields" if word == "field" else ""))
    raw.setdefault("name", path.stem)
    try:
        return model(**{str(k): v for k, v in raw.items()})
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key is both an unknown key and a missing one: name the key the user typed first.
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        parts = [str(p) for p in err["loc"] if keep_loc(str(p))]
        hint = ""
        if err["type"] == "extra_forbidden" and parts:
            missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == err["loc"][:-1]]
            close = difflib.get_close_matches(parts[-1], missing, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{path}: {word} {cut('.'.join(parts), 120)!r}: {cut(err['msg'])} "
                          f"(got {short_repr(err.get('input'))}){hint}") from None
