"""Fidelity of the cost model: estimated vs measured flash, RAM and cycles of real trials.

Runs ``--trials`` trials of the boxing search space on the real data
(``automl.search._objective.run_trial`` in-process, parameters drawn at
random from ``search_spaces/boxing.yaml`` with a fixed seed; training is
shortened -- ``--epochs``, 2 folds -- because accuracy is not what is
measured here), exports each trained pipeline as firmware
(:func:`automl.export.write_firmware`) and measures it like
``benchmarks/calibrate_cost.py`` does:

* flash = ``text + data`` of the library (``kp.o`` + ``kp_model.o``,
  ``arm-none-eabi-size`` of the export's ``make cortex-m4``);
* RAM = ``data + bss`` + the ``-fstack-usage`` bound (``sizes.json``'s
  ``stack_bytes_bound``);
* cycles per classification = mean instructions of the classifying
  ``kp_add_sample`` calls when the held-out recording
  ``acc_gyr_experiment_all_left`` (never trained on, never used by the
  calibration) is streamed through the Cortex-M4 build under QEMU
  ``-icount shift=0`` (the export's ``make qemu``), times the calibrated CPI
  (``constants.json`` ``cpi``: QEMU counts instructions, not cycles; the
  same CPI converts the estimate, so the cycle error is the instruction
  error).

The trials' post-processing (vote, refractory) is drawn from the space too,
so the estimate of ``kp_post.h`` is measured with the rest (the vote's
instructions are estimated in their steady state, the measurement averages
over the recording's windows, the first ``vote - 1`` of which keep fewer
decisions).

The estimate is :func:`automl.cost.estimate_cost` of
:meth:`PipelineShape.from_pipeline` of the trial's ``pipeline.json`` -- the
shapes the objective knows before training. Prints one row per trial and a
summary (max / mean absolute % error) against the targets: flash and RAM
within 3 % for every trial, cycles within 15 %. Exit code 0 if all targets
hold, 1 otherwise.

Usage (from the repository root; about 15-25 minutes)::

    python benchmarks/cost_fidelity.py [--trials 24] [--seed 1] [--epochs 25] [--work /tmp/cost_fidelity]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calibrate_cost import inversions, run_qemu  # noqa: E402

from automl.cost import PipelineShape, TargetProfile, estimate_cost, load_constants  # noqa: E402
from automl.cost import _model as M  # noqa: E402
from automl.export._measure import measure_export  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "boxing-punches"
HELD_OUT = "acc_gyr_experiment_all_left"
TARGETS = {"flash": 3.0, "ram": 3.0, "cycles": 15.0}


def draw_params(space, n: int, seed: int) -> list[dict]:
    """``n`` parameter sets drawn at random from the space (Optuna's RandomSampler)."""
    import optuna

    from automl.search._space import suggest_all

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [suggest_all(study.ask(), space) for _ in range(n)]


def actual_sort_moves(fp, counts) -> float:
    """Mean insertion-sort moves per classified window of the held-out recording (all sorting features)."""
    win = fp.segmenter.build().transform(counts, fp.classes)
    if len(win) == 0:
        return 0.0
    chans = list(fp.channels)
    total = np.zeros(len(win))
    for name in fp.selected_names:
        use = M.parse_feature(name)
        if use.function not in M.SORTING:
            continue
        for i, x in enumerate(win.X.astype(np.float32)):
            if use.channel.endswith("Mag"):
                a, b, c = (x[:, j] for j, ch in enumerate(chans) if ch.lower().startswith(use.channel[:3].lower()))
                v = np.sqrt((a * a + b * b) + c * c)
            else:
                v = x[:, chans.index(use.channel)]
            total[i] += inversions(v)
    return float(total.mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "cost_fidelity")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = ap.parse_args(argv)

    from automl.export import write_firmware
    from automl.pipeline import FittedPipeline
    from automl.search import SearchRequest, validation_plan
    from automl.search._objective import TrialFailed, run_trial
    from automl.search._runner import load_data
    from automl.search._space import load_space

    space_path = REPO / "search_spaces" / "boxing.yaml"
    space = load_space(space_path)
    space = space.model_copy(update={
        "search": space.search.model_copy(update={"cv_folds": 2, "seeds": 1}),
        "model": space.model.model_copy(update={"epochs": args.epochs, "patience": 5})})
    req = SearchRequest(study="fidelity", space_path=space_path, data=args.data)
    train, test, _, scale = load_data(req, space)
    data = validation_plan(space, train, test, args.seed)
    # Budgets far above any trial: every drawn pipeline is trained and exported.
    roomy = TargetProfile(name="roomy", clock_mhz=80, flash_bytes=1 << 24, ram_bytes=1 << 24, latency_ms=1e6)
    args.work.mkdir(parents=True, exist_ok=True)
    held_ds = test.subset([HELD_OUT])
    held = held_ds.captures[0].data.astype(np.int16)
    recording = args.work / "held-out.csv"
    np.savetxt(recording, held, fmt="%d", delimiter=",")
    cpi = float(load_constants()["cpi"]["value"])

    rows = []
    estimate_ms: list[float] = []
    t0 = time.time()
    for number, params in enumerate(draw_params(space, args.trials, args.seed)):
        try:
            outcome = run_trial(data, space, params, roomy, seed=0, study="fidelity", trial_number=number,
                                sample_scale=scale)
        except TrialFailed as exc:
            print(f"trial {number}: failed ({exc}); skipped", flush=True)
            continue
        pj = json.loads(outcome.artifacts["pipeline.json"])
        fp = FittedPipeline.from_json(outcome.artifacts["pipeline.json"].decode(), outcome.artifacts["model.tflite"])
        shape = PipelineShape.from_pipeline(fp)
        t_est = time.perf_counter()
        for _ in range(50):
            est = estimate_cost(shape, roomy)
        estimate_ms.append((time.perf_counter() - t_est) / 50 * 1e3)
        folder = args.work / f"fw-{number}"
        build = args.work / f"build-{number}"
        shutil.rmtree(build, ignore_errors=True)
        write_firmware(fp.tflite, pj, folder, study="fidelity", trial=number, overwrite=True, measure=False)
        sizes = measure_export(folder, build, qemu=False)
        insns = run_qemu(folder, build, recording)
        lib = sizes["library"]
        measured = {"flash": lib["flash_bytes"], "ram": lib["ram_bytes"] + sizes["stack_bytes_bound"],
                    "cycles": insns["classify"]["mean"] * cpi}
        estimated = {"flash": est.flash_bytes, "ram": est.ram_bytes, "cycles": est.cycles}
        err = {k: (estimated[k] - measured[k]) / measured[k] * 100 for k in measured}
        # The insertion sort's work depends on the data: the estimate assumes the calibrated mean
        # (sort_shift_fraction x W(W-1)/4 per sort); here the held-out windows' actual moves.
        C = load_constants()
        W = fp.segmenter.window_size
        n_sorts = sum(M.parse_feature(n).function in M.SORTING for n in fp.selected_names)
        moves_est = C["sort_shift_fraction"]["value"] * n_sorts * W * (W - 1) / 4
        moves = actual_sort_moves(fp, held_ds) if n_sorts else 0.0
        cycles_data = est.cycles + (moves - moves_est) * C["classify"]["sort:shift"] * cpi
        err["cycles_given_sort_moves"] = (cycles_data - measured["cycles"]) / measured["cycles"] * 100
        seg = fp.segmenter
        row = {"trial": number, "segmenter": seg.kind, "window": seg.window_size, "k": len(fp.selected_names),
               "sorts": n_sorts, "sort_moves": {"estimated": moves_est, "actual": moves},
               "layers": fp.layers, "quantization": fp.quantization, "windows": insns["classify"]["calls"],
               "vote": fp.vote, "refractory": fp.refractory,
               "features": list(fp.selected_names), "measured": measured, "estimated": estimated, "error_pct": err,
               "estimated_breakdown": est.breakdown}
        rows.append(row)
        print(f"trial {number:2d} {seg.kind:9s} W={seg.window_size:3d} k={len(fp.selected_names):2d} "
              f"{fp.quantization:7s} layers={fp.layers!s:12s} vote={fp.vote} refr={fp.refractory:3d} | flash {estimated['flash']:6d} / {measured['flash']:6d} "
              f"{err['flash']:+6.2f}% | RAM {estimated['ram']:6d} / {measured['ram']:6d} {err['ram']:+6.2f}% | "
              f"cycles {estimated['cycles']:9.0f} / {measured['cycles']:9.0f} {err['cycles']:+6.2f}% "
              f"({insns['classify']['calls']} windows; {n_sorts} sorts, moves {moves_est:.0f} est / {moves:.0f} "
              f"actual -> {err['cycles_given_sort_moves']:+.2f}%)", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(build, ignore_errors=True)
    if not rows:
        print("no trial could be measured", file=sys.stderr)
        return 1
    print(f"\n{len(rows)} trials ({time.time() - t0:.0f} s); estimate vs measured, absolute % error "
          f"(cycles = instructions x CPI {cpi}):")
    ok = True
    for k, limit in TARGETS.items():
        e = np.abs([r["error_pct"][k] for r in rows])
        good = bool((e <= limit).all())
        ok &= good
        print(f"  {k:6s}  max {e.max():6.2f} %  mean {e.mean():6.2f} %  target <= {limit:g} % for every trial: "
              f"{'met' if good else 'MISSED'} ({int((e <= limit).sum())}/{len(rows)})")
    print(f"  estimate_cost: {np.median(estimate_ms):.2f} ms per call (median over the trials; a trial's cost "
          "is known before any training)")
    e = np.abs([r["error_pct"]["cycles_given_sort_moves"] for r in rows])
    print(f"  cycles with the held-out windows' actual insertion-sort moves instead of the expected ones: "
          f"max {e.max():.2f} %  mean {e.mean():.2f} % (the rest of the model, without the data dependence)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
