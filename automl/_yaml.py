"""Reading a YAML mapping into a pydantic model, with one-line errors naming file and key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from automl.errors import ConfigError


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
        ConfigError: naming the file (and key) if the file is not YAML, not a
            mapping, or a value is invalid.
    """
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if raw is None and empty_is_mapping:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {what} must be a mapping" + (" of fields" if word == "field" else ""))
    raw.setdefault("name", path.stem)
    try:
        return model(**raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"] if keep_loc(str(p)))
        raise ConfigError(f"{path}: {word} {loc!r}: {err['msg']} (got {err.get('input')!r})") from None
