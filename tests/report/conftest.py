"""Synthetic studies for the report tests.

Synthetic studies test the report machinery (size, speed, drawing, escaping);
no accuracy claim is made from them. Trials are built with
``optuna.trial.create_trial`` and carry the attributes ``run_trial`` stores
(docs/CONTRACTS.md): metrics with confusion / unknown / per_class, event
metrics, cost with its breakdown, the pipeline summary, constraints.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

optuna.logging.set_verbosity(optuna.logging.WARNING)

SYNTH_CLASSES = ["NoActivity", "hook", "jab", "uppercut"]
SYNTH_TARGET = {"name": "cortex-m4f-80mhz", "core": "cortex-m4f", "clock_mhz": 80.0, "flash_bytes": 65536,
                "ram_bytes": 16384, "latency_ms": 10.0, "runtime": "automl-c", "description": "synthetic"}
SYNTH_DISTRIBUTIONS = {
    "segmenter": CategoricalDistribution(["sliding", "threshold"]),
    "window_size": IntDistribution(60, 240, step=20),
    "slide": IntDistribution(10, 80, step=10),
    "k": IntDistribution(4, 32),
    "n_layers": IntDistribution(1, 3),
    "units_l1": IntDistribution(4, 32, log=True),
    "dropout": FloatDistribution(0.0, 0.3),
    "learning_rate": FloatDistribution(1e-3, 2e-2, log=True),
    "quantization": CategoricalDistribution(["int8", "float32"]),
    "magnitude": CategoricalDistribution([True, False]),
}
_FEATURES = [f"{fam}.{gen}[{ch}]" for fam, gen in (("Statistical", "mean"), ("Statistical", "std"),
                                                   ("Statistical", "p25"), ("Shape", "zero_crossings"),
                                                   ("Area", "abs_area"), ("Frequency", "band_energy_0of4"))
             for ch in ("accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ", "accMag", "gyrMag")]


def _metrics(rng: np.random.Generator, f1: float, n: int) -> dict:
    k = len(SYNTH_CLASSES)
    cm = rng.integers(0, max(2, int(n * (1 - f1) / k)), size=(k, k))
    cm[np.diag_indices(k)] = rng.integers(int(n * f1 / k), int(n * f1 / k) + 5, size=k)
    unknown = rng.integers(0, 3, size=k)
    support = cm.sum(axis=1) + unknown
    per_class = {}
    for i, c in enumerate(SYNTH_CLASSES):
        sens = cm[i, i] / support[i]
        ppv = cm[i, i] / max(1, cm[:, i].sum())
        per_class[c] = {"sensitivity": float(sens), "pos_pred": float(ppv),
                        "f1": float(2 * sens * ppv / (sens + ppv)) if sens + ppv else 0.0, "support": int(support[i])}
    return {"macro_f1": f1, "accuracy": float(np.trace(cm) / support.sum()), "n_windows": int(support.sum()),
            "classes": SYNTH_CLASSES, "confusion": cm.tolist(), "unknown": unknown.tolist(), "per_class": per_class}


def synthetic_trials(n_trials: int = 1000, seed: int = 0, n_fail: int = 20, n_pruned: int = 10,
                     n_running: int = 5) -> list[optuna.trial.FrozenTrial]:
    """``n_trials`` frozen trials: complete (some over budget), failed, pruned and running."""
    rng = np.random.default_rng(seed)
    t0 = dt.datetime(2026, 11, 28, 22, 0, 0)
    trials = []
    n_special = n_fail + n_pruned + n_running
    special = dict.fromkeys(rng.choice(np.arange(n_trials - n_running), n_fail + n_pruned, replace=False).tolist(),
                            TrialState.FAIL)
    for i, key in enumerate(sorted(special)):
        if i >= n_fail:
            special[key] = TrialState.PRUNED
    for number in range(n_trials):
        p = {
            "segmenter": str(rng.choice(["sliding", "threshold"])),
            "window_size": int(rng.integers(3, 13) * 20),
            "slide": int(rng.integers(1, 9) * 10),
            "k": int(rng.integers(4, 33)),
            "n_layers": int(rng.integers(1, 4)),
            "units_l1": int(np.exp(rng.uniform(np.log(4), np.log(32)))),
            "dropout": float(rng.uniform(0, 0.3)),
            "learning_rate": float(np.exp(rng.uniform(np.log(1e-3), np.log(2e-2)))),
            "quantization": str(rng.choice(["int8", "float32"])),
            "magnitude": bool(rng.integers(0, 2)),
        }
        start = t0 + dt.timedelta(seconds=number * 28.0 / 2 + float(rng.uniform(0, 5)))
        if number >= n_trials - n_running:
            t = create_trial(state=TrialState.RUNNING, params=p, distributions=SYNTH_DISTRIBUTIONS)
            t.datetime_start = start
            trials.append(t)
            continue
        state = special.get(number, TrialState.COMPLETE)
        if state != TrialState.COMPLETE:
            t = create_trial(state=state, params=p, distributions=SYNTH_DISTRIBUTIONS,
                             user_attrs={"fail_reason": f"synthetic failure {number}"} if state == TrialState.FAIL
                             else {})
        else:
            quality = (1 - abs(p["window_size"] - 160) / 200) * (0.6 + 0.4 * min(p["k"], 20) / 20)
            f1 = float(np.clip(0.25 + 0.65 * quality * (0.85 if p["quantization"] == "int8" else 1.0)
                               + rng.normal(0, 0.05), 0.05, 0.99))
            q = 1 if p["quantization"] == "int8" else 4
            model = p["k"] * p["units_l1"] * q * (1 + p["n_layers"]) * 6 + int(rng.integers(0, 5000))
            flash = float(1500 + p["k"] * 90 + model)
            ram = float(p["window_size"] * 6 * 2 * (2 if p["magnitude"] else 1) + p["k"] * 5 + 256
                        + int(rng.integers(0, 3000)))
            cycles = int(p["window_size"] * p["k"] * 40 + model * 2 + 700 + rng.integers(0, 400000))
            latency = float(cycles / 80e3)
            names = list(rng.choice(_FEATURES, p["k"], replace=False))
            imps = sorted(rng.dirichlet(np.ones(p["k"])).tolist(), reverse=True)
            pipeline = {
                "channels": ["accZ", "accY", "accX", "gyrZ", "gyrY", "gyrX"], "sample_rate_hz": 100.0,
                "classes": SYNTH_CLASSES,
                "segmenter": {"kind": p["segmenter"], "window_size": p["window_size"], "slide": p["slide"],
                              "column": "accMag" if p["segmenter"] == "threshold" else None,
                              "mode": "std" if p["segmenter"] == "threshold" else None,
                              "detection_window": 10 if p["segmenter"] == "threshold" else None,
                              "threshold": 1234.0 if p["segmenter"] == "threshold" else None,
                              "lookback": 30 if p["segmenter"] == "threshold" else 0, "quantile": None},
                "window_size": p["window_size"], "slide": p["slide"],
                "families": ["Statistical", "Shape", "Area", "Frequency"], "magnitude": p["magnitude"],
                "selected": list(range(p["k"])), "selected_names": names, "importances": imps,
                "layers": [p["units_l1"]] * p["n_layers"], "quantization": p["quantization"],
                "dropout": p["dropout"], "learning_rate": p["learning_rate"], "epochs": 40,
                "tflite_bytes": model, "n_features_total": len(_FEATURES),
            }
            events = {"precision": f1, "recall": f1, "f1": f1, "false_activations_per_hour": 1.0, "n_events": 240,
                      "per_class": {c: {"recall": f1} for c in SYNTH_CLASSES[1:]}}
            attrs = {
                "val_metrics": _metrics(rng, f1, 1200), "test_metrics": _metrics(rng, max(0.05, f1 - 0.05), 260),
                "val_events": events, "test_events": dict(events, f1=max(0.0, f1 - 0.04)),
                "trigger_diagnostics": None,
                "cost": {"flash_bytes": flash, "ram_bytes": ram, "latency_ms": latency, "cycles": cycles,
                         "breakdown": {"flash": {"model_constants": model, "feature_code": p["k"] * 90,
                                                 "runtime": 420, "inference_code": 358, "scaler": 722},
                                       "ram": {"window_buffer": ram - p["k"] * 5 - 256, "feature_vector": p["k"] * 5,
                                               "stack": 256},
                                       "cycles": {"features": cycles - model * 2 - 700, "inference": model * 2,
                                                  "overhead": 700}}},
                "pipeline": pipeline, "duration_s": float(rng.uniform(8, 60)),
                "artifact_dir": f"artifacts/trial-{number}", "node_id": "synthetic",
            }
            constraints = {"flash_over_budget_bytes": flash - SYNTH_TARGET["flash_bytes"],
                           "ram_over_budget_bytes": ram - SYNTH_TARGET["ram_bytes"],
                           "latency_over_budget_ms": latency - SYNTH_TARGET["latency_ms"]}
            t = create_trial(state=TrialState.COMPLETE, values=[f1, flash, ram, latency], params=p,
                             distributions=SYNTH_DISTRIBUTIONS, user_attrs=attrs, constraints=constraints)
        t.datetime_start = start
        t.datetime_complete = start + dt.timedelta(seconds=float(rng.uniform(8, 60)))
        trials.append(t)
    assert len(trials) == n_trials and n_special < n_trials
    return trials


def make_synthetic_study(name: str = "synthetic", n_trials: int = 1000, seed: int = 0,
                         storage: optuna.storages.BaseStorage | None = None, **kw) -> optuna.Study:
    study = optuna.create_study(study_name=name, storage=storage,
                                directions=["maximize", "minimize", "minimize", "minimize"])
    for key, value in {"dataset": "boxing-punches", "data_source": "/nonexistent/boxing-punches",
                       "classes": SYNTH_CLASSES, "target": SYNTH_TARGET, "test_glob": "acc_gyr_experiment_all_*",
                       "objective_names": ["macro_f1", "flash_bytes", "ram_bytes", "latency_ms"],
                       "test_captures": ["acc_gyr_experiment_all_left", "acc_gyr_experiment_all_right"]}.items():
        study.set_user_attr(key, value)
    study.add_trials(synthetic_trials(n_trials, seed, **kw))
    return study


@pytest.fixture(scope="session")
def synthetic_study() -> optuna.Study:
    """A 1,000-trial synthetic study (in memory)."""
    return make_synthetic_study()


@pytest.fixture(scope="session")
def study_factory():
    """:func:`make_synthetic_study`, for tests that need their own (e.g. journal-backed) study."""
    return make_synthetic_study
