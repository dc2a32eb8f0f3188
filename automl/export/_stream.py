"""Run an export's ``kp_stream`` on a recording and read what it prints.

``kp_stream`` (``firmware/templates/kp_stream.c.jinja``) feeds a recording of
int16 counts to ``kp_add_sample`` sample by sample and prints one line per
classified window; ``docs/FIRMWARE.md`` lists the fields. This module writes
such a recording (:func:`write_counts`), builds and runs the program with the
export's own ``Makefile`` on the host or under QEMU (:func:`run_stream`), and
parses its output (:func:`parse_stream`): the one reader of that format.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from automl.errors import AutomlError, ConfigError

from ._measure import _make, parse_stream_insns

__all__ = ["COUNTS_MARK", "StreamRun", "device_ids", "parse_stream", "run_stream", "write_counts"]

#: First line of a counts file written by :func:`write_counts` (``kp_stream`` skips it: not a number).
COUNTS_MARK = "# int16 counts for kp_stream"


@dataclass(frozen=True)
class StreamRun:
    """What ``kp_stream`` printed, one row per classified window.

    Attributes:
        start: ``(n,) int64`` first sample of each window (since the start of the recording).
        decision: ``(n,) int64`` class decision (``kp_last_class``): class id, 0 = unknown.
        emitted: ``(n,) int64`` what ``kp_add_sample`` returned after post-processing:
            a class id, -1 when the output was suppressed.
        scaled: ``(n, k) uint8`` scaler outputs.
        features: ``(n, k) uint32`` float32 features as their IEEE-754 bits.
        logits: ``(n, c)`` last dense layer outputs, int8 or float32.
        output: ``(n, c)`` model outputs (softmax), int8 or float32.
        samples: samples read from the recording.
        classes: class names by id (``class <id> "<name>"`` lines; id 0 ``unknown``).
        insns: the QEMU build's instruction counts (:func:`automl.export._measure.parse_stream_insns`:
            ``{"classify": {"calls", "max", "mean"}, "idle": {...}, "per_tick"}``, instructions), or None.
    """

    start: np.ndarray
    decision: np.ndarray
    emitted: np.ndarray
    scaled: np.ndarray
    features: np.ndarray
    logits: np.ndarray
    output: np.ndarray
    samples: int
    classes: tuple[str, ...]
    insns: dict | None


def parse_stream(stdout: str, int8: bool) -> StreamRun:
    """Parse ``kp_stream``'s standard output.

    Args:
        stdout: everything it printed.
        int8: the export's model is int8 (logits and outputs are decimals), else float32 (hex bits).

    Returns:
        The :class:`StreamRun`.

    Raises:
        AutomlError: if the output has no ``summary`` line or its window count disagrees
            (the program stopped early), naming the last lines.
    """
    lines = stdout.splitlines()
    rows = [ln.split() for ln in lines if ln.startswith("window ")]
    summary = [ln.split() for ln in lines if ln.startswith("summary ")]
    if len(summary) != 1 or int(summary[0][4]) != len(rows):
        raise AutomlError(f"kp_stream output is incomplete (no summary line, or it counts other windows): "
                          f"{' | '.join(lines[-3:]) or 'nothing printed'}")

    def ints(text: str, dtype) -> np.ndarray:
        return np.array([int(v) for v in text.split(",")], dtype)

    def bits(text: str) -> np.ndarray:
        return np.array([int(v, 16) for v in text.split(",")], np.uint32)

    def out(text: str) -> np.ndarray:
        return ints(text, np.int8) if int8 else bits(text).view(np.float32)

    def stack(values, dtype) -> np.ndarray:
        return np.stack(values) if values else np.zeros((0, 0), dtype)

    classes = {}
    for ln in lines:
        if ln.startswith("class "):
            _, cid, name = ln.split(" ", 2)
            classes[int(cid)] = _unquote(name)
    return StreamRun(
        start=np.array([int(r[1]) for r in rows], np.int64),
        decision=np.array([int(r[2]) for r in rows], np.int64),
        emitted=np.array([int(r[3]) for r in rows], np.int64),
        scaled=stack([ints(r[4], np.uint8) for r in rows], np.uint8),
        features=stack([bits(r[5]) for r in rows], np.uint32),
        logits=stack([out(r[6]) for r in rows], np.int8 if int8 else np.float32),
        output=stack([out(r[7]) for r in rows], np.int8 if int8 else np.float32),
        samples=int(summary[0][2]),
        classes=tuple(classes[i] for i in sorted(classes)),
        insns=parse_stream_insns(stdout),
    )


def _unquote(text: str) -> str:
    """A class name as ``kp_stream`` prints it: in quotes, bytes outside printable ASCII as ``\\xHH``."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    raw = bytearray()
    i = 0
    while i < len(text):
        if text.startswith("\\x", i) and i + 4 <= len(text):
            raw.append(int(text[i + 2:i + 4], 16))
            i += 4
        else:
            raw += text[i].encode()
            i += 1
    return raw.decode("utf-8", "replace")


