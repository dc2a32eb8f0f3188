"""The calibrated constants of the cost model (``constants.json``, package data)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from automl.errors import ConfigError

#: The constants file shipped with the package, written by ``benchmarks/calibrate_cost.py``.
CONSTANTS_PATH = Path(__file__).resolve().with_name("constants.json")
#: Format version this code reads.
CONSTANTS_VERSION = 1
_HOW = ("run `python benchmarks/calibrate_cost.py` from the repository root (needs arm-none-eabi-gcc, "
        "qemu-system-arm and make; about 30 minutes) to measure and write it")


@functools.lru_cache(maxsize=8)
def load_constants(path: str | None = None) -> dict:
    """Read and check the calibrated constants (cached per path).

    Args:
        path: a constants file; default :data:`CONSTANTS_PATH`.

    Returns:
        The parsed JSON (see ``docs`` inside it for what each constant is).

    Raises:
        ConfigError: if the file is missing, unreadable, of another format
            version, or lacks a section; the message says how to regenerate it.
    """
    p = Path(path) if path else CONSTANTS_PATH
    if not p.is_file():
        raise ConfigError(f"cost model constants {str(p)!r} are missing, so flash, RAM and latency cannot be "
                          f"estimated; {_HOW}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cost model constants {str(p)!r} are unreadable ({exc}); {_HOW}") from None
    if not isinstance(data, dict) or data.get("version") != CONSTANTS_VERSION:
        got = data.get("version") if isinstance(data, dict) else None
        raise ConfigError(f"cost model constants {str(p)!r} have format version {got!r}, this code reads "
                          f"{CONSTANTS_VERSION}; {_HOW}")
    need = ("layout", "thresholds", "code", "stack", "classify", "ingest", "components", "cpi",
            "sort_shift_fraction", "tflite_micro", "post")
    missing = [k for k in need if k not in data]
    if missing:
        raise ConfigError(f"cost model constants {str(p)!r} lack {missing}; {_HOW}")
    return data
