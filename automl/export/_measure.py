"""Measure an export on the Cortex-M4F: library sizes and instructions per sample.

Runs the export's own ``Makefile`` (so the numbers are those of the flags a
user builds with): ``make cortex-m4`` compiles the library (``kp.c``,
``kp_model.c``) and the ``.tflite`` array with ``arm-none-eabi-gcc`` and prints
``arm-none-eabi-size`` of each object; ``make qemu`` builds ``kp_stream`` for
the QEMU ``mps2-an386`` board and runs it under ``-icount shift=0`` on the
built-in synthetic stream, which prints SysTick-measured instruction counts of
every ``kp_add_sample`` call (``firmware/qemu/kp_qemu.h``: the board's SysTick
counts its 25 MHz processor clock, and under ``-icount shift=0`` each
instruction advances virtual time by 1 ns, so one tick is 40 instructions).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

__all__ = ["INSNS_PER_TICK", "M4_FLAGS", "MODEL_TFLITE_NOTE", "measure_export", "parse_size_output",
           "parse_stream_insns"]

INSNS_PER_TICK = 40
M4_FLAGS = ("-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -ffp-contract=off "
            "-fno-math-errno")
LIBRARY_OBJECTS = ("kp.o", "kp_model.o")
#: ``sizes.json``'s ``model_tflite.note``: why its ``text`` is larger than the model's ``model_tflite_bytes``.
MODEL_TFLITE_NOTE = ("model_data.o alone, the optional .tflite array for TensorFlow Lite Micro (not in library): text "
                     "= the .tflite's bytes (model_tflite_bytes in the model info) + its length constant + padding "
                     "to the array's 16-byte alignment")
_SIZE_LINE = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+[0-9a-fA-F]+\s+(\S.*)$")
_INSNS_LINE = re.compile(r"^insns classify (\d+) (\d+) (\d+) idle (\d+) (\d+) (\d+) per_tick (\d+)$", re.M)
_SUMMARY_LINE = re.compile(r"^summary samples (\d+) windows (\d+)$", re.M)


def parse_size_output(text: str) -> dict[str, dict[str, int]]:
    """``{object file name: {"text", "data", "bss"}}`` from Berkeley ``size`` output."""
    out = {}
    for line in text.splitlines():
        m = _SIZE_LINE.match(line)
        if m and m.group(4) != "(TOTALS)":
            out[Path(m.group(4)).name] = {"text": int(m.group(1)), "data": int(m.group(2)), "bss": int(m.group(3))}
    return out


def parse_stream_insns(text: str) -> dict | None:
    """The ``insns`` and ``summary`` lines of ``kp_stream`` built for QEMU, or ``None``."""
    m, s = _INSNS_LINE.search(text), _SUMMARY_LINE.search(text)
    if m is None or s is None:
        return None
    v = [int(g) for g in m.groups()]
    return {
        "samples": int(s.group(1)), "windows": int(s.group(2)),
        "classify": {"calls": v[0], "max": v[1], "mean": v[2]},
        "idle": {"calls": v[3], "max": v[4], "mean": v[5]},
        "per_tick": v[6],
    }


def _tool_version(tool: str) -> str | None:
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.splitlines()[0].strip() if out else None


def _make(folder: Path, build: Path, target: str, *extra: str, timeout: float) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "-s", "-C", str(folder), f"BUILD={build}", target, *extra],
                          capture_output=True, text=True, timeout=timeout, env=env)


def _stack_bound(build: Path) -> int | None:
    """Sum of the ``-fstack-usage`` frames of the library's functions.

    The library has no recursion, so no call chain inside it can need more;
    the C library functions it calls (``floorf``, ``memcpy``, ``memset``) are
    not counted.
    """
    total = 0
    for obj in LIBRARY_OBJECTS:
        su = build / "cortex-m4" / (obj[:-2] + ".su")
        if not su.is_file():
            return None
        for line in su.read_text().splitlines():
            fields = line.split("\t")
            if len(fields) >= 3 and fields[1].isdigit():
                if "static" not in fields[2]:
                    return None
                total += int(fields[1])
    return total


def measure_export(folder: Path, build: Path, *, qemu: bool = True, recording: Path | None = None,
                   timeout: float = 300.0) -> dict:
    """Sizes (and, with ``qemu``, instruction counts) of an export folder.

    Args:
        folder: the export (with its ``Makefile``).
        build: an empty folder for the objects (outside ``folder``).
        qemu: also build ``kp_stream`` for QEMU and run it on a stream.
        recording: the stream (int16 counts, ``.csv`` or ``.bin``, see
            ``kp_stream.c``; absolute path without spaces or commas); default
            ``kp_stream --synthetic``.
        timeout: seconds allowed for each ``make`` call.

    Returns:
        The ``sizes.json`` content (see ``docs/FIRMWARE.md``). Missing tools give
        ``null`` sections and a reason under ``"unavailable"``.
    """
    result: dict = {
        "target": "Cortex-M4F",
        "compiler": None,
        "flags": M4_FLAGS,
        "library": None,
        "model_tflite": None,
        "stack_bytes_bound": None,
        "instructions": None,
        "unavailable": {},
    }
    missing = [t for t in ("make", "arm-none-eabi-gcc", "arm-none-eabi-size") if shutil.which(t) is None]
    if missing:
        result["unavailable"]["sizes"] = f"not on PATH: {', '.join(missing)}"
        result["unavailable"]["instructions"] = result["unavailable"]["sizes"]
        return result
    result["compiler"] = _tool_version("arm-none-eabi-gcc")
    proc = _make(folder, build, "cortex-m4", timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"make cortex-m4 failed:\n{proc.stdout}\n{proc.stderr}")
    sizes = parse_size_output(proc.stdout)
    objects = {name: sizes[name] for name in LIBRARY_OBJECTS}
    lib = {k: sum(o[k] for o in objects.values()) for k in ("text", "data", "bss")}
    lib["flash_bytes"] = lib["text"] + lib["data"]
    lib["ram_bytes"] = lib["data"] + lib["bss"]
    lib["objects"] = objects
    result["library"] = lib
    model = sizes.get("model_data.o")
    result["model_tflite"] = None if model is None else {**model, "note": MODEL_TFLITE_NOTE}
    result["stack_bytes_bound"] = _stack_bound(build)
    if not qemu:
        result["unavailable"]["instructions"] = "not measured (qemu=False)"
        return result
    missing = [t for t in ("qemu-system-arm", "timeout") if shutil.which(t) is None]
    if missing:
        result["unavailable"]["instructions"] = f"not on PATH: {', '.join(missing)}"
        return result
    stream = "--synthetic" if recording is None else str(recording)
    proc = _make(folder, build, "qemu", f"RECORDING={stream}", f"QEMU_TIMEOUT={int(timeout)}",
                 timeout=timeout + 30)
    insns = parse_stream_insns(proc.stdout) if proc.returncode == 0 else None
    if insns is None:
        raise RuntimeError(f"make qemu failed (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    insns.update({
        "board": "QEMU mps2-an386 (Cortex-M4F), -icount shift=0,align=off,sleep=off",
        "emulator": _tool_version("qemu-system-arm"),
        "method": ("SysTick on the processor clock (25 MHz on mps2-an386); under -icount shift=0 every "
                   "instruction advances virtual time by 1 ns, so 1 tick = 40 instructions. Counts are "
                   "instructions, not cycles, resolution 40 instructions, deterministic."),
        "stream": ("kp_stream --synthetic: 16 windows of samples, quiet (all 0) and full-scale "
                   "pseudo-random blocks of window_size samples alternating") if recording is None
        else f"kp_stream {Path(recording).name}",
    })
    result["instructions"] = insns
    return result
