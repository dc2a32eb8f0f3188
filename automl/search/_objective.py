"""One trial of the search: parameters -> configuration, cost gate, scoring, result.

Runs inside a Ray worker (or in-process); reads only its inputs and returns
plain data. It never touches the study storage or writes files: the driver
owns both (one owner of trial history). How a configuration is trained and
scored is :mod:`automl.evaluation`'s business; this module maps the trial's
parameters to a :class:`~automl.evaluation.PipelineConfig`, rejects a pipeline
over the target's budgets before any training, decides how many training
seeds the trial deserves, and packs the result.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from automl.cost import PipelineShape, TargetProfile, budget_share, estimate_cost
from automl.evaluation import PipelineConfig, TrialData, TrialFailed, cross_validate, fit_final, prepare
from automl.postprocessing import PostProcessSpec
from automl.search._space import FAMILIES, SearchSpace

COST_NAMES = ("flash_bytes", "ram_bytes", "latency_ms")
DIRECTIONS = ("maximize", "minimize", "minimize", "minimize")

# Fault injection for the failure tests: "N:kind,M:kind" with kind raise | nan | kill | hang,
# applied to trial number N inside the worker. Never set in normal use.
FAULT_ENV = "AUTOML_FAULT_INJECT"

__all__ = ["COST_NAMES", "DIRECTIONS", "FAULT_ENV", "TrialFailed", "TrialOutcome", "config_from_params",
           "objective_names", "run_trial", "trial_task"]


def objective_names(space: SearchSpace) -> list[str]:
    """Names of the four objectives: ``event_f1`` or ``macro_f1``, then the costs."""
    return ["event_f1" if space.objective == "event_f1" else "macro_f1", *COST_NAMES]


@dataclass
class TrialOutcome:
    """What a finished trial hands back to the driver.

    Attributes:
        values: ``[validation F1 (mean over seeds), flash bytes, RAM bytes, latency ms]``.
        user_attrs: JSON-able attributes (see docs/CONTRACTS.md).
        artifacts: ``{file name: bytes}`` for the trial's artifact folder
            (``model.tflite``, ``pipeline.json``).
    """

    values: list[float]
    user_attrs: dict
    artifacts: dict[str, bytes] = field(default_factory=dict)


def _inject_fault(trial_number: int, params: dict) -> dict:
    """Apply :data:`FAULT_ENV` to this trial (tests only); returns the (maybe altered) params."""
    spec = os.environ.get(FAULT_ENV, "")
    for item in filter(None, spec.split(",")):
        number, _, kind = item.partition(":")
        if int(number) != trial_number:
            continue
        if kind == "raise":
            raise RuntimeError(f"injected failure in trial {trial_number}")
        if kind == "kill":
            os.kill(os.getpid(), 9)
        if kind == "hang":
            time.sleep(3600)
        if kind == "nan":  # an infinite learning rate: the first update makes the loss NaN
            params = dict(params, learning_rate=float("inf"))
    return params


def config_from_params(params: dict, space: SearchSpace) -> PipelineConfig:
    """The :class:`~automl.evaluation.PipelineConfig` of a trial's full parameter set.

    Args:
        params: every active parameter (:meth:`SearchSpace.complete`).
        space: the search space (settings that are not parameters: epochs,
            patience, frequency bands, ...).

    Raises:
        TrialFailed: if a parameter is missing.
    """
    try:
        n_layers = int(params["n_layers"])
        thr = {k: params[k] for k in ("thr_column", "thr_mode", "thr_quantile", "thr_detection_window",
                                      "thr_lookback") if k in params}
        return PipelineConfig(
            segmenter=str(params["segmenter"]), window_size=int(params["window_size"]), slide=int(params["slide"]),
            families=tuple(f for f in FAMILIES if params.get(f"family_{f}") is True), k=int(params["k"]),
            layers=tuple(int(params[f"units_l{i}"]) for i in range(1, n_layers + 1)),
            quantization=str(params["quantization"]), magnitude=bool(params["magnitude"]),
            frequency_bands=space.features.frequency_bands, n_estimators=space.features.n_estimators,
            dropout=float(params["dropout"]) if n_layers else 0.0,  # dropout follows hidden layers only
            learning_rate=float(params["learning_rate"]),
            epochs=space.model.epochs, batch_size=space.model.batch_size, patience=space.model.patience,
            unknown_threshold=float(params.get("unknown_threshold", 0.0)),
            post=PostProcessSpec(int(params.get("vote", 1)), int(params.get("refractory", 0))),
            objective=space.objective, fast_training=space.model.fast_training, **thr)
    except KeyError as exc:
        raise TrialFailed(f"parameter {exc} is missing from the trial") from None


def told_costs(cost, target: TargetProfile, resolution: float) -> list[float]:
    """``[flash bytes, RAM bytes, latency ms]`` as told to the sampler.

    With ``resolution > 0`` (``search.cost_resolution``) each cost is rounded up
    to the next multiple of ``resolution`` times its budget, so savings too
    small to matter on the device tie and the objective decides; 0 tells the
    exact estimates. The exact figures are always in the trial's ``cost``
    attribute.
    """
    exact = [float(cost.flash_bytes), float(cost.ram_bytes), float(cost.latency_ms)]
    if resolution <= 0:
        return exact
    steps = [resolution * target.flash_bytes, resolution * target.ram_bytes, resolution * target.latency_ms]
    return [float(np.ceil(v / st - 1e-9) * st) for v, st in zip(exact, steps)]


def near_front(value: float, costs: list[float], front: np.ndarray | None, margin: float,
               budgets: tuple[float, float, float]) -> bool:
    """Whether a first score is worth more training seeds: no trial beats it by more than ``margin`` for less.

    "Less" is the recommendation's measure of cost, the *budget share*
    (:func:`automl.cost.budget_share`: the largest of flash, RAM and latency
    over their budgets). A trial is re-scored unless some trial of
    the front has ``F1 >= value + margin`` at no larger budget share: then it
    could never be the recommended trial nor join the front's good end. (The
    4-objective front is enough to look at: a trial beating this one in F1 and
    share is on it, or dominated by a trial of it that beats this one too.)

    Args:
        value: the trial's first-seed objective (F1, maximised).
        costs: its ``[flash, RAM, latency]`` (bytes, bytes, ms).
        front: ``(n, 4) float64`` values of the current feasible Pareto front
            (F1 first), or None / empty (every trial qualifies).
        margin: F1 noise allowance (``search.rescore_margin``).
        budgets: the target's flash, RAM and latency budgets (bytes, bytes, ms).

    Returns:
        False if some front point has ``F1 >= value + margin`` and no larger budget share.
    """
    if front is None or len(front) == 0:
        return True
    f = np.asarray(front, float).reshape(-1, 4)
    share = budget_share([costs], budgets)[0]
    beaten = (f[:, 0] >= value + margin) & (budget_share(f[:, 1:], budgets) <= share)
    return not bool(beaten.any())


def trial_task(data: TrialData, space: SearchSpace, params: dict, target: TargetProfile, seed: int, study: str,
               trial_number: int, sample_scale: dict, cache_dir: str | None = None, data_seed: int | None = None,
               front: np.ndarray | None = None) -> TrialOutcome:
    """The Ray task of one trial: :func:`run_trial` plus where it ran.

    Adds ``node_id`` and ``worker_pid`` to the trial's attributes.
    """
    params = _inject_fault(trial_number, params)
    outcome = run_trial(data, space, params, target, seed, study, trial_number, sample_scale,
                        cache_dir=cache_dir, data_seed=data_seed, front=front)
    try:
        import ray

        outcome.user_attrs["node_id"] = ray.get_runtime_context().get_node_id()
    except Exception:  # not inside Ray
        outcome.user_attrs["node_id"] = None
    outcome.user_attrs["worker_pid"] = os.getpid()
    return outcome


def _shape(p, config: PipelineConfig, train, study: str) -> PipelineShape:
    spec = p.spec
    return PipelineShape(
        window_size=spec.window_size, slide=spec.slide, n_channels=len(train.channels),
        selected_features=tuple(p.selected_names), layers=(*config.layers, len(p.classes)),
        quantization=config.quantization, segmenter=spec.kind, threshold_column=spec.column,
        threshold_mode=spec.mode, detection_window=spec.detection_window or 1, lookback=spec.lookback,
        channels=tuple(train.channels), class_names=tuple(p.classes), unknown_threshold=config.unknown_threshold,
        vote=config.post.vote, refractory=config.post.refractory, study=study, dataset=train.name)


def run_trial(data: TrialData, space: SearchSpace, params: dict, target: TargetProfile, seed: int = 0,
              study: str = "", trial_number: int = -1, sample_scale: dict | None = None,
              cache_dir: str | None = None, data_seed: int | None = None,
              front: np.ndarray | None = None) -> TrialOutcome:
    """Score one pipeline configuration.

    Inputs are ADC counts (``automl.data.to_counts``), as on the device.
    The shipped pipeline's segmenter and feature selection are fitted first
    (:func:`automl.evaluation.prepare`) and its cost estimated; a pipeline
    over the target's budgets is returned at once as *infeasible*
    (``user_attrs["infeasible"]``, F1 0, no artifacts), before any training.
    Otherwise it is cross-validated with the trial's training seed
    (:func:`automl.evaluation.cross_validate`); if that first score is near
    the good end of the front (:func:`near_front`: no trial is better by more
    than ``search.rescore_margin`` at a lower budget share), with
    ``search.seeds - 1`` more seeds, and the objective is the mean
    (``seed_scores``, ``f1_std``).
    The shipped model is then trained on all training windows and scored
    once on the held-out captures (reported, never optimised).

    No TensorFlow state crosses trials: the fast training path creates fresh
    variables per call and keeps only stateless traced graphs; the plain path
    (``model.fast_training: false``) clears the Keras session first. A trial's
    result is the same whatever ran before it in the process (tested).

    Args:
        data: the study's data, folds and validation streams
            (:func:`automl.evaluation.plan_validation`).
        space: the search space.
        params: the trial's parameters (every active one, fixed included).
        target: target profile (budgets, clock).
        seed: the first training seed; further seeds are ``seed + 1000 * i``.
        study, trial_number: recorded in ``pipeline.json``.
        sample_scale: counts per sensor unit per channel (recorded for export).
        cache_dir: window/feature cache folder (default ``<temp>/automl-cache``).
        data_seed: seed of the selector's forests (default ``seed``); the
            search passes the study seed so trials share forest fits.
        front: ``(n, 4)`` values of the study's current feasible front (the
            driver's view when the trial started), for the re-scoring decision.

    Returns:
        The objective values, attributes and artifacts.

    Raises:
        TrialFailed: with a one-line reason (no windows, a single class, no
            feature family, a missing parameter, ...).
        FloatingPointError: if a training loss becomes NaN.
    """
    import keras

    t0 = time.perf_counter()
    config = config_from_params(params, space)
    if not config.fast_training:
        # model.fit builds Keras graph state; start each trial from none. The fast
        # path holds none across calls (fresh variables, stateless traced graphs) and
        # clearing would throw its traced graphs away (~0.2 s per graph and trial).
        keras.backend.clear_session()
    dseed = seed if data_seed is None else int(data_seed)
    p = prepare(data, config, dseed, cache_dir)
    cost = estimate_cost(_shape(p, config, data.train, study), target)
    summary = {"segmenter": asdict(p.spec), "families": list(config.families), "selected_names": p.selected_names,
               "layers": list(config.layers), "quantization": config.quantization,
               "vote": config.post.vote, "refractory": config.post.refractory,
               "unknown_threshold": config.unknown_threshold}
    base = {"objective": space.objective, "cost": cost.as_dict(), "n_windows": {"train": len(p.win_train),
                                                                                  "test": len(p.win_test)}}
    over = cost.over_budget(target)
    costs = told_costs(cost, target, space.search.cost_resolution)
    if over:
        return TrialOutcome(values=[0.0, *costs], artifacts={}, user_attrs={
            **base, "infeasible": True, "over_budget": over, "pipeline": summary,
            "duration_s": time.perf_counter() - t0, "cache_hit": p.windower.hits[0] == p.windower.hits[1]})

    scores = [cross_validate(p, seed)]
    budgets = (float(target.flash_bytes), float(target.ram_bytes), float(target.latency_ms))
    if space.search.seeds > 1 and near_front(scores[0].value, costs, front, space.search.rescore_margin, budgets):
        scores += [cross_validate(p, seed + 1000 * i) for i in range(1, space.search.seeds)]
    values = np.array([s.value for s in scores])
    epochs = int(np.median([e for s in scores for e in s.best_epochs]))
    final = fit_final(p, seed, epochs, sample_scale, study, trial_number)
    first = scores[0]
    pipe = json.loads(final.pipeline.to_json())
    for key in ("scaler_min", "scaler_max", "feature_names"):
        pipe.pop(key)
    pipe["n_features_total"] = len(p.feature_names)
    attrs = {
        **base,
        "infeasible": False,
        "val_metrics": first.window_metrics,
        "val_events": first.events,
        "seed_scores": [float(v) for v in values],
        "f1_std": float(values.std(ddof=1)) if len(values) > 1 else None,
        "n_seeds": len(values),
        # Never recommended: one decision for every validation window, or for every training window of the
        # shipped model. The held-out flag is shown, not used for any choice.
        "collapsed": len(first.predicted_classes) <= 1 or len(final.train_predicted_classes) <= 1,
        "collapsed_test": len(final.test_predicted_classes) == 1,
        "no_background": data.has_background and not p.has_background,
        "test_metrics": final.test_metrics,
        "test_events": final.test_events,
        "test_events_by_capture": final.test_events_by_capture,
        "trigger_diagnostics": final.diagnostics,
        "pipeline": pipe,
        "duration_s": time.perf_counter() - t0,
        "cache_hit": p.windower.hits[0] == p.windower.hits[1],
        "forest_cache_hits": f"{p.forest_hits[0]}/{p.forest_hits[1]}",
    }
    return TrialOutcome(values=[float(values.mean()), *costs], user_attrs=attrs,
                        artifacts={"model.tflite": final.tflite, "pipeline.json": final.pipeline.to_json().encode()})
