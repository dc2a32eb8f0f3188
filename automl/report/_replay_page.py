"""The page ``automl replay --html`` writes: per recording a timeline of firmware and Python outputs.

Plain data first (:class:`ReplayPage`, built from an :class:`automl.replay.Replay`
without importing it), then the Jinja template ``reports/templates/replay.html.j2``
draws it with the report's timeline figure and script.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._timeline import TimelineData, timeline_data


@dataclass(frozen=True)
class ReplaySection:
    """One recording (capture) of a replay.

    Attributes:
        timeline: the signal, labels, decisions, Python and firmware outputs.
        rows: the per-event table (:class:`automl.replay.EventRow`).
        facts: ``(label, text)`` lines of the summary (agreement, events, instructions).
        identical: firmware and Python agree on every window.
    """

    timeline: TimelineData
    rows: tuple[Any, ...]
    facts: tuple[tuple[str, str], ...]
    identical: bool


@dataclass(frozen=True)
class ReplayPage:
    """Everything the replay page shows.

    Attributes:
        title: ``"trial 17 of study 'boxing'"``.
        setup: one sentence: firmware build, export, segmenter and post-processing.
        sections: one per recording.
        verdict: the last line of ``automl replay`` (agreement over all recordings).
        identical: no disagreement anywhere.
    """

    title: str
    setup: str
    sections: tuple[ReplaySection, ...]
    verdict: str
    identical: bool


def replay_page(replay) -> ReplayPage:
    """The :class:`ReplayPage` of an :class:`automl.replay.Replay`."""
    from automl.data import Capture
    from automl.export import output_indices
    from automl.replay._replay import _events_text, _windows_text, replay_lines

    pipe = replay.pipeline
    scale = np.array([pipe.sample_scale[c] for c in pipe.channels], np.float64)
    sections = []
    for c in replay.captures:
        units = Capture(c.capture, (c.counts.astype(np.float64) / scale).astype(np.float32))
        same = c.firmware.start.shape[0] == c.n_windows
        fw_out = None
        if same:
            fw_out = output_indices(c.firmware.emitted)
        tl = timeline_data(replay.trial, units, pipe.channels, c.sample_rate_hz, c.segments, pipe.background
                           or "", pipe.classes, c.python.start, pipe.segmenter.window_size, c.python.predicted,
                           c.python.y_true, outputs=c.python.outputs, firmware=fw_out, agree=c.agree)
        facts = [("windows", f"{c.n_windows} classified in {c.n_samples:,} samples "
                             f"({c.n_samples / c.sample_rate_hz:.1f} s at {c.sample_rate_hz:.4g} Hz)"),
                 ("firmware = Python", f"{int(c.agree.sum())} of {c.n_windows} windows (start, class decision "
                                       "and emitted output)" if same else
                  f"no: the firmware classified {c.firmware.start.shape[0]} windows, Python {c.n_windows}")]
        if c.events is not None:
            facts.append(("events (device metric)", _events_text(c.events)))
        elif c.window_metrics is not None:
            facts.append(("windows", "the model has no background class, so no events: "
                                     + _windows_text(c.window_metrics)))
        else:
            facts.append(("events", "the recording has no labelled events: not scored"))
        if c.firmware.insns is not None:
            i = c.firmware.insns
            facts.append(("instructions (QEMU)", f"per classification: mean {i['classify']['mean']:,}, max "
                                                 f"{i['classify']['max']:,}; per other sample: mean "
                                                 f"{i['idle']['mean']:,} (resolution {i['per_tick']})"))
        sections.append(ReplaySection(tl, tuple(c.rows), tuple(facts), c.identical))
    lines = replay_lines(replay, table=False)
    return ReplayPage(title=f"trial {replay.trial} of study {replay.study!r}", setup=lines[0],
                      sections=tuple(sections), verdict=lines[-1], identical=replay.identical)