def device_ids(outputs: np.ndarray) -> np.ndarray:
    """What ``kp_add_sample`` returns for :attr:`automl.pipeline.PipelineRun.outputs`.

    Args:
        outputs: ``(n,) int64`` model class index, -1 unknown, -2 nothing emitted.

    Returns:
        ``(n,) int64`` class id = output + 1 (0 unknown), -1 where nothing is emitted.
    """
    from automl.postprocessing import NO_OUTPUT

    outputs = np.asarray(outputs, np.int64)
    return np.where(outputs == NO_OUTPUT, -1, outputs + 1)


def output_indices(ids: np.ndarray) -> np.ndarray:
    """The inverse of :func:`device_ids`: pipeline outputs of the class ids ``kp_add_sample`` returned.

    Args:
        ids: ``(n,) int64`` class id (0 unknown), -1 where nothing was emitted.

    Returns:
        ``(n,) int64`` model class index, -1 unknown, -2 nothing emitted (``automl.postprocessing``).
    """
    from automl.postprocessing import NO_OUTPUT

    ids = np.asarray(ids, np.int64)
    return np.where(ids < 0, NO_OUTPUT, ids - 1)


def write_counts(path: Path | str, counts: np.ndarray, channels, note: str = "") -> Path:
    """Write a recording ``kp_stream`` reads (``make stream`` / ``make qemu RECORDING=...``).

    The file is CSV: :data:`COUNTS_MARK` and ``note`` on the first line, the
    channel names on the second (both skipped by ``kp_stream``), then one
    sample per line, the int16 counts of every channel in the export's channel
    order. Written to a temporary file and renamed into place. An existing
    file is replaced only if this function wrote it (it starts with
    :data:`COUNTS_MARK`).

    Args:
        path: the ``.csv`` file.
        counts: ``(n_samples, n_channels)`` integer counts in [-32768, 32767].
        channels: ``n_channels`` names, in the export's channel order.
        note: what the counts are (study, trial, recording), on the first line.

    Returns:
        ``path``.

    Raises:
        ConfigError: ``path`` is a folder, or an existing file this function did not write.
        ValueError: ``counts`` is not 2-D with one column per channel, or not int16 values.
    """
    path = Path(path)
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[1] != len(channels):
        raise ValueError(f"counts must be (n_samples, {len(channels)}); got shape {counts.shape}")
    if counts.size and (counts.min() < -32768 or counts.max() > 32767 or not np.all(counts == np.rint(counts))):
        raise ValueError("counts must be whole numbers in [-32768, 32767] (int16)")
    if path.is_dir():
        raise ConfigError(f"{str(path)!r} is a folder; give the counts file's name, e.g. {str(path / 'counts.csv')!r}")
    if path.exists() and not _is_counts_file(path):
        raise ConfigError(f"Refusing to replace {str(path)!r}: it is not a counts file written by automl "
                          "(nothing else is ever overwritten); choose another file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii", newline="\n") as fh:
            fh.write(f"{COUNTS_MARK}{': ' + note if note else ''}\n")
            fh.write(",".join(str(c) for c in channels) + "\n")
            np.savetxt(fh, counts.astype(np.int64), fmt="%d", delimiter=",")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _is_counts_file(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(COUNTS_MARK)) == COUNTS_MARK.encode()
    except OSError:
        return False


def run_stream(folder: Path, recording: Path, build: Path, on: str = "host", timeout: float = 600.0) -> str:
    """Build ``kp_stream`` with the export's ``Makefile`` and run it on a recording; return its output.

    Args:
        folder: the export folder.
        recording: a counts file (:func:`write_counts`) or ``.bin`` recording; for
            ``qemu`` an absolute path without spaces or commas (QEMU's
            semihosting command line).
        build: the build folder (``make BUILD=...``), outside ``folder`` if it
            must stay untouched.
        on: ``"host"`` (gcc) or ``"qemu"`` (arm-none-eabi-gcc, QEMU ``mps2-an386``,
            with instruction counts).
        timeout: seconds allowed to build and run.

    Returns:
        ``kp_stream``'s standard output.

    Raises:
        ConfigError: ``on`` is neither ``host`` nor ``qemu``.
        AutomlError: the build or the run failed (the message ends with the tool's last lines),
            or a tool is missing.
    """
    if on not in ("host", "qemu"):
        raise ConfigError(f"The '--on' parameter must be 'host' or 'qemu'. Got {on!r} instead.")
    try:
        if on == "host":
            built = _make(folder, build, f"{build}/host/kp_stream", timeout=timeout)
            if built.returncode != 0:
                raise AutomlError(f"building kp_stream with the host compiler failed: {_tail(built)}")
            proc = subprocess.run([str(build / "host" / "kp_stream"), str(recording)], capture_output=True,
                                  text=True, timeout=timeout)
        else:
            proc = _make(folder, build, "qemu", f"RECORDING={recording}", f"QEMU_TIMEOUT={int(timeout)}",
                         timeout=timeout + 60)
    except FileNotFoundError as exc:
        raise AutomlError(f"cannot run the firmware: {exc.filename or exc} is not installed") from None
    except subprocess.TimeoutExpired:
        raise AutomlError(f"the firmware ({on}) did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise AutomlError(f"kp_stream ({on}) failed (exit {proc.returncode}): {_tail(proc)}")
    return proc.stdout


def _tail(proc: subprocess.CompletedProcess) -> str:
    text = (proc.stderr or "").strip() or (proc.stdout or "").strip()
    return " | ".join(text.splitlines()[-3:]) or "no output"
