"""One trial in-process on BasicMotions: budgets before training, seeds, flags, isolation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from automl.cost import load_target
from automl.evaluation import forest_importances, plan_validation
from automl.evaluation import _cache
from automl.search._objective import config_from_params, near_front, run_trial, told_costs
from automl.search._runner import SearchRequest, load_data
from automl.search._space import load_space
from automl.selection import TreeSelector

SPACE = Path(__file__).with_name("tiny_space.yaml")
PARAMS = dict(segmenter="sliding", window_size=50, slide=50, family_Statistical=True, magnitude=True, k=8,
              n_layers=1, units_l1=6, dropout=0.0, learning_rate=0.01, quantization="int8", vote=1, refractory=0,
              unknown_threshold=0.0)


@pytest.fixture(scope="module")
def data():
    space = load_space(SPACE)
    train, test, _, scale = load_data(SearchRequest(study="t", space_path=SPACE, dataset="basic-motions"), space)
    return space, plan_validation(train, test, space.search.cv_folds, seed=0, streams="captures"), scale


def test_over_budget_trial_is_infeasible_and_untrained(data, monkeypatch):
    space, plan, scale = data
    import automl.model

    def no_training(*a, **k):
        raise AssertionError("an infeasible trial must not train")

    monkeypatch.setattr(automl.model, "train_mlp", no_training)
    tight = load_target("cortex-m4f-80mhz").model_copy(update={"ram_bytes": 512})
    out = run_trial(plan, space, PARAMS, tight, 0, "t", 0, scale)
    assert out.user_attrs["infeasible"] is True and out.artifacts == {}
    cost = out.user_attrs["cost"]
    ram = cost["ram_bytes"]
    # Told to the sampler: the costs rounded up to 1 % of each budget (search.cost_resolution's default).
    steps = (0.01 * tight.flash_bytes, 0.01 * tight.ram_bytes, 0.01 * tight.latency_ms)
    told = [np.ceil(v / st - 1e-9) * st for v, st in zip((cost["flash_bytes"], ram, cost["latency_ms"]), steps)]
    assert out.values == pytest.approx([0.0, *told]) and out.values[2] >= ram
    assert out.user_attrs["over_budget"] == [f"RAM {ram} B > 512 B"]
    # The window buffer alone (50 samples x 6 channels x 2 bytes) is over 512 B.
    assert out.user_attrs["cost"]["breakdown"]["ram"]["window_buffer"] == 600


def test_feasible_trial_trains_and_scores(data):
    space, plan, scale = data
    out = run_trial(plan, space, PARAMS, load_target("cortex-m4f-80mhz"), 0, "t", 0, scale)
    attrs = out.user_attrs
    assert attrs["infeasible"] is False and set(out.artifacts) == {"model.tflite", "pipeline.json"}
    # BasicMotions: 40 training cases of 100 samples -> 2 windows of 50 each; every one validated once.
    assert attrs["n_windows"] == {"train": 80, "test": 80}
    assert sum(map(sum, attrs["val_metrics"]["confusion"])) + sum(attrs["val_metrics"]["unknown"]) == 80
    # No background: no event metrics, pooled or per held-out capture.
    assert attrs["val_events"] is None and attrs["test_events"] is None and attrs["test_events_by_capture"] is None
    # No front yet: the trial is re-scored with the space's 3 seeds and the objective is their mean.
    assert attrs["n_seeds"] == 3 and len(attrs["seed_scores"]) == 3
    assert out.values[0] == pytest.approx(np.mean(attrs["seed_scores"]))
    assert attrs["f1_std"] == pytest.approx(np.std(attrs["seed_scores"], ddof=1))
    assert attrs["seed_scores"][0] == attrs["val_metrics"]["macro_f1"]
    assert attrs["collapsed"] is False and attrs["no_background"] is False


def test_a_trial_far_behind_the_front_gets_one_seed(data):
    space, plan, scale = data
    front = np.array([[1.0, 0.0, 0.0, 0.0]])  # perfect and free: nothing comes within the margin
    out = run_trial(plan, space, PARAMS, load_target("cortex-m4f-80mhz"), 0, "t", 0, scale, front=front)
    assert out.user_attrs["n_seeds"] == 1 and out.user_attrs["f1_std"] is None


def test_a_model_deciding_unknown_everywhere_is_flagged_collapsed(data):
    space, plan, scale = data
    out = run_trial(plan, space, dict(PARAMS, unknown_threshold=1.0), load_target("cortex-m4f-80mhz"), 0, "t", 0,
                    scale, front=np.array([[1.0, 0.0, 0.0, 0.0]]))
    assert out.user_attrs["collapsed"] is True and out.user_attrs["collapsed_test"] is True


def test_near_front_and_told_costs():
    budgets = (10000.0, 1000.0, 10.0)
    # Budget shares: front trial 0 max(0.1, 0.5, 0.1) = 0.5; trial 1 max(0.05, 0.4, 0.05) = 0.4.
    front = np.array([[0.90, 1000, 500, 1.0], [0.80, 500, 400, 0.5]])
    assert near_front(0.86, [1000, 500, 1.0], front, 0.05, budgets) is True    # 0.90 < 0.86 + 0.05
    assert near_front(0.84, [1000, 500, 1.0], front, 0.05, budgets) is False   # trial 0: +0.06 at the same share
    assert near_front(0.84, [900, 450, 1.0], front, 0.05, budgets) is True     # share 0.45 < 0.5: only trial 1
    assert near_front(0.74, [900, 450, 1.0], front, 0.05, budgets) is False    # ... which beats it by 0.06
    # Less flash alone does not help: the share is decided by RAM here (0.5).
    assert near_front(0.84, [100, 500, 1.0], front, 0.05, budgets) is False
    assert near_front(0.0, [1, 1, 1], None, 0.05, budgets) is True
    target = load_target("cortex-m4f-80mhz")  # 65536 B flash, 16384 B RAM, 10 ms

    class C:
        flash_bytes, ram_bytes, latency_ms = 4352, 7002, 4.607

    assert told_costs(C, target, 0.0) == [4352.0, 7002.0, 4.607]
    # 1 % steps: 655.36 B, 163.84 B, 0.1 ms, rounded up.
    assert told_costs(C, target, 0.01) == pytest.approx([7 * 655.36, 43 * 163.84, 4.7])


def test_config_from_params_names_a_missing_parameter(data):
    space, _, _ = data
    from automl.evaluation import TrialFailed

    cfg = config_from_params(dict(PARAMS, vote=3, refractory=40), space)
    assert cfg.post.vote == 3 and cfg.post.refractory == 40 and cfg.layers == (6,) and cfg.families == ("Statistical",)
    with pytest.raises(TrialFailed, match="parameter 'k' is missing"):
        config_from_params({k: v for k, v in PARAMS.items() if k != "k"}, space)


def test_forest_importances_cache_equals_fresh_fit(tmp_path):
    rng = np.random.default_rng(0)
    F = rng.normal(size=(60, 7)).astype(np.float32)
    y = np.repeat([0, 1, 2], 20)
    F[:, 5] += y
    fresh = TreeSelector(k=3, n_estimators=12, random_state=3).fit(F, y).feature_importances_
    _cache._IMPORTANCES.clear()
    imp, hit = forest_importances(F, y, 12, 3, str(tmp_path))
    assert not hit and np.array_equal(imp, fresh)
    imp, hit = forest_importances(F, y, 12, 3, str(tmp_path))  # in-process
    assert hit and np.array_equal(imp, fresh)
    _cache._IMPORTANCES.clear()
    (entry,) = tmp_path.glob("*.imp.npy")
    imp, hit = forest_importances(F, y, 12, 3, str(tmp_path))  # on disk
    assert hit and np.array_equal(imp, fresh)
    _cache._IMPORTANCES.clear()
    entry.write_bytes(b"damaged")
    imp, hit = forest_importances(F, y, 12, 3, str(tmp_path))  # refitted, replaced
    assert not hit and np.array_equal(imp, fresh) and np.array_equal(np.load(entry), fresh)
    other, _ = forest_importances(F, y, 12, 4, str(tmp_path))  # another seed: another fit
    assert not np.array_equal(other, fresh)


def test_trials_share_no_state(data, tmp_path):
    """A trial gives the same model whatever ran before it in the process
    (no TensorFlow graph, Keras or cache state leaks from one trial to the next)."""
    space, plan, scale = data
    target = load_target("cortex-m4f-80mhz")
    other = dict(PARAMS, k=5, units_l1=8, quantization="float32", learning_rate=0.02)
    kw = dict(cache_dir=str(tmp_path), data_seed=0, front=np.array([[1.0, 0.0, 0.0, 0.0]]))
    first = run_trial(plan, space, PARAMS, target, 7, "t", 0, scale, **kw)
    run_trial(plan, space, other, target, 8, "t", 1, scale, **kw)
    again = run_trial(plan, space, PARAMS, target, 7, "t", 2, scale, **kw)
    # Forests: the shipped selection plus one per fold (2 folds); all from the cache the second time.
    assert again.user_attrs["forest_cache_hits"] == "3/3" and first.user_attrs["forest_cache_hits"] == "0/3"
    assert again.user_attrs["cache_hit"] and not first.user_attrs["cache_hit"]
    assert again.values == first.values
    assert again.user_attrs["val_metrics"] == first.user_attrs["val_metrics"]
    assert again.artifacts["model.tflite"] == first.artifacts["model.tflite"]


def test_a_trial_without_hidden_layer_is_a_linear_classifier_costed_and_stored(data):
    """n_layers = 0: one Dense layer (features -> classes) with softmax; no dropout parameter; the cost
    model's .tflite and network terms are those of widths [k, n_classes]."""
    space, plan, scale = data
    params = {k: v for k, v in PARAMS.items() if k not in ("units_l1", "dropout")} | {"n_layers": 0}
    assert config_from_params(params, space).layers == () and config_from_params(params, space).dropout == 0.0
    out = run_trial(plan, space, params, load_target("cortex-m4f-80mhz"), 0, "t", 0, scale,
                    front=np.array([[1.0, 0.0, 0.0, 0.0]]))
    pipe = out.user_attrs["pipeline"]
    assert out.user_attrs["infeasible"] is False and pipe["layers"] == []
    from automl.quantization import read_tflite_info

    info = read_tflite_info(out.artifacts["model.tflite"])
    assert info.operators == ("FULLY_CONNECTED", "SOFTMAX")
    # Activations of 8 features -> 4 classes (BasicMotions), int8: the C's scratch[KP_MLP_SCRATCH + 1] with no
    # hidden layer is 1 byte, plus 4 int8 logits and 4 int8 probabilities = 9 bytes.
    assert out.user_attrs["cost"]["breakdown"]["ram"]["activations"] == 1 + 2 * 4
