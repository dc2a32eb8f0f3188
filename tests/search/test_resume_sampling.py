"""A resumed study never re-proposes parameters already tried (whatever the sampler)."""

from __future__ import annotations

from pathlib import Path

import optuna
from automl.search import SearchRequest, open_storage
from automl.search._runner import MAX_REPEATS, create_or_load_study, propose, run_seed, tried_parameters
from automl.search._space import load_space
from automl.cost import load_target

optuna.logging.set_verbosity(optuna.logging.WARNING)
SPACE = Path(__file__).with_name("tiny_space.yaml")


def _small_space(tmp_path: Path) -> Path:
    """A fully discrete space: magnitude (2) x k (9) x units (5) x quantization (2) = 180 configurations."""
    path = tmp_path / "space.yaml"
    path.write_text(SPACE.read_text().replace("learning_rate: {low: 0.005, high: 0.02, log: true}",
                                              "learning_rate: 0.01"))
    return path


def _run(tmp_path: Path, space_path: Path, n: int, seed: int = 3) -> list[dict]:
    """One driver run asking ``n`` trials (told complete at once); returns their params."""
    space = load_space(space_path)
    req = SearchRequest(study="s", space_path=space_path, dataset="basic-motions", root=tmp_path, seed=seed)
    meta = {"data_fingerprint": "0" * 64}
    study = create_or_load_study(req, space, load_target(space.target), meta)
    tried = tried_parameters(study)
    out = []
    for _ in range(n):
        proposal = propose(study, space, tried)
        if proposal is None:
            break
        trial, _ = proposal
        study.tell(trial, [0.5, 1000.0, 100.0, 1.0])
        out.append(trial.params)
    return out


def test_a_resumed_run_proposes_only_new_parameters(tmp_path):
    space = _small_space(tmp_path)
    first = _run(tmp_path, space, 4)
    second = _run(tmp_path, space, 4)  # resume: same --seed, same command
    keys = [tuple(sorted(p.items())) for p in first + second]
    assert len(set(keys)) == 8, keys  # before: the seeded sampler replayed 3 of the 4 first proposals
    study = optuna.load_study(study_name="s", storage=open_storage(tmp_path / "s"))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 8
    for t in study.trials:  # a chance repeat of the new sampler's is recorded, not run
        if t.state != optuna.trial.TrialState.COMPLETE:
            assert t.state == optuna.trial.TrialState.PRUNED and t.user_attrs["skipped"].startswith("same param")


def test_run_seed_is_the_seed_for_a_new_study_and_differs_per_resume():
    assert run_seed(3, 0) == 3
    seeds = {run_seed(3, n) for n in range(1, 200)}
    assert len(seeds) == 199 and 3 not in seeds
    assert run_seed(3, 17) == run_seed(3, 17)  # a resume from the same state repeats


def test_repeats_are_skipped_and_an_exhausted_space_stops(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(_small_space(tmp_path).read_text().replace("k: {low: 4, high: 12}", "k: 8")
                    .replace("units: {low: 4, high: 8}", "units: 6").replace("magnitude: [true, false]",
                                                                             "magnitude: true"))
    params = _run(tmp_path, path, 10)  # only quantization is searched: 2 configurations
    assert sorted(p["quantization"] for p in params) == ["float32", "int8"]
    study = optuna.load_study(study_name="s", storage=open_storage(tmp_path / "s"))
    skipped = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert [t.state for t in study.trials[-MAX_REPEATS:]] == [optuna.trial.TrialState.PRUNED] * MAX_REPEATS
    first = {t.params["quantization"]: t.number for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE}
    assert all(t.user_attrs["skipped"] == f"same parameters as trial {first[t.params['quantization']]}"
               for t in skipped)


def test_requeued_parameters_run_again(tmp_path):
    space = _small_space(tmp_path)
    first = _run(tmp_path, space, 2)
    study = optuna.load_study(study_name="s", storage=open_storage(tmp_path / "s"))
    study.enqueue_trial(first[0])  # what requeue_interrupted does for an interrupted trial
    tried = tried_parameters(study)
    trial, _ = propose(study, load_space(space), tried)
    assert trial.params == first[0]
