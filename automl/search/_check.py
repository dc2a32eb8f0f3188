"""What a search would use, and what would make its trials fail: ``automl check`` and the search's pre-check.

:func:`check_search` takes the data exactly as the search reads it
(:func:`automl.search._runner.load_data`) and the search space, and returns
a :class:`CheckReport`: the summary a user needs to trust the run (captures,
rate, channels, sensor groups, classes and counts per class and per group,
the folds, the held-out set), warnings (some trials would fail, or something
the data readers did), and problems (every trial would fail, or its export
could not be built). ``automl
search`` stops with exit code 2 on a problem before its first trial.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from automl.data import Dataset, capture_groups, grouped_folds
from automl.errors import AutomlError
from automl.search._space import Range, SearchSpace

#: Groups (or folds, or captures) listed one by one before the rest is counted.
MAX_LISTED = 12
#: Longest class or channel name (characters). Names become C string literals of the exported firmware
#: (C99 guarantees 4,095 characters per literal, which escaping can triple) and cells of the report.
MAX_NAME_CHARS = 255


@dataclass
class CheckReport:
    """The outcome of :func:`check_search`.

    Attributes:
        summary: one line per fact a search would use.
        notes: what reading the data did (files found and skipped,
            recordings merged, captures resampled, an outlier left out of the
            counts scale), one line each.
        warnings: one line each: trials that would fail for some parameter values.
        problems: one line each: reasons every trial would fail (or no trial could be exported).
    """

    summary: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Summary, then ``note: ...``, ``warning: ...`` and ``problem: ...`` lines."""
        return [*self.summary, *(f"note: {n}" for n in self.notes), *(f"warning: {w}" for w in self.warnings),
                *(f"problem: {p}" for p in self.problems)]


def _choices(param) -> list:
    """The values a parameter can take: a list's items, a range's ends, or the fixed value."""
    if isinstance(param, Range):
        return [param.low, param.high]
    return list(param) if isinstance(param, list) else [param]


def _class_counts(ds: Dataset) -> str:
    """``label segments (samples)`` per class; samples outside every segment count as the background."""
    segs: Counter[str] = Counter()
    samples: Counter[str] = Counter()
    for s in ds.segments:
        segs[s.label] += 1
        samples[s.label] += s.length
    rest = sum(c.n_samples for c in ds.captures) - sum(samples.values())
    parts = [f"{label} {segs[label]} ({samples[label]:,} samples)" for label in sorted(segs)]
    if rest > 0:
        parts.append(f"unlabelled ({ds.background}) {rest:,} samples")
    return ", ".join(parts) if parts else "no labelled segment"


def _segments_per_class(ds: Dataset, names: set[str]) -> str:
    counts = Counter(s.label for s in ds.segments if s.capture in names and s.label != ds.background)
    return ", ".join(f"{label} {counts[label]}" for label in sorted(counts)) or "no labelled segment"


def _listed(items: list[str]) -> str:
    more = f", ... ({len(items) - MAX_LISTED} more)" if len(items) > MAX_LISTED else ""
    return ", ".join(items[:MAX_LISTED]) + more


