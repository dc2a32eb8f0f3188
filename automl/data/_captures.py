"""The shared capture-set helper every format reads its capture files with.

A format module finds its capture files and its labels; :class:`CaptureSet`
does the rest the same way for all of them:

* **Columns** (per file): the clock (``automl/data/_time.py``), channels, and
  metadata. Channels are the columns other than time, index, label and
  reserved ones in which more than half of the filled cells are numbers
  (decimal commas accepted), unless ``channels`` names them (a list selects,
  a mapping ``{new name: column}`` selects and renames). A text column whose
  value is the same on every row becomes capture metadata, as does ``file``.
  Every capture needs the same channels (another column order is reordered).
* **Several files per recording** (one per sensor, see
  ``automl/data/_recordings.py``): each file's channels are named
  ``<sensor><axis>`` (``x-axis (g)`` of the accelerometer file -> ``accX``)
  or ``<sensor>_<column>``; the files are aligned on their clocks (a wall
  clock such as ``epoch (ms)`` when the file has one, else the elapsed time
  from each file's first sample): the capture spans the time all files
  cover (latest start to earliest end), on the clock of the file with the
  most samples in that span; the other files are linearly interpolated
  (``numpy.interp``) onto it. Each file's channels form a sensor group.
* **Sample rate**: per capture ``1 / median interval`` of its clock (or
  ``sample_rate_hz`` for files without one; both must agree within 5 % if
  both exist). With ``resample_hz`` every capture is resampled to it
  (``automl/data/_resample.py``). Without it, captures whose rates are more
  than 5 % apart, or a capture whose timing jitter is above 5 %, make every
  capture resampled to the lowest capture rate, with a note; otherwise the
  dataset's rate is the median of the capture rates (as recorded).
* **Dataset**: sensor groups (declared, from the sensor files, or inferred
  from channel names), metadata from the capture names (``name_metadata``),
  notes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from automl.data._csv import (CONSTANT, DATES, NUMBER, RUNS, TIME, CsvScan, Runs, decimal_comma, is_number,
                              mostly_numeric, where)
from automl.data._dataset import Capture, Dataset, Segment
from automl.data._resample import map_segments, resample
from automl.data._sensors import check_sensors, infer_sensors
from automl.data._time import (DATETIME, MAX_JITTER, MAX_RATE_MISMATCH, RATE_RANGE_HZ, TimeColumn, Timing,
                               check_time_unit, choose_time_column, fixed_rate, is_index_column, time_columns,
                               timing)
from automl.errors import ConfigError, DataError

_AXIS_TOKEN = re.compile(r"(?:^|[^a-z])([xyz])(?:[^a-z]|$)")
_AXIS_END = re.compile(r"[a-z0-9]([xyz])$")


@dataclass(frozen=True)
class CaptureOptions:
    """Options every format takes (how capture files become channels and samples).

    Attributes:
        channels: ``None`` for every numeric column; a list of columns to
            read, in this order; or ``{new name: column}`` to select and rename.
        sensors: ``{group: 3 channel names}`` (after renaming), or None to
            infer (:func:`~automl.data.infer_sensors`).
        time_column: the clock column, ``"auto"`` (recognised names) or
            ``"none"`` / None (no clock: ``sample_rate_hz`` gives the rate).
        time_unit: unit of a numeric clock (``s``, ``ms``, ``us``, ``ns``),
            overriding the one its name implies.
        sample_rate_hz: rate of files without a clock (Hz).
        resample_hz: resample every capture to this rate (Hz).
        name_metadata: regular expression with named groups, searched in
            each capture name; the groups become capture metadata.
        background: name of the background class.
    """

    channels: tuple[str, ...] | dict[str, str] | None = None
    sensors: dict[str, tuple[str, ...]] | None = None
    time_column: str = "auto"
    time_unit: str | None = None
    sample_rate_hz: float | None = None
    resample_hz: float | None = None
    name_metadata: str | None = None
    background: str = "NoActivity"

    def __post_init__(self) -> None:
        channels = self.channels
        if channels is not None:
            if isinstance(channels, str):
                channels = (channels,)
            if isinstance(channels, Mapping):
                channels = {str(k): str(v) for k, v in channels.items()}
                names, sources = list(channels), list(channels.values())
            else:
                channels = tuple(str(c) for c in channels)
                names = sources = list(channels)
            if not names:
                raise ConfigError("The 'channels' parameter must name at least one column. Got [] instead.")
            for what, items in (("column", sources), ("channel name", names)):
                if len(set(items)) != len(items):
                    raise ConfigError(f"The 'channels' parameter must not repeat a {what}. Got {self.channels!r} "
                                      "instead.")
            object.__setattr__(self, "channels", channels)
        if self.time_column is None:
            object.__setattr__(self, "time_column", "none")
        if not isinstance(self.time_column, str) or not self.time_column:
            raise ConfigError(f"The 'time_column' parameter must be a column name, 'auto' or 'none'. Got "
                              f"{self.time_column!r} instead.")
        check_time_unit(self.time_unit)
        for key in ("sample_rate_hz", "resample_hz"):
            value = getattr(self, key)
            if value is None:
                continue
            try:
                rate = float(value)
            except (TypeError, ValueError):
                rate = math.nan
            lo, hi = RATE_RANGE_HZ
            if isinstance(value, bool) or not lo <= rate <= hi:
                raise ConfigError(f"The '{key}' parameter must be a rate in Hz from {lo:g} to {hi:g}, or None. "
                                  f"Got {value!r} instead.")
            object.__setattr__(self, key, rate)
        if self.name_metadata is not None:
            try:
                pattern = re.compile(self.name_metadata)
            except (re.error, TypeError) as exc:
                raise ConfigError(f"The 'name_metadata' parameter must be a regular expression. Got "
                                  f"{self.name_metadata!r} instead ({exc}).") from None
            if not pattern.groupindex:
                raise ConfigError(r"The 'name_metadata' parameter must have named groups, e.g. "
                                  rf"'(?P<subject>\d+)_(?P<hand>left|right)'. Got {self.name_metadata!r} instead.")

    @property
    def sources(self) -> dict[str, str] | None:
        """``{channel name: column}`` asked for, or None for every numeric column."""
        if self.channels is None:
            return None
        if isinstance(self.channels, dict):
            return dict(self.channels)
        return {c: c for c in self.channels}


@dataclass
class _Part:
    """One file read: its channels (named as in the capture), data and clock."""

    file: Path
    names: list[str]
    data: np.ndarray
    timing: Timing
    metadata: dict[str, str]
    clock: TimeColumn | None
    raw_clock: np.ndarray | None
    runs: Runs | None = None
    sensor: str | None = None
    merged: bool = False


@dataclass
class CaptureSet:
    """Reads the capture files of one dataset; see the module docstring.

    Args:
        options: the common options.
        reserved: further columns that are never channels (a label column,
            a format's own columns).
        labels: a per-sample label column to read as runs (label-column format).
    """

    options: CaptureOptions
    reserved: frozenset[str] = frozenset()
    labels: str | None = None
    captures: list[Capture] = field(default_factory=list)
    timings: dict[str, Timing] = field(default_factory=dict)
    clocks: dict[str, tuple[TimeColumn | None, np.ndarray | None]] = field(default_factory=dict)
    label_runs: dict[str, Runs] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _first: tuple[Path, tuple[str, ...]] | None = None
    _file_sensors: dict[str, tuple[str, ...]] = field(default_factory=dict)

    # -- reading ------------------------------------------------------------

    def read(self, name: str, files: Mapping[str, Path] | Path, display: str | None = None) -> Capture:
        """Read one capture: one file, or ``{sensor: file}`` merged into one.

        Args:
            name: capture name.
            files: the file, or the files of a multi-sensor recording.
            display: the ``file`` metadata (default the file name).

        Returns:
            The capture (also kept in :attr:`captures`); ``data``
            ``(n_samples, n_channels) float32`` in the units of the files.

        Raises:
            DataError: any problem of the files, naming file, row and column.
        """
        if name in self.timings:
            first = next(c for c in self.captures if c.name == name).metadata["file"]
            raise DataError(f"{first} and {display or files}: two files give the capture name {name!r}; rename one "
                            "of them")
        if isinstance(files, Path) or len(files) == 1:
            file = files if isinstance(files, Path) else next(iter(files.values()))
            part = self._read_file(file, None)
        else:
            part = self._merge([self._read_file(f, sensor) for sensor, f in files.items()])
        names, data = self._select(part) if part.merged else (part.names, part.data)
        if self._first is None:
            self._first = (part.file, tuple(names))
        else:
            data = self._check_same(part.file, names, data)
        metadata = {"file": display or part.file.name, **part.metadata}
        capture = Capture(name=name, data=data, metadata=metadata)
        self.captures.append(capture)
        self.timings[name] = part.timing
        self.clocks[name] = (part.clock, part.raw_clock)
        if part.runs is not None:
            self.label_runs[name] = part.runs
        return capture

    def _read_file(self, file: Path, sensor: str | None) -> _Part:
        opts = self.options
        scan = CsvScan(file)
        try:
            header, sample = scan.header, scan.sample
            if not scan.sample_rows:
                raise DataError(f"{where(file, 2)}: empty capture, the file has a header (row 1) but no data rows; "
                                "remove the file or add its samples")
            clock = choose_time_column(file, header, sample, opts.time_column, opts.time_unit,
                                       prefer_absolute=sensor is not None)
            if clock is None and opts.sample_rate_hz is None:
                raise DataError(
                    f"{where(file, 1)}: no time column; the header has {header}, expected a time column such as "
                    "seconds_elapsed (s), elapsed (s), epoch (ms), timestamp (ns), time or t (s), or name one with "
                    "--time-column (and its unit with --time-unit), or give the rate of files without one with "
                    "--sample-rate HZ (data.sample_rate_hz)"
                )
            if self.labels is not None and self.labels not in header:
                raise DataError(f"{where(file, 1, self.labels)}: missing column {self.labels!r} (the per-sample "
                                f"label); the header has {header}")
            not_channels = set(self.reserved) | {c.name for c in time_columns(header, sample)}
            not_channels |= {c for c in header if is_index_column(c)}
            if clock is not None:
                not_channels.add(clock.name)
            if self.labels is not None:
                not_channels.add(self.labels)
            others = [c for c in header if c not in not_channels]
            sources = opts.sources if sensor is None else None
            if sources is not None:
                for column in sources.values():
                    if column in not_channels and column in header:
                        raise ConfigError(f"The 'channels' parameter names {column!r}, which is the time, label or "
                                          f"index column of {file}; it cannot be a channel.")
                    if column not in header:
                        raise DataError(f"{where(file, 1, column)}: missing column {column!r} (asked for in "
                                        f"'channels'); the header has {header}")
                channels = list(sources.values())
            else:
                channels = [c for c in others if mostly_numeric(sample[c])]
                if not channels:
                    raise DataError(
                        f"{where(file, 1)}: no numeric channel column; the header has {header} and the columns "
                        f"{sorted(not_channels & set(header))} are not channels"
                    )
            kinds = {c: NUMBER for c in channels}
            kinds.update({c: CONSTANT for c in others if c not in kinds})
            if clock is not None:
                kinds[clock.name] = DATES if clock.unit == DATETIME else TIME
            if self.labels is not None:
                kinds[self.labels] = RUNS
            commas = {c for c, k in kinds.items() if k in (NUMBER, TIME) and decimal_comma(sample[c])}
            result = scan.read(kinds, commas)
        finally:
            scan.close()
        data = np.column_stack([result.numbers[c] for c in channels]).astype(np.float32, copy=False)
        runs = None
        if self.labels is not None:
            runs = result.runs[self.labels]
            for value, start, _ in runs.spans():
                if not value:
                    raise DataError(f"{where(file, int(result.rows[start]), self.labels)}: empty cell; every sample "
                                    f"needs a label (use {opts.background!r} for the background)")
        raw = result.times[clock.name] if clock is not None else None
        if clock is not None:
            clock_timing = timing(file, clock, raw, result.rows)
            if opts.sample_rate_hz is not None:
                self._check_given_rate(file, clock, clock_timing.rate_hz)
        else:
            clock_timing = fixed_rate(result.n_rows, opts.sample_rate_hz)
        metadata = {c: v for c, v in result.constants.items() if v and not is_number(v)}
        if sensor is not None:
            names = _sensor_names(sensor, channels)
        else:
            names = list(sources) if sources is not None else channels
        return _Part(file, names, data, clock_timing, metadata, clock, raw, runs, sensor)

    def _check_given_rate(self, file: Path, clock: TimeColumn, rate: float) -> None:
        given = self.options.sample_rate_hz
        ratio = max(rate, given) / min(rate, given) - 1.0
        if ratio > MAX_RATE_MISMATCH:
            raise DataError(
                f"{where(file, 2, clock.name)}: the time column gives {rate:.4g} Hz but the given sample rate is "
                f"{given:.4g} Hz ({ratio:.1%} apart, more than {MAX_RATE_MISMATCH:.0%}); drop the sample rate "
                "or fix the time column"
            )

    def _merge(self, parts: list[_Part]) -> _Part:
        """Several sensor files of one recording on one clock (rule in the module docstring)."""
        absolute = all(p.clock is not None and p.clock.absolute for p in parts)
        starts = [p.timing.start_s if absolute else 0.0 for p in parts]
        t_abs = [p.timing.t + (s - min(starts)) for p, s in zip(parts, starts)]
        lo, hi = max(t[0] for t in t_abs), min(t[-1] for t in t_abs)
        files = ", ".join(str(p.file) for p in parts)
        if hi <= lo:
            raise DataError(f"{files}: the sensor files of one recording do not overlap in time "
                            f"({'on their wall clocks' if absolute else 'from their first samples'}); "
                            "they cannot be merged into one capture")
        inside = [(t >= lo) & (t <= hi) for t in t_abs]
        ref = max(range(len(parts)), key=lambda k: (int(inside[k].sum()), -k))
        clock_t = t_abs[ref][inside[ref]]
        columns, names, metadata = [], [], {}
        for k, part in enumerate(parts):
            if k == ref:
                columns.append(part.data[inside[ref]])
            else:
                columns.append(np.column_stack([np.interp(clock_t, t_abs[k], part.data[:, c].astype(np.float64))
                                                for c in range(part.data.shape[1])]).astype(np.float32))
            names.extend(part.names)
            metadata.update(part.metadata)
            self._file_sensors[part.sensor] = tuple(part.names)
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise DataError(f"{files}: the sensor files give the channel name(s) {dup} twice; they cannot be merged")
        base = parts[ref]
        t = clock_t - clock_t[0]
        rel = Timing(base.timing.column, t, float(clock_t[0]), base.timing.rate_hz, base.timing.jitter,
                     base.timing.gaps, base.timing.worst_row)
        return _Part(base.file, names, np.column_stack(columns), rel, metadata, base.clock, None, merged=True)

    def _select(self, part: _Part) -> tuple[list[str], np.ndarray]:
        """Channels of a merged recording asked for with ``channels`` (named ``<sensor><axis>``)."""
        sources = self.options.sources
        if sources is None:
            return part.names, part.data
        missing = [c for c in sources.values() if c not in part.names]
        if missing:
            raise DataError(f"{where(part.file, 1)}: the recording has no channel {missing[0]!r} (asked for in "
                            f"'channels'); its channels, named after the sensor files, are {part.names}")
        idx = [part.names.index(c) for c in sources.values()]
        return list(sources), np.ascontiguousarray(part.data[:, idx])

    def _check_same(self, file: Path, names: list[str], data: np.ndarray) -> np.ndarray:
        """``data`` reordered to the first capture's channels; DataError if the channel sets differ."""
        first, first_names = self._first
        missing = [c for c in first_names if c not in names]
        extra = [c for c in names if c not in first_names]
        hint = ("; if they are two sensors of one recording, name the files alike but for the sensor word "
                "(..._Accelerometer.csv / ..._Gyroscope.csv) or give --label-map with a 'recording' column")
        if missing:
            raise DataError(
                f"{where(file, 1, missing[0])}: inconsistent channel columns between files: {first} has channel "
                f"{missing[0]!r} but this file does not (channels here: {names}, in {first.name}: "
                f"{list(first_names)}); every capture needs the same channels{hint if extra else ''}"
            )
        if extra:
            raise DataError(
                f"{where(file, 1, extra[0])}: inconsistent channel columns between files: channel {extra[0]!r} "
                f"is not in {first} (channels here: {names}, in {first.name}: {list(first_names)}); "
                "every capture needs the same channels"
            )
        if names == list(first_names):
            return data
        return np.ascontiguousarray(data[:, [names.index(c) for c in first_names]])

    # -- the dataset ----------------------------------------------------------

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel names (those of the first capture read)."""
        if self._first is None:
            raise DataError("no capture was read")
        return self._first[1]

    def dataset(self, name: str, segments: Sequence[Segment]) -> Dataset:
        """The :class:`Dataset` of the captures read, resampled if needed (module docstring).

        Args:
            name: dataset name.
            segments: labelled spans in the captures' original sample indices.

        Raises:
            DataError: a capture name that ``name_metadata`` does not match.
            ConfigError: bad declared ``sensors``.
        """
        opts = self.options
        captures = self.captures
        if not captures:
            raise DataError(f"{name}: no capture was read")
        rates = {c.name: self.timings[c.name].rate_hz for c in captures}
        target = opts.resample_hz
        slow = min(rates, key=rates.get)
        fast = max(rates, key=rates.get)
        jittery = [c.name for c in captures if self.timings[c.name].jitter > MAX_JITTER]
        spread = rates[fast] / rates[slow] - 1.0
        if target is None and (spread > MAX_RATE_MISMATCH or jittery):
            target = rates[slow]
            why = []
            if spread > MAX_RATE_MISMATCH:
                why.append(f"{_file(captures, fast)} is sampled at {rates[fast]:.4g} Hz but {_file(captures, slow)} at "
                           f"{rates[slow]:.4g} Hz ({spread:.1%} apart, more than {MAX_RATE_MISMATCH:.0%})")
            if jittery:
                t = self.timings[jittery[0]]
                why.append(f"{_file(captures, jittery[0])} has a sample timing jitter of {t.jitter:.1%}, more than "
                           f"{MAX_JITTER:.0%} (worst interval ending at row {t.worst_row}"
                           f"{f', {len(jittery) - 1} more captures' if len(jittery) > 1 else ''})")
            self.notes.append(f"resampled every capture to the lowest capture rate, {target:.4g} Hz, because "
                              f"{' and '.join(why)}; set --resample-hz (data.resample_hz) to choose the rate")
        by_capture: dict[str, list[Segment]] = {c.name: [] for c in captures}
        for s in segments:
            by_capture[s.capture].append(s)
        if target is not None:
            out_caps, out_segs, dropped = [], [], 0
            for c in captures:
                t = self.timings[c.name]
                data = resample(c.data, t.t, t.rate_hz, target)
                segs, lost = map_segments(by_capture[c.name], t.t, target, data.shape[0])
                out_caps.append(Capture(c.name, data, c.metadata))
                out_segs.extend(segs)
                dropped += lost
            lo, hi = min(rates.values()), max(rates.values())
            recorded = f"{lo:.4g} Hz" if hi / lo - 1 <= MAX_RATE_MISMATCH else f"{lo:.4g}-{hi:.4g} Hz"
            self.notes.append(f"{len(captures)} captures recorded at {recorded} resampled to {target:.6g} Hz "
                              "(linear interpolation onto a uniform clock, then scipy.signal.resample_poly)"
                              + (f"; {dropped} labelled span(s) shorter than one new sample dropped" if dropped else ""))
            captures, segments, rate = out_caps, out_segs, float(target)
        else:
            rate = float(np.median(list(rates.values())))
            segments = [s for c in captures for s in by_capture[c.name]]
        if opts.name_metadata is not None:
            apply_name_metadata(captures, opts.name_metadata)
        sensors = self._sensors()
        return Dataset(name=name, channels=self.channels, sample_rate_hz=rate, captures=captures,
                       segments=list(segments), background=opts.background, sensors=sensors,
                       resample_hz=None if opts.resample_hz is None and target is None else rate,
                       notes=self.notes)

    def _sensors(self) -> dict[str, tuple[str, ...]]:
        declared = self.options.sensors
        if declared is not None:
            return check_sensors(self.channels, declared)
        from_files = {g: m for g, m in self._file_sensors.items() if all(c in self.channels for c in m)
                      and len(m) == 3}
        if from_files:
            return from_files
        groups, notes = infer_sensors(self.channels)
        self.notes.extend(notes)
        return groups


def _file(captures: list[Capture], name: str) -> str:
    c = next(c for c in captures if c.name == name)
    return c.metadata.get("file", name)


def apply_name_metadata(captures: Sequence[Capture], pattern: str) -> None:
    """Add the named groups of ``pattern`` (searched in each capture name) to its metadata.

    Raises:
        DataError: naming the first capture whose name the pattern does not match.
    """
    compiled = re.compile(pattern)
    for c in captures:
        m = compiled.search(c.name)
        if m is None:
            raise DataError(f"capture {c.name!r} ({c.metadata.get('file', c.name)}): its name does not match "
                            f"data.name_metadata {pattern!r}; widen the pattern (e.g. make a group optional)")
        c.metadata.update({k: v for k, v in m.groupdict().items() if v is not None})


def _axis(column: str) -> str | None:
    low = column.strip().lower()
    found = set(_AXIS_TOKEN.findall(low)) or set(_AXIS_END.findall(low))
    return found.pop().upper() if len(found) == 1 else None


def _sensor_names(sensor: str, columns: list[str]) -> list[str]:
    """Channel names of one sensor file: ``<sensor><AXIS>`` when every column has one axis letter."""
    axes = [_axis(c) for c in columns]
    if all(axes) and len(set(axes)) == len(axes):
        return [f"{sensor}{a}" for a in axes]
    return [f"{sensor}_{c}" for c in columns]
