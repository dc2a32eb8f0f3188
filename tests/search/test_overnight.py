"""The overnight search machinery: failures, timeouts, SIGKILL resume, Ctrl-C,
seeds, status, and a real two-node Ray cluster on loopback.

Slow: each test starts Ray and runs a few cheap real trials on BasicMotions
(tests/search/tiny_space.yaml).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from automl.cli import app
from automl.errors import StudyError
from automl.search import SearchRequest, _runner, load_study, run_search, trial_detail

pytestmark = pytest.mark.slow
SPACE = Path(__file__).with_name("tiny_space.yaml")
State = optuna.trial.TrialState


def _request(root: Path, study: str = "t", **kw) -> SearchRequest:
    base = dict(study=study, space_path=SPACE, dataset="basic-motions", root=root, trials=4, workers=2,
                progress=False, cache_dir=str(root / "cache"))
    base.update(kw)
    return SearchRequest(**base)


def _cli(*args: str, env=None, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "automl.cli", *args], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _trials(root: Path, study: str = "t"):
    return load_study(root, study)[0].get_trials(deepcopy=False)


def _trials_so_far(root: Path, study: str = "t"):
    """The trials of a search another process is starting: none until its journal holds the study (the file
    exists a moment before the study is written into it)."""
    try:
        return _trials(root, study)
    except StudyError:
        return []


def test_failing_trials_are_recorded_and_the_search_goes_on(tmp_path, monkeypatch):
    # trial 0 raises, 1 gets a NaN loss, 2's worker process is killed, 3 hangs past --trial-timeout.
    monkeypatch.setenv("AUTOML_FAULT_INJECT", "0:raise,1:nan,2:kill,3:hang")
    summary = run_search(_request(tmp_path, trials=7, trial_timeout_s=90))
    trials = {t.number: t for t in _trials(tmp_path)}
    reasons = {n: trials[n].user_attrs.get("fail_reason", "") for n in range(4)}
    assert all(trials[n].state == State.FAIL for n in range(4)), reasons
    assert "injected failure in trial 0" in reasons[0]
    assert "NaN" in reasons[1]
    assert "WorkerCrashedError" in reasons[2] or "died" in reasons[2]
    assert reasons[3].startswith("timeout: ran longer than --trial-timeout 90 s")
    assert summary.n_complete == 3 and summary.n_failed == 4
    assert all(t.state == State.COMPLETE and len(t.values) == 4 for t in trials.values() if t.number >= 4)


def test_sigkill_then_resume_loses_nothing(tmp_path):
    env = dict(os.environ, AUTOML_FAULT_INJECT="3:hang")  # trial 3 is surely running when we kill
    args = ["search", "--dataset", "basic-motions", "--space", str(SPACE), "--study", "t", "--trials", "6",
            "--workers", "2", "--root", str(tmp_path), "--no-progress", "--seed", "3"]
    proc = _cli(*args, env=env)
    deadline = time.monotonic() + 300
    complete_before: set[int] = set()
    while time.monotonic() < deadline:
        time.sleep(2)
        trials = _trials_so_far(tmp_path)
        complete_before = {t.number for t in trials if t.state == State.COMPLETE}
        running = [t for t in trials if t.state == State.RUNNING and t.number == 3]
        if len(complete_before) >= 2 and running:
            break
    else:
        proc.kill()
        pytest.fail("the search did not reach 2 complete trials with trial 3 running")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    interrupted_params = next(t.params for t in _trials(tmp_path) if t.number == 3)

    resumed = subprocess.run([sys.executable, "-m", "automl.cli", *args], capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    trials = {t.number: t for t in _trials(tmp_path)}
    # Nothing complete was lost; the running ones were marked failed and re-queued.
    assert complete_before <= {n for n, t in trials.items() if t.state == State.COMPLETE}
    assert trials[3].state == State.FAIL and trials[3].user_attrs["fail_reason"].startswith("interrupted")
    assert not [t for t in trials.values() if t.state in (State.RUNNING, State.WAITING)]
    requeued = [t for t in trials.values() if t.number > 3 and t.params == interrupted_params]
    assert requeued and requeued[0].state == State.COMPLETE
    done = sum(t.state == State.COMPLETE for t in trials.values())
    failed = sum(t.state == State.FAIL and not t.system_attrs.get("automl_interrupted") for t in trials.values())
    assert done + failed == 6


def test_sigterm_finishes_running_trials_and_leaves_no_running_trial(tmp_path):
    args = ["search", "--dataset", "basic-motions", "--space", str(SPACE), "--study", "t", "--trials", "40",
            "--workers", "2", "--root", str(tmp_path), "--no-progress"]
    proc = _cli(*args)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        time.sleep(1)
        if any(t.state == State.COMPLETE for t in _trials_so_far(tmp_path)):
            break
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    # The terminal says what happened: at the signal, and in the summary line.
    assert "stop requested: finishing the running trials, then stopping" in err
    assert "stopped by Ctrl-C/SIGTERM; run the same command to resume" in out
    trials = _trials(tmp_path)
    assert not [t for t in trials if t.state == State.RUNNING]
    assert 1 <= sum(t.state == State.COMPLETE for t in trials) < 40
    status = CliRunner().invoke(app, ["status", "--study", "t", "--root", str(tmp_path)])
    n = sum(t.state == State.COMPLETE for t in trials)
    assert status.exit_code == 0 and f"{n} complete, 0 failed, 0 running" in status.output


def test_timeout_without_trials_runs_until_the_wall_budget(tmp_path, monkeypatch):
    # --timeout alone is an overnight run: no trial limit; once the budget is used up no trial starts and the
    # running ones finish. The driver's clock is a fake that advances 10 s each time a trial is told, so the
    # outcome does not depend on the machine's speed or load (it used to need > 4 trials in 30 real seconds).
    now = [0.0]
    tell = _runner._tell

    def told(*args, **kw):
        tell(*args, **kw)
        now[0] += 10.0

    monkeypatch.setattr(_runner, "_clock", lambda: now[0])
    monkeypatch.setattr(_runner, "_tell", told)
    summary = run_search(_request(tmp_path, trials=None, timeout_s=45, workers=2))
    assert summary.stop_reason == "timeout"
    # The 5th trial told passes the 45 s budget; the one still running finishes; none starts after: 6 trials,
    # more than --trials' default of the old code (4 in _request).
    # (A proposal repeating tried parameters is recorded PRUNED and never run; the tiny space has few.)
    assert [t.state for t in _trials(tmp_path) if t.state != State.PRUNED] == [State.COMPLETE] * 6
    assert summary.n_complete == 6 and summary.wall_s == 60.0


def test_same_seed_same_trials_with_one_worker(tmp_path):
    cache = str(tmp_path / "cache")
    a = run_search(_request(tmp_path / "a", trials=3, workers=1, seed=11, cache_dir=cache))
    b = run_search(_request(tmp_path / "b", trials=3, workers=1, seed=11, cache_dir=cache))
    assert a.n_complete == b.n_complete == 3
    ta, tb = _trials(tmp_path / "a"), _trials(tmp_path / "b")
    assert [t.params for t in ta] == [t.params for t in tb]
    assert [t.values for t in ta] == [t.values for t in tb]
    # The cache served the second run's identical windows/features.
    assert all(trial_detail(tmp_path / "b" / "t", t)["cache_hit"] for t in tb)
    # Warm workers: one Ray worker process (TensorFlow imported once) ran all of a run's trials.
    for root, trials in ((tmp_path / "a", ta), (tmp_path / "b", tb)):
        assert len({trial_detail(root / "t", t)["worker_pid"] for t in trials}) == 1


def test_two_node_ray_cluster_on_loopback(tmp_path):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        summary = run_search(_request(tmp_path, trials=4, address=cluster.address,
                                      storage=f"sqlite:///{tmp_path / 'study.db'}"))
        import ray

        ray.shutdown()
    finally:
        cluster.shutdown()
    assert summary.n_complete == 4
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{tmp_path / 'study.db'}")
    nodes = {trial_detail(tmp_path / "t", t)["node_id"] for t in study.get_trials(states=(State.COMPLETE,))}
    assert len(nodes) == 2


def test_a_local_search_never_joins_a_foreign_ray_cluster(tmp_path, monkeypatch):
    # Another user's cluster on this machine, named in RAY_ADDRESS as `ray start` users do: Ray's default
    # ray.init() would run the trials there. Without --address the search starts its own Ray.
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    foreign = cluster.head_node.node_id
    try:
        monkeypatch.setenv("RAY_ADDRESS", cluster.address)
        summary = run_search(_request(tmp_path, trials=2, workers=1))
    finally:
        cluster.shutdown()
    assert summary.n_complete == 2
    nodes = {trial_detail(tmp_path / "t", t)["node_id"] for t in _trials(tmp_path) if t.state == State.COMPLETE}
    assert len(nodes) == 1 and foreign not in nodes


def test_a_second_search_of_a_running_study_is_refused_and_the_first_finishes(tmp_path):
    args = ["search", "--dataset", "basic-motions", "--space", str(SPACE), "--study", "t", "--trials", "4",
            "--workers", "2", "--root", str(tmp_path), "--no-progress"]
    first = _cli(*args)
    for _ in range(150):  # until the first search has started a trial (the guard only stops a hung run)
        time.sleep(2)
        if any(t.state == State.RUNNING for t in _trials_so_far(tmp_path)):
            break
    second = subprocess.run([sys.executable, "-m", "automl.cli", *args], capture_output=True, text=True, timeout=600)
    assert second.returncode == 1
    [line] = second.stderr.splitlines()
    assert line.startswith(f"error: study 't' is already being searched by pid {first.pid} on host ")
    out, err = first.communicate(timeout=900)
    assert first.returncode == 0, err  # before: UpdateFinishedTrialError, its running trials re-queued by the second
    trials = _trials(tmp_path)
    assert [t.state for t in trials] == [State.COMPLETE] * 4


def test_a_journal_torn_by_a_crash_is_repaired_and_the_search_resumes(tmp_path):
    args = ["search", "--dataset", "basic-motions", "--space", str(SPACE), "--study", "t", "--workers", "2",
            "--root", str(tmp_path), "--no-progress"]
    first = subprocess.run([sys.executable, "-m", "automl.cli", *args, "--trials", "3"], capture_output=True,
                           text=True, timeout=900)
    assert first.returncode == 0, first.stderr
    journal = tmp_path / "t" / "journal.log"
    data = journal.read_bytes()
    cut = len(data) - 30  # inside the last record (the last trial's state), then a full disk's NUL tail
    journal.write_bytes(data[:cut] + b"\0" * 3000)
    resumed = subprocess.run([sys.executable, "-m", "automl.cli", *args, "--trials", "5"], capture_output=True,
                             text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr
    kept = data[:cut].rindex(b"\n") + 1
    warning = [line for line in resumed.stderr.splitlines() if line.startswith("warning:")]
    [aside] = journal.parent.glob("journal.log.damaged-*")
    n_kept = data[:kept].count(b"\n")
    assert warning == [f"warning: {journal}: repaired a torn record at byte {kept:,}: kept {n_kept:,} complete "
                       f"records (bytes 0-{kept:,}), moved the last {cut + 3000 - kept:,} bytes to {aside.name}"]
    assert aside.read_bytes() == data[kept:cut] + b"\0" * 3000
    trials = _trials(tmp_path)
    # The torn trial lost its final state: it was left running, so the resume marked it failed and re-ran it.
    assert sum(t.state == State.COMPLETE for t in trials) == 5
    assert not [t for t in trials if t.state == State.RUNNING]