def check_search(space: SearchSpace, train: Dataset, test: Dataset, held_out: dict, seed: int = 0) -> CheckReport:
    """Summary, warnings and problems of a search on ``train`` / ``test`` with ``space``.

    Args:
        space: the search space.
        train, test: the training and held-out captures as a search reads
            them (``load_data``).
        held_out: the rule that chose ``test`` (``{"test_glob", "test_where"}``).
        seed: the study seed (the folds depend on it).

    Returns:
        The :class:`CheckReport`.
    """
    r = CheckReport()
    n = len(train.captures) + len(test.captures)
    rate = f"{train.sample_rate_hz:.6g} Hz" + (" (resampled)" if train.resample_hz else "")
    r.summary.append(f"data {train.name!r}: {n} captures ({len(train.captures)} for training and validation, "
                     f"{len(test.captures)} held out), {rate}, {len(train.channels)} channels "
                     f"{', '.join(train.channels)}")
    groups = train.sensors or {}
    if groups:
        r.summary.append("sensor groups: " + "; ".join(f"{g} ({', '.join(m)}) -> {g}Mag" for g, m in groups.items()))
    else:
        r.summary.append("sensor groups: none (no magnitude channel; declare them with data.sensors)")
    r.summary.append(f"training classes: {_class_counts(train)}")
    rule = " and ".join(f"--test-where {k}={','.join(v)}" for k, v in (held_out.get("test_where") or {}).items())
    if held_out.get("test_glob"):
        rule = f"--test-glob {held_out['test_glob']}" + (f" and {rule}" if rule else "")
    r.summary.append(f"held out ({rule}): {_listed(test.capture_names())}; classes: {_class_counts(test)}")
    r.notes.extend(train.notes)

    group_by = space.search.group_by
    if group_by != "capture":
        try:
            by_group: dict[tuple, list[str]] = defaultdict(list)
            for name, g in capture_groups(train, group_by).items():
                by_group[g].append(name)
            r.summary.append(f"groups by {group_by}: " + _listed(
                [f"{'/'.join(g)}: {len(names)} captures ({_segments_per_class(train, set(names))})"
                 for g, names in by_group.items()]))
            test_groups = sorted({"/".join(g) for g in capture_groups(test, group_by, missing="?").values()})
            r.summary.append(f"held-out groups by {group_by}: {_listed(test_groups)}")
        except AutomlError as exc:
            r.problems.append(str(exc))
    try:
        folds = grouped_folds(train, space.search.cv_folds, seed=seed, group_by=group_by)
        for k, (_, val) in enumerate(folds, 1):
            r.summary.append(f"fold {k} validates on {len(val)} captures ({_listed(val)}): "
                             f"{_segments_per_class(train, set(val))}")
    except AutomlError as exc:
        if str(exc) not in r.problems:
            r.problems.append(str(exc))

    _check_classes(r, train)
    _check_names(r, train)
    _check_windows(r, space, train)
    _check_columns(r, space, train)
    return r


def _check_classes(r: CheckReport, train: Dataset) -> None:
    labels = {s.label for s in train.segments}
    covered = sum(s.length for s in train.segments)
    if covered < sum(c.n_samples for c in train.captures):
        labels.add(train.background)  # unlabelled samples are background
    if len(labels) < 2:
        r.problems.append(f"the training captures hold only the class(es) {sorted(labels)}; a classifier needs two: "
                          "hold out fewer captures or add recordings of other classes")


def _check_names(r: CheckReport, train: Dataset) -> None:
    """A class or channel name the export could not carry (longer than :data:`MAX_NAME_CHARS`), cut to 40."""
    for kind, names in (("class", train.labels()), ("channel", list(train.channels))):
        for name in names:
            if len(str(name)) > MAX_NAME_CHARS:
                r.problems.append(f"{kind} name {str(name)[:40]!r}… is {len(str(name)):,} characters long; class "
                                  f"and channel names become C strings of the exported firmware and cells of the "
                                  f"report: at most {MAX_NAME_CHARS} (rename it in the data)")
                return


def _check_windows(r: CheckReport, space: SearchSpace, train: Dataset) -> None:
    sizes = [int(v) for v in _choices(space.segmentation.window_size) if isinstance(v, (int, float))]
    if not sizes or not train.captures:
        return
    smallest = min(sizes)
    lengths = sorted(c.n_samples for c in train.captures)
    if lengths[-1] < smallest:
        r.problems.append(f"the longest training capture has {lengths[-1]} samples, fewer than the smallest "
                          f"window_size {smallest}; no window fits: lower segmentation.window_size")
    elif lengths[0] < max(sizes):
        short = sum(n < max(sizes) for n in lengths)
        r.warnings.append(f"{short} training captures are shorter than the largest window_size {max(sizes)} "
                          f"(the shortest has {lengths[0]} samples) and give no window at that size")


def _check_columns(r: CheckReport, space: SearchSpace, train: Dataset) -> None:
    kinds = set(_choices(space.segmentation.kind))
    if "threshold" not in kinds:
        return
    usable = set(train.channels) | {f"{g}Mag" for g in (train.sensors or {})}
    columns = _choices(space.segmentation.threshold.column)
    bad = [c for c in columns if c not in usable]
    if not bad:
        return
    r.problems.append(f"key 'segmentation.threshold.column': {', '.join(map(repr, bad))} is not a channel or a "
                      f"sensor magnitude of this data ({', '.join(sorted(usable))}); every threshold trial that "
                      "picks it would fail: remove it from the space")
