"""Replay a trial on a recording: the exported firmware against the Python pipeline.

Public API::

    replay_trial(study_dir, trial, recordings, ...)  # run both, compare, score -> Replay
    Replay, CaptureReplay, EventRow                   # what happened, per capture and per event
    replay_lines(replay)                              # the terminal table and summary (automl replay)

``automl replay`` prints :func:`replay_lines`, ``--html`` draws the same with
:func:`automl.report.write_replay_page`, and ``--write-counts`` keeps the
int16 counts the firmware read (``make stream`` / ``make qemu`` take that file).
"""

from automl.replay._replay import CaptureReplay, EventRow, Replay, replay_lines, replay_trial

__all__ = ["CaptureReplay", "EventRow", "Replay", "replay_lines", "replay_trial"]
