"""The exported knowledge pack computes what the Python pipeline computes, bit for bit.

A held-out boxing recording (``acc_gyr_experiment_all_left``, 5670 samples,
never trained on) is converted to int16 counts with the pipeline's
``sample_scale`` and streamed sample by sample through the exported C library
(``kp_stream``). For every classified window the C start sample, uint8 feature
vector, float32 features, logits, model output, class decision and the
post-processed output ``kp_add_sample`` returns must equal
:meth:`automl.pipeline.FittedPipeline.run` on the same counts:

- window starts, uint8 features, class decisions: equal;
- emitted outputs (vote, refractory; ``kp_post.h``): equal to
  ``PipelineRun.outputs`` (class id = output + 1, -1 where suppressed);
- float32 features: equal bit for bit (the C twins of kp_features.h follow the
  Python operation order, docs/C_TWINS.md), compared as uint32;
- int8 logits and softmax output: equal (kp_mlp.h is TFLite Micro's reference
  kernels); float32 logits: equal bit for bit; float32 probabilities: within
  the bound of tests/export/test_mlp_c_parity.py (the C library's expf is not
  used), and the float class is the argmax of the (exact) logits;
- the Cortex-M4F build, run in QEMU mps2-an386 on the first 1500 samples,
  prints exactly what the host build prints.

Fast tests export hand-built pipelines (real features, a briefly trained tiny
MLP, all three segmenter paths, the unknown class, post-processing with and
without a background class, and the identity); the slow ones export three
trials made by ``automl.search._objective.run_trial`` on the real data
(threshold int8, threshold float32, sliding int8, each with a vote and a
refractory period) and check ``sizes.json``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from automl.data import Dataset, load_dataset
from automl.export import SIZES_NAME, export_trial
from automl.pipeline import FittedPipeline, SegmenterSpec
from automl.postprocessing import NO_OUTPUT

GCC, MAKE = shutil.which("gcc"), shutil.which("make")
QEMU_OK = all(shutil.which(t) for t in ("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm", "make"))
needs_host = pytest.mark.skipif(GCC is None or MAKE is None, reason="gcc or make not on PATH")
needs_qemu = pytest.mark.skipif(not QEMU_OK, reason="arm-none-eabi-gcc, qemu-system-arm or make not on PATH")

HELD_OUT = "acc_gyr_experiment_all_left"
QEMU_SAMPLES = 1500


from firmware_parity import (  # noqa: E402  (tests/ is on sys.path, see conftest.py)
    SCALE, assert_same_windows, counts_of, fast_pipeline, host_stream, parse_stream, qemu_stream, write_csv,
    write_study,
)


# ------------------------------------------------------------ recordings
@pytest.fixture(scope="module")
def held_out(boxing_dir) -> Dataset:
    """The held-out capture in sensor units."""
    return load_dataset(boxing_dir).subset([HELD_OUT])


# ------------------------------------------------------------ fast: hand-built pipelines
# (segmenter, quantization, unknown threshold, (vote, refractory, background))
FAST_CASES = {
    # std detection on a magnitude, int8, unknown class in use; vote and refractory, background NoActivity
    "threshold-std-int8": (SegmenterSpec("threshold", 100, 40, column="accMag", mode="std", detection_window=10,
                                         lookback=30), "int8", 0.6, (3, 150, "NoActivity")),
    # absolute detection on a raw channel, float32, unknown class in use; no background class: every
    # class is an event class
    "threshold-abs-f32": (SegmenterSpec("threshold", 80, 50, column="gyrY", mode="absolute", lookback=20),
                          "float32", 0.5, (4, 120, "")),
    # sliding windows, int8, no unknown threshold; a long vote and refractory
    "sliding-int8": (SegmenterSpec("sliding", 120, 35), "int8", 0.0, (5, 200, "NoActivity")),
}
@pytest.fixture(scope="module")
def fast_exports(held_out, tmp_path_factory) -> dict:
    """Per case: (FittedPipeline, export folder, held-out counts, int16 recording)."""
    assert list(held_out.channels) == list(SCALE)
    counts, data = counts_of(held_out, SCALE)
    out = {}
    for name, (seg, quant, unknown, post) in FAST_CASES.items():
        fp = fast_pipeline(counts, seg, quant, unknown, post)
        root = write_study(tmp_path_factory.mktemp(name) / "study", 0, fp)
        fw = root.parent / "fw"
        export_trial(root, 0, fw, measure=False)
        out[name] = (fp, fw, counts, data)
    return out


@needs_host
@pytest.mark.parametrize("case", list(FAST_CASES))
def test_host_stream_equals_python(fast_exports, case, tmp_path):
    fp, fw, counts, data = fast_exports[case]
    py = fp.run(counts, counts=True)
    c = parse_stream(host_stream(fw, write_csv(tmp_path / "rec.csv", data, fp.channels)), fp.quantization == "int8")
    assert c.samples == len(data)
    assert_same_windows(c, py, fp.quantization == "int8")
    if fp.unknown_threshold > 0:  # the unknown class is exercised, and so are real classes
        assert (c.cls == 0).any() and (c.cls > 0).any(), np.bincount(c.cls)
    assert (c.scaled == 0).any() and (c.scaled == 255).any()  # scaler clipping on both sides
    assert_post_processing_at_work(py, fp, background_exempt=case == "sliding-int8")


def assert_post_processing_at_work(py, fp: FittedPipeline, background_exempt: bool = False) -> None:
    """The vote changed decisions, the refractory period suppressed outputs, event outputs got through and
    (``background_exempt``; the threshold cases' models never decide the background) a background output
    inside a refractory period got through."""
    from automl.postprocessing import PostProcessSpec, postprocess_windows

    assert fp.vote > 1 and fp.refractory > 0
    voted = postprocess_windows(py.predicted, py.capture, py.start, fp.segmenter.window_size,
                                PostProcessSpec(fp.vote, 0), fp.background_index)
    assert (voted != py.predicted).any()
    assert (py.outputs == NO_OUTPUT).any()
    events = (py.outputs >= 0) & (py.outputs != (-3 if fp.background_index is None else fp.background_index))
    assert events.any()
    if background_exempt:
        as_event = postprocess_windows(py.predicted, py.capture, py.start, fp.segmenter.window_size, fp.post, None)
        assert (as_event != py.outputs).any()


@needs_host
@pytest.mark.parametrize("threshold", [0.97, 1.0])
def test_int8_unknown_threshold_edges(fast_exports, threshold, tmp_path):
    """A threshold near 1 (most windows unknown) and 1.0 (int8 q_min = 128: every window unknown)."""
    fp, _, counts, data = fast_exports["sliding-int8"]
    fp = FittedPipeline.from_json(fp.to_json(), fp.tflite)
    fp.unknown_threshold = threshold
    fp.vote, fp.refractory = 1, 0  # identity post-processing: kp_add_sample returns every decision
    root = write_study(tmp_path / "study", 0, fp)
    export_trial(root, 0, tmp_path / "fw", measure=False)
    c = parse_stream(host_stream(tmp_path / "fw", write_csv(tmp_path / "rec.csv", data, fp.channels)), True)
    assert_same_windows(c, fp.run(counts, counts=True), True)
    np.testing.assert_array_equal(c.emitted, c.cls)
    assert "kp_post" not in (tmp_path / "fw" / "kp.c").read_text()  # no post-processing code or state
    assert (fp.unknown_threshold_q() == 128) == (threshold == 1.0)
    assert (c.cls == 0).all() if threshold == 1.0 else (0 < (c.cls == 0).sum() < len(c.cls))


@needs_host
def test_binary_recording_gives_the_same_stream(fast_exports, tmp_path):
    fp, fw, _, data = fast_exports["threshold-std-int8"]
    csv_out = host_stream(fw, write_csv(tmp_path / "rec.csv", data, fp.channels))
    binary = tmp_path / "rec.bin"
    binary.write_bytes(data.astype("<i2").tobytes())
    assert host_stream(fw, binary) == csv_out


@needs_host
def test_stream_rejects_bad_recordings(fast_exports, tmp_path):
    _, fw, _, _ = fast_exports["sliding-int8"]
    host_stream(fw, write_csv(tmp_path / "ok.csv", np.zeros((3, 6), np.int16), ["c"] * 6))
    exe = fw / "build" / "host" / "kp_stream"
    cases = {"wide.csv": "1,2,3,4,5,6,7\n", "big.csv": "1,2,3,40000,5,6\n", "short.bin": b"\x00" * 13}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        proc = subprocess.run([str(exe), str(path)], capture_output=True, text=True)
        assert proc.returncode == 2 and proc.stderr.startswith("kp_stream: "), (name, proc.stderr)
    assert subprocess.run([str(exe)], capture_output=True).returncode == 1
    assert subprocess.run([str(exe), str(tmp_path / "missing.csv")], capture_output=True).returncode == 2


@needs_qemu
@pytest.mark.parametrize("case", ["threshold-std-int8", "threshold-abs-f32"])
def test_cortex_m4_in_qemu_prints_what_the_host_prints(fast_exports, case, tmp_path):
    fp, fw, counts, data = fast_exports[case]
    rec = write_csv(tmp_path / "short.csv", data[:QEMU_SAMPLES], fp.channels)
    m4 = qemu_stream(fw, rec)
    host = host_stream(fw, rec)
    assert [ln for ln in m4.splitlines() if not ln.startswith("insns ")] == host.splitlines()
    c = parse_stream(m4, fp.quantization == "int8")
    short, _ = counts_of(counts, {ch: 1.0 for ch in counts.channels}, QEMU_SAMPLES)  # already counts
    assert_same_windows(c, fp.run(short, counts=True), fp.quantization == "int8")
    (n_cls, max_cls, mean_cls), (n_idle, max_idle, mean_idle) = c.insns["classify"], c.insns["idle"]
    assert n_cls == len(c.start) and n_cls + n_idle == QEMU_SAMPLES
    assert 0 < mean_idle <= max_idle < mean_cls <= max_cls


# ------------------------------------------------------------ slow: real trials
SLOW_TRIALS = {
    "threshold-int8": {"vote": 3, "refractory": 150},
    "threshold-float32": {"quantization": "float32", "vote": 5, "refractory": 100, "unknown_threshold": 0.4},
    "sliding-int8": {"segmenter": "sliding", "slide": 30, "vote": 5, "refractory": 200},
}
# Every parameter of search_spaces/boxing.yaml; SearchSpace.complete drops the inactive ones
# (thr_* of the sliding trial, units_l3 of two layers).
BASE_PARAMS = dict(segmenter="threshold", window_size=120, slide=60, thr_column="accMag", thr_mode="std",
                   thr_quantile=0.8, thr_detection_window=10, thr_lookback=30, family_Statistical=True,
                   family_Shape=True, family_ColumnFusion=True, family_Area=True, family_RateOfChange=True,
                   family_Frequency=True, magnitude=True, k=16, n_layers=2, units_l1=12, units_l2=8, units_l3=8,
                   dropout=0.1, learning_rate=0.005, quantization="int8", vote=1, refractory=0,
                   unknown_threshold=0.0)


@pytest.fixture(scope="module")
def real_exports(boxing_dir, held_out, tmp_path_factory) -> dict:
    """Three trials of run_trial on the real data, written and exported (measured) like the CLI does.

    The threshold int8 trial's instruction counts are measured on the held-out
    recording, the others on kp_stream's synthetic stream.
    """
    from automl.cost import load_target
    from automl.evaluation import plan_validation
    from automl.search import SearchRequest
    from automl.search._objective import run_trial
    from automl.search._runner import load_data
    from automl.search._space import load_space
    from automl.search._records import write_artifacts

    repo = Path(__file__).resolve().parents[2]
    space = load_space(repo / "search_spaces" / "boxing.yaml")
    space = space.model_copy(update={"search": space.search.model_copy(update={"cv_folds": 2, "seeds": 1}),
                                     "model": space.model.model_copy(update={"epochs": 30})})
    req = SearchRequest(study="parity", space_path=repo / "search_spaces" / "boxing.yaml", data=boxing_dir)
    train, test, _, scale = load_data(req, space)
    assert HELD_OUT in test.capture_names()
    data = plan_validation(train, test, space.search.cv_folds, seed=0, group_by=space.search.group_by,
                           streams=space.search.validation)
    study = tmp_path_factory.mktemp("real") / "parity"
    out = {}
    for number, (name, params) in enumerate(SLOW_TRIALS.items()):
        outcome = run_trial(data, space, space.complete({**BASE_PARAMS, **params}), load_target(space.target), 0,
                            "parity", number, scale)
        write_artifacts(study, number, outcome.artifacts)
        fp = FittedPipeline.load(study / "artifacts" / f"trial-{number}")
        rec = None
        if name == "threshold-int8":
            rec = write_csv(study.parent / "held-out.csv", counts_of(held_out, fp.sample_scale)[1], fp.channels)
        fw = study.parent / f"fw-{name}"
        result = export_trial(study, number, fw, recording=rec)
        out[name] = (fp, fw, result)
    return out


@pytest.mark.slow
@needs_host
@pytest.mark.parametrize("case", list(SLOW_TRIALS))
def test_real_trial_host_parity_on_the_held_out_recording(real_exports, held_out, case, tmp_path):
    fp, fw, _ = real_exports[case]
    assert (fp.segmenter.kind, fp.quantization) == {"threshold-int8": ("threshold", "int8"),
                                                    "threshold-float32": ("threshold", "float32"),
                                                    "sliding-int8": ("sliding", "int8")}[case]
    assert list(held_out.channels) == list(fp.channels)
    counts, data = counts_of(held_out, fp.sample_scale)
    c = parse_stream(host_stream(fw, write_csv(tmp_path / "rec.csv", data, fp.channels)), fp.quantization == "int8")
    assert c.samples == len(data) == 5670
    py = fp.run(counts, counts=True)
    assert_same_windows(c, py, fp.quantization == "int8")
    assert (fp.vote, fp.refractory) == (SLOW_TRIALS[case]["vote"], SLOW_TRIALS[case]["refractory"])
    assert fp.background_index == 0 and (py.outputs == NO_OUTPUT).any() and (py.outputs != py.predicted).any()


@pytest.mark.slow
@needs_qemu
@pytest.mark.parametrize("case", list(SLOW_TRIALS))
def test_real_trial_cortex_m4_parity_in_qemu(real_exports, held_out, case, tmp_path):
    fp, fw, _ = real_exports[case]
    counts, data = counts_of(held_out, fp.sample_scale, QEMU_SAMPLES)
    rec = write_csv(tmp_path / "short.csv", data, fp.channels)
    m4 = qemu_stream(fw, rec)
    assert [ln for ln in m4.splitlines() if not ln.startswith("insns ")] == host_stream(fw, rec).splitlines()
    c = parse_stream(m4, fp.quantization == "int8")
    assert_same_windows(c, fp.run(counts, counts=True), fp.quantization == "int8")
    print(f"{case}: instructions per kp_add_sample on {QEMU_SAMPLES} held-out samples: {c.insns}")


@pytest.mark.slow
@needs_qemu
@pytest.mark.parametrize("case", list(SLOW_TRIALS))
def test_real_trial_sizes_json(real_exports, case):
    fp, fw, result = real_exports[case]
    sizes = json.loads((fw / SIZES_NAME).read_text())
    assert sizes == result.sizes and (sizes["study"], sizes["trial"]) == ("parity", fp.trial)
    lib = sizes["library"]
    for key in ("text", "data", "bss"):
        assert lib[key] == lib["objects"]["kp.o"][key] + lib["objects"]["kp_model.o"][key]
    assert lib["flash_bytes"] == lib["text"] + lib["data"] and lib["ram_bytes"] == lib["data"] + lib["bss"]
    # The ring buffer (int16) and the float window copy alone take 6 * window_size * 6 bytes of RAM.
    assert lib["ram_bytes"] > 6 * 6 * fp.segmenter.window_size
    insns = sizes["instructions"]
    assert insns["per_tick"] == 40 and insns["classify"]["calls"] == insns["windows"] > 0
    assert insns["idle"]["max"] < insns["classify"]["mean"] <= insns["classify"]["max"]
    if case == "threshold-int8":  # measured on the held-out recording: one call per sample
        assert insns["samples"] == 5670 and insns["stream"] == "kp_stream held-out.csv"
    else:
        assert insns["samples"] == 16 * fp.segmenter.window_size and "synthetic" in insns["stream"]
    print(f"{case}: flash {lib['flash_bytes']} B (text+data), RAM {lib['ram_bytes']} B (data+bss), "
          f"stack <= {sizes['stack_bytes_bound']} B, instructions {insns['classify']} / idle {insns['idle']}")


# ------------------------------------------------------------ the instruction clock
SPIN_C = r"""
#include <stdio.h>
#include <stdint.h>
#include "kp_qemu.h"
/* Exactly 2 instructions per iteration: subs; bne. */
static void spin(uint32_t n)
{
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}
int main(int argc, char **argv)
{
    uint32_t n, t0, t1;
    printf("argv %d %s\n", argc, argc > 1 ? argv[1] : "");
    kp_qemu_systick_start();
    for (n = 1000u; n <= 1000000u; n *= 10u) {
        t0 = kp_qemu_systick_now();
        spin(n);
        t1 = kp_qemu_systick_now();
        printf("spin %lu %lu\n", (unsigned long)n, (unsigned long)KP_QEMU_TICKS(t0, t1));
    }
    return 7;
}
"""


@needs_qemu
def test_systick_counts_40_instructions_per_tick_under_icount(tmp_path):
    """mps2-an386's SysTick runs at 25 MHz; -icount shift=0 makes 1 instruction = 1 ns: 40 per tick."""
    qemu_dir = Path(__file__).resolve().parents[2] / "firmware" / "qemu"
    (tmp_path / "spin.c").write_text(SPIN_C)
    elf = tmp_path / "spin.elf"
    subprocess.run(["arm-none-eabi-gcc", "-std=c99", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                    "-mfpu=fpv4-sp-d16", "-Os", "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{qemu_dir}",
                    "-nostartfiles", "--specs=nano.specs", "--specs=rdimon.specs", "-T", str(qemu_dir / "mps2-an386.ld"),
                    "-o", str(elf), str(qemu_dir / "startup.c"), str(tmp_path / "spin.c")], check=True,
                   capture_output=True, text=True)
    cmd = ["timeout", "60", "qemu-system-arm", "-machine", "mps2-an386", "-nographic", "-monitor", "none",
           "-serial", "none", "-icount", "shift=0,align=off,sleep=off",
           "-semihosting-config", "enable=on,target=native,arg=spin,arg=hello", "-kernel", str(elf)]
    runs = [subprocess.run(cmd, capture_output=True, text=True, timeout=90) for _ in range(2)]
    assert runs[0].returncode == 7 and runs[0].stdout == runs[1].stdout  # main's value; deterministic
    lines = runs[0].stdout.splitlines()
    assert lines[0] == "argv 2 hello"  # the command line reaches main through semihosting
    for line in lines[1:]:  # 2n loop instructions plus a few around them; 1 tick of quantisation
        _, n, ticks = line.split()
        assert abs(int(ticks) * 40 - 2 * int(n)) <= 40, line
