"""C twin parity: firmware/runtime/kp_post.h against automl.postprocessing.postprocess.

A host C harness reads decision streams (decision, emission sample) and
prints kp_post_step's output for each; Python's postprocess on the same
streams must give the same outputs. The streams are random, with runs of
equal decisions (so votes and refractory periods both matter), the unknown
decision, repeated and far-apart emission samples, and one stream whose
samples end at the top of the uint32_t counter (next_allowed would overflow
a uint32_t there).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from automl.postprocessing import NO_OUTPUT, UNKNOWN, PostProcessSpec, postprocess
from automl.postprocessing._postprocess import MAX_VOTE

GCC = shutil.which("gcc")
ARM_GCC = shutil.which("arm-none-eabi-gcc")
RUNTIME = Path(__file__).resolve().parents[2] / "firmware" / "runtime"
FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Wconversion", "-Wdouble-promotion"]
N_CLASSES = 5

HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include "kp_post.h"

static kp_post_t post;

/* stdin: "vote refractory background", then one "stream" line per stream
   followed by "decision t" lines. stdout: one output per decision, one line
   per stream; "init <rc>" if kp_post_init refuses the settings. */
int main(void)
{
    int vote, background, rc, decision, first = 1;
    long refractory;
    unsigned long t;
    char word[16];
    if (scanf("%d %ld %d", &vote, &refractory, &background) != 3) {
        return 2;
    }
    rc = kp_post_init(&post, vote, (int32_t)refractory, background);
    if (rc != KP_POST_OK) {
        printf("init %d\n", rc);
        return 0;
    }
    while (scanf("%15s", word) == 1) {
        if (word[0] == 's') { /* a new stream */
            kp_post_reset(&post);
            if (!first) {
                putchar('\n');
            }
            first = 0;
            continue;
        }
        decision = atoi(word);
        if (scanf("%lu", &t) != 1) {
            return 3;
        }
        printf("%d ", kp_post_step(&post, decision, (uint32_t)t));
    }
    putchar('\n');
    return 0;
}
"""

pytestmark = pytest.mark.skipif(GCC is None, reason="gcc not on PATH")


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("kp_post")
    (d / "harness.c").write_text(HARNESS)
    exe = d / "harness"
    subprocess.run([GCC, *FLAGS, "-O2", f"-I{RUNTIME}", "-o", str(exe), str(d / "harness.c")],
                   check=True, capture_output=True, text=True)
    return exe


def random_stream(rng: np.random.Generator, n: int, t0: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` decisions in runs (-1 .. N_CLASSES-1, background 0 frequent) and non-decreasing samples."""
    runs = []
    while sum(len(r) for r in runs) < n:
        value = int(rng.choice([0, 0, 0, UNKNOWN, *range(1, N_CLASSES)]))
        run = np.full(int(rng.integers(1, 8)), value)
        noise = rng.random(run.size) < 0.25  # stray decisions inside a run
        run[noise] = rng.integers(-1, N_CLASSES, int(noise.sum()))
        runs.append(run)
    d = np.concatenate(runs)[:n].astype(np.int64)
    steps = rng.choice([0, 1, 10, 25, 40, 150, 400], n, p=[0.05, 0.2, 0.3, 0.2, 0.1, 0.1, 0.05])
    return d, t0 + np.cumsum(steps).astype(np.int64)


def run_c(exe: Path, spec: PostProcessSpec, background: int | None,
          streams: list[tuple[np.ndarray, np.ndarray]]) -> list[list[int]] | str:
    lines = [f"{spec.vote} {spec.refractory} {-1 if background is None else background}"]
    for d, t in streams:
        lines.append("s")
        lines += [f"{a} {b}" for a, b in zip(d.tolist(), t.tolist())]
    out = subprocess.run([str(exe)], input="\n".join(lines) + "\n", check=True, capture_output=True, text=True,
                         timeout=60).stdout
    if out.startswith("init"):
        return out.strip()
    return [[int(v) for v in line.split()] for line in out.splitlines()]


SETTINGS = [  # (vote, refractory, background)
    (1, 0, 0), (1, 25, 0), (1, 150, None), (2, 0, 0), (3, 25, 0), (3, 150, 2), (5, 40, None), (5, 300, 0),
    (7, 1, 0), (10, 0, None), (MAX_VOTE, 150, 0), (MAX_VOTE, 2**31 - 1, None),
]


@pytest.mark.parametrize("vote,refractory,background", SETTINGS)
def test_c_twin_outputs_equal_python(harness, vote, refractory, background):
    rng = np.random.default_rng(1000 * vote + refractory % 1000 + (7 if background is None else background))
    streams = [random_stream(rng, n) for n in (1, 2, 40, 400)]
    spec = PostProcessSpec(vote, refractory)
    got = run_c(harness, spec, background, streams)
    want = [postprocess(d, t, spec, background).tolist() for d, t in streams]
    assert got == want
    flat = np.concatenate([np.asarray(w) for w in want])
    assert (flat == UNKNOWN).any() and ((flat > 0) & (flat != (background or 0))).any()
    if refractory:  # some event outputs suppressed (refractory 1: two windows on the same sample)
        assert (flat == NO_OUTPUT).any()


def test_vote_changes_decisions(harness):
    """With a vote and no refractory the outputs differ from the decisions (and still equal Python's)."""
    rng = np.random.default_rng(5)
    d, t = random_stream(rng, 300)
    spec = PostProcessSpec(5, 0)
    want = postprocess(d, t, spec, 0)
    assert run_c(harness, spec, 0, [(d, t)]) == [want.tolist()]
    assert (want != d).sum() > 20


def test_samples_at_the_top_of_the_uint32_counter(harness):
    """t up to 2^32 - 1 with a long refractory: t + refractory would overflow a uint32_t; the twin stays exact."""
    rng = np.random.default_rng(9)
    d, t = random_stream(rng, 200)
    t = t - t[-1] + (2**32 - 1)
    for spec in (PostProcessSpec(3, 1000), PostProcessSpec(1, 2**31 - 1), PostProcessSpec(1, 400)):
        want = postprocess(d, t, spec, 0).tolist()
        assert run_c(harness, spec, 0, [(d, t)]) == [want]
        assert NO_OUTPUT in want


def test_bad_settings_are_refused(harness):
    d, t = np.array([1]), np.array([0])
    assert run_c(harness, PostProcessSpec(0, 0), 0, [(d, t)]) == "init -1"  # vote 0
    assert run_c(harness, PostProcessSpec(1, -1), 0, [(d, t)]) == "init -1"  # negative refractory
    assert run_c(harness, PostProcessSpec(1, 0), 127, [(d, t)]) == "init -1"  # background beyond int8
    assert run_c(harness, PostProcessSpec(MAX_VOTE + 1, 0), 0, [(d, t)]) == "init -2"  # over the capacity


@pytest.mark.skipif(ARM_GCC is None, reason="arm-none-eabi-gcc not on PATH")
def test_header_compiles_for_cortex_m4(tmp_path):
    src = tmp_path / "m4.c"
    src.write_text('#define KP_POST_MAX_VOTE 5\n#include "kp_post.h"\nstatic kp_post_t post;\n'
                   "int step(int d, uint32_t t) {\n"
                   "    if (post.vote == 0 && kp_post_init(&post, 5, 150, 0) != KP_POST_OK) return -3;\n"
                   "    return kp_post_step(&post, d, t);\n}\n")
    subprocess.run([ARM_GCC, *FLAGS, "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Os",
                    f"-I{RUNTIME}", "-c", "-o", str(tmp_path / "m4.o"), str(src)],
                   check=True, capture_output=True, text=True)
