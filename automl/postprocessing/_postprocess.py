"""Majority vote and refractory suppression of window decisions, as the firmware does them.

The classifier decides one class per completed window. A user of a trigger
device wants one output per event, so the firmware post-processes the stream
of decisions (``firmware/runtime/kp_post.h``, bit-exact with this module):

1. **Vote.** The last ``vote`` decisions of the stream (this window's
   included; fewer at the start of the stream) are counted; the output
   candidate is the most frequent value, ties going to the one decided most
   recently. ``unknown`` (top probability below the unknown threshold) is a
   value like any class. ``vote = 1`` passes every decision through.
2. **Refractory suppression.** A candidate of an *event class* (any class but
   the background, and not ``unknown``) is emitted only if the window's
   emission sample ``t`` (its last sample: ``start + window_size - 1``, when
   the firmware classifies it) is at least ``next_allowed``; emitting it sets
   ``next_allowed = t + refractory``. A suppressed candidate emits nothing.
   Background and ``unknown`` candidates are always emitted and never start
   a refractory period. ``refractory = 0`` suppresses nothing.

State (the vote's ring of decisions and ``next_allowed = 0``) starts empty at
the start of every stream (``kp_reset``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from automl.errors import ConfigError

#: Decision value of a window whose top probability is below the unknown threshold.
UNKNOWN = -1
#: Output value of a window whose candidate was suppressed (nothing emitted).
NO_OUTPUT = -2
#: Largest vote window the C runtime supports (``KP_POST_MAX_VOTE`` in kp_post.h).
MAX_VOTE = 32
_PAD = -3  # ring entries before the stream started (never counted)


@dataclass(frozen=True)
class PostProcessSpec:
    """Post-processing settings of a pipeline.

    Attributes:
        vote: decisions in the majority vote, ``1 <= vote <= 32`` (1: no vote).
        refractory: samples after an emitted event during which further event
            outputs are suppressed, ``>= 0`` (0: no suppression).
    """

    vote: int = 1
    refractory: int = 0

    def check(self) -> "PostProcessSpec":
        """Return self, or raise ConfigError naming the bad parameter."""
        for name, low, high in (("vote", 1, MAX_VOTE), ("refractory", 0, 2**31 - 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
                raise ConfigError(f"The {name!r} parameter of post-processing must be an int in [{low}, {high}] "
                                  f"({'windows' if name == 'vote' else 'samples'}). Got {value!r} instead.")
        return self

    @property
    def is_identity(self) -> bool:
        """True when every decision is emitted unchanged."""
        return self.vote == 1 and self.refractory == 0


def postprocess(decisions: np.ndarray, emit_at: np.ndarray, spec: PostProcessSpec,
                background: int | None = 0) -> np.ndarray:
    """Outputs of one stream's windows (see the module docstring for the rules).

    Args:
        decisions: ``(n_windows,) int64`` class decision per window in the order
            the firmware classifies them: a model class index ``0..K-1`` or
            :data:`UNKNOWN` (-1).
        emit_at: ``(n_windows,) int64`` emission sample of each window
            (``start + window_size - 1``, samples since the stream started),
            non-decreasing.
        spec: vote and refractory settings.
        background: model class index of the background class, or ``None``
            when the data has none (then every class is an event class).

    Returns:
        ``(n_windows,) int64``: the emitted class index, :data:`UNKNOWN`, or
        :data:`NO_OUTPUT` (-2) where a refractory period suppressed the output.

    Raises:
        ConfigError: on a bad spec, mismatched lengths or a decreasing ``emit_at``.

    Example:
        >>> postprocess(np.array([2, 2, 0, 2]), np.array([9, 19, 29, 39]), PostProcessSpec(1, 25)).tolist()
        [2, -2, 0, 2]
    """
    spec.check()
    d = np.asarray(decisions, np.int64).reshape(-1)
    t = np.asarray(emit_at, np.int64).reshape(-1)
    if d.shape != t.shape:
        raise ConfigError(f"postprocess: {d.shape[0]} decisions but {t.shape[0]} emission samples; give one per window")
    if t.size > 1 and np.any(np.diff(t) < 0):
        raise ConfigError("postprocess: emit_at must be non-decreasing (windows in the order they are classified)")
    voted = _vote(d, spec.vote)
    out = voted.copy()
    if spec.refractory == 0:
        return out
    # Event candidates in classification order; jump from one emitted event to the
    # first candidate at or after its next_allowed (one step per emitted event).
    cand = np.flatnonzero((voted != UNKNOWN) & (voted != (-3 if background is None else background)))
    keep = np.zeros(cand.size, bool)
    tc = t[cand]
    i = 0
    while i < cand.size:
        keep[i] = True
        i = int(np.searchsorted(tc, tc[i] + spec.refractory, side="left"))
    out[cand[~keep]] = NO_OUTPUT
    return out


def _vote(d: np.ndarray, n_vote: int) -> np.ndarray:
    """Voted value per window: the most frequent of the last ``n_vote`` decisions, ties to the newest."""
    if n_vote == 1 or d.size == 0:
        return d.copy()
    pad = np.full(n_vote - 1, _PAD, np.int64)
    ring = np.lib.stride_tricks.sliding_window_view(np.concatenate([pad, d]), n_vote)[:, ::-1]  # (n, vote), newest first
    counts = (ring[:, :, None] == ring[:, None, :]).sum(axis=2)
    counts[ring == _PAD] = 0
    return ring[np.arange(d.size), counts.argmax(axis=1)]  # argmax: first (newest) of the largest counts


def postprocess_windows(decisions: np.ndarray, capture: np.ndarray, start: np.ndarray, window_size: int,
                        spec: PostProcessSpec, background: int | None = 0) -> np.ndarray:
    """:func:`postprocess` applied to each capture (stream) of a set of windows.

    Args:
        decisions: ``(n_windows,) int64`` class decision per window (-1 unknown).
        capture: ``(n_windows,) int64`` capture index of each window.
        start: ``(n_windows,) int64`` first sample of each window.
        window_size: window length (samples).
        spec, background: as :func:`postprocess`.

    Returns:
        ``(n_windows,) int64`` outputs in the input order; each capture is one
        stream, its windows taken in start order (the order the firmware
        classifies them; ties keep the input order).

    Raises:
        ConfigError: as :func:`postprocess`, or on mismatched lengths.
    """
    d = np.asarray(decisions, np.int64).reshape(-1)
    cap = np.asarray(capture, np.int64).reshape(-1)
    st = np.asarray(start, np.int64).reshape(-1)
    if not d.shape == cap.shape == st.shape:
        raise ConfigError(f"postprocess_windows: decisions, capture and start must have one entry per window; "
                          f"got {d.shape[0]}, {cap.shape[0]}, {st.shape[0]}")
    if spec.is_identity:
        return d.copy()
    out = np.empty_like(d)
    for c in np.unique(cap):
        idx = np.flatnonzero(cap == c)
        idx = idx[np.argsort(st[idx], kind="stable")]
        out[idx] = postprocess(d[idx], st[idx] + (int(window_size) - 1), spec, background)
    return out
