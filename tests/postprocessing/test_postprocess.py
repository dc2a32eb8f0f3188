"""Post-processing (vote, refractory): golden outputs worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from automl.errors import ConfigError
from automl.postprocessing import NO_OUTPUT, UNKNOWN, PostProcessSpec, postprocess, postprocess_windows

U, N = UNKNOWN, NO_OUTPUT


def run(decisions, spec, t=None, background=0):
    d = np.asarray(decisions)
    return postprocess(d, np.arange(d.size) * 10 if t is None else np.asarray(t), spec, background).tolist()


def test_identity_passes_every_decision():
    assert run([0, 2, 2, U, 1], PostProcessSpec()) == [0, 2, 2, U, 1]


def test_vote_takes_the_most_frequent_of_the_last_n_ties_to_the_newest():
    # vote 3 over [1, 2, 2, 1, U, U, 3]:
    # [1] -> 1; [2,1] tie -> 2 (newest); [2,2,1] -> 2; [1,2,2] -> 2; [U,1,2] tie -> U; [U,U,1] -> U; [3,U,U] -> U
    assert run([1, 2, 2, 1, U, U, 3], PostProcessSpec(vote=3)) == [1, 2, 2, 2, U, U, U]
    # vote 4: [1,2,2,1] -> 2 and 1 tie, newest is 1
    assert run([1, 2, 2, 1], PostProcessSpec(vote=4)) == [1, 2, 2, 1]


def test_refractory_suppresses_event_outputs_only():
    # t = 0, 10, ..., refractory 25: 2@0 emitted (next 25), 2@10 suppressed, background 0@20 emitted and
    # starts nothing, 1@30 emitted (next 55), U@40 emitted, 2@50 suppressed, 2@60 emitted.
    assert run([2, 2, 0, 1, U, 2, 2], PostProcessSpec(refractory=25)) == [2, N, 0, 1, U, N, 2]
    # The boundary: an output exactly at next_allowed is emitted.
    assert run([2, 2], PostProcessSpec(refractory=10)) == [2, 2]
    assert run([2, 2], PostProcessSpec(refractory=11)) == [2, N]


def test_without_a_background_class_every_class_is_an_event():
    assert run([0, 0, 1], PostProcessSpec(refractory=15), background=None) == [0, N, 1]


def test_vote_then_refractory():
    # vote 3 turns [2, 0, 2, 2, 0, 0] into [2, 0, 2, 2, 2, 0]; refractory 25 keeps 2@0, drops 2@20,
    # keeps 2@30 (next allowed 55) and drops 2@40.
    assert run([2, 0, 2, 2, 0, 0], PostProcessSpec(vote=3, refractory=25)) == [2, 0, N, 2, N, 0]


def test_streams_are_independent_and_taken_in_start_order():
    # Two captures interleaved and out of order; window_size 10 -> emission at start + 9.
    dec = np.array([2, 2, 2, 2])
    cap = np.array([1, 0, 1, 0])
    start = np.array([30, 0, 0, 15])
    out = postprocess_windows(dec, cap, start, 10, PostProcessSpec(refractory=20))
    # capture 0: starts 0 (emit, t=9, next 29), 15 (t=24 < 29: suppressed);
    # capture 1: starts 0 (emit, t=9), 30 (t=39 >= 29: emit).
    assert out.tolist() == [2, 2, 2, N]


def test_bad_settings_and_inputs_are_refused():
    with pytest.raises(ConfigError, match="'vote' parameter of post-processing must be an int in \\[1, 32\\]"):
        run([1], PostProcessSpec(vote=0))
    with pytest.raises(ConfigError, match="'refractory'"):
        run([1], PostProcessSpec(refractory=-1))
    with pytest.raises(ConfigError, match="non-decreasing"):
        run([1, 1], PostProcessSpec(), t=[5, 4])
    with pytest.raises(ConfigError, match="2 decisions but 1 emission"):
        run([1, 1], PostProcessSpec(), t=[5])
