"""The study journal file: same trials as Optuna's own backend, compact, and repaired after a torn write."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from automl.errors import StudyError
from automl.search._journal import MAX_REPAIR_BYTES, JournalFile, StudyJournal, batch_writes, repair_journal
from automl.search._space import load_space, suggest
from automl.search._storage import JOURNAL_FILE, open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)
BOXING = Path(__file__).resolve().parents[2] / "search_spaces" / "boxing.yaml"
NL = b"\n"
DIRECTIONS = ["maximize", "minimize", "minimize", "minimize"]
PARAMS = load_space(BOXING).parameters()


def _run_trials(storage, n: int, seed: int = 0, study: str = "s", params_def: dict | None = None) -> optuna.Study:
    """``n`` trials of the boxing space as the driver records them (batched params, attrs, constraints)."""
    st = optuna.create_study(study_name=study, storage=storage, directions=DIRECTIONS, load_if_exists=True,
                             sampler=optuna.samplers.NSGAIISampler(population_size=4, seed=seed))
    for i in range(n):
        trial = st.ask()
        with batch_writes(storage):
            params = {name: suggest(trial, name, d) for name, d in (params_def or PARAMS).items()}
        with batch_writes(storage):  # as the driver tells a trial: attributes and constraints in one record
            trial.set_user_attr("duration_s", 1.5 + i)
            trial.set_user_attr("infeasible", False)
            trial.set_constraint("flash_over_budget_bytes", -100.0 + i)
            trial.set_constraint("ram_over_budget_bytes", -10.0 * i)
            if i % 3 == 2:
                st.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                st.tell(trial, [0.5 + i / 100, 1000.0 + params.get("k", 0), 200.0, 1.25])
    return st


def _frozen(st: optuna.Study) -> list[tuple]:
    return [(t.number, t.state, t.params, t.distributions, t.values, t.user_attrs, t.system_attrs)
            for t in st.get_trials(deepcopy=False)]


def test_same_trials_as_optunas_own_journal_and_a_fifth_of_its_size(tmp_path):
    ours = _run_trials(StudyJournal(JournalFile(tmp_path / "ours.log")), 12)
    theirs = _run_trials(JournalStorage(JournalFileBackend(str(tmp_path / "optuna.log"))), 12)
    reread = optuna.load_study(study_name="s", storage=StudyJournal(JournalFile(tmp_path / "ours.log")))
    assert _frozen(reread) == _frozen(ours)
    # Same sampler, same seed: the same trials whichever file holds them.
    assert [x[2:5] for x in _frozen(ours)] == [x[2:5] for x in _frozen(theirs)]
    small, big = (tmp_path / "ours.log").stat().st_size, (tmp_path / "optuna.log").stat().st_size
    assert small * 5 < big, (small, big)


def test_reads_and_extends_a_journal_written_by_optuna(tmp_path):
    path = tmp_path / JOURNAL_FILE
    _run_trials(JournalStorage(JournalFileBackend(str(path))), 4)
    st = _run_trials(StudyJournal(JournalFile(path)), 3)  # resumes the same study
    again = optuna.load_study(study_name="s", storage=StudyJournal(JournalFile(path)))
    assert len(again.trials) == 7 and _frozen(again) == _frozen(st)


def test_a_trials_parameters_are_one_line(tmp_path):
    storage = StudyJournal(JournalFile(tmp_path / "j.log"))
    _run_trials(storage, 1)
    lines = [json.loads(x) for x in (tmp_path / "j.log").read_text().splitlines()]
    batches = [x for x in lines if x.get("o") == 5]
    # boxing.yaml has 26 parameters; family_Statistical is fixed (a study attribute, not written per trial),
    # so the 25 sampled ones are one record.
    assert len(PARAMS) == 26 and list(load_space(BOXING).fixed()) == ["family_Statistical"]
    assert [len(b["p"]) for b in batches] == [25]
    # The worker id and each distribution are written once and referred to by number.
    defs = [x for x in lines if "def" in x]
    assert [d["def"] for d in defs] == list(range(len(defs)))
    # 8 distinct integer ranges: window_size, slide, detection window, lookback, k, n_layers, units (l1..l3 share
    # it), refractory.
    assert sum(1 for d in defs if d["str"].startswith('{"name": "IntDistribution"')) == 8


def _journal_with_last_write(tmp_path: Path) -> tuple[Path, bytes, bytes]:
    """A study of 3 trials; returns (path, bytes before the last trial, the last trial's records)."""
    folder = tmp_path / "study"
    _run_trials(open_storage(folder), 2)
    path = folder / JOURNAL_FILE
    before = path.read_bytes()
    _run_trials(open_storage(folder), 1)
    data = path.read_bytes()
    last = data[len(before):]  # every record of the last trial, its parameter batches included
    return path, before, last


@pytest.fixture
def memory_dir(tmp_path):
    """A folder in RAM when there is one (/dev/shm): the loop below makes ~1,500 fsync'ed resumes."""
    if not Path("/dev/shm").is_dir():
        yield tmp_path
        return
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="automl-journal-test-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_torn_at_every_byte_offset_of_the_last_trials_records_then_resumed(memory_dir, capsys):
    path, before, last = _journal_with_last_write(memory_dir)
    whole = before + last
    first = _frozen(optuna.load_study(study_name="s", storage=StudyJournal(JournalFile(path))))
    n_before = len(first)
    first = first[:n_before - 1]
    lines_end = [i + 1 for i, b in enumerate(whole) if b == ord("\n")]
    last_line = whole.rindex(NL, 0, len(whole) - 1) + 1
    cases = [(cut, b"") for cut in range(len(before), len(whole))]  # torn anywhere in the last trial's records
    cases += [(cut, tail) for cut in range(last_line, len(whole) + 1)  # a full disk's NUL tail, a garbage line
              for tail in (b"\0" * 700, b"garbage\n")]
    for cut, tail in cases:
        if True:
            for old in path.parent.glob(f"{JOURNAL_FILE}.damaged-*"):
                old.unlink()
            path.write_bytes(whole[:cut] + tail)
            kept = max(e for e in lines_end if e <= cut)  # the last complete line before the cut
            storage = open_storage(path.parent, repair=True)
            err = capsys.readouterr().err
            damaged = list(path.parent.glob(f"{JOURNAL_FILE}.damaged-*"))
            if kept == cut and not tail:
                assert err == "" and damaged == []
            else:
                assert err.count("\n") == 1 and err.startswith(f"warning: {path}: repaired "), err
                n_kept = whole[:kept].count(NL)
                assert f"at byte {kept:,}: kept {n_kept:,} complete records" in err
                assert len(damaged) == 1 and damaged[0].read_bytes() == (whole[:cut] + tail)[kept:]
                assert damaged[0].name in err
            assert path.read_bytes() == whole[:kept]
            st = optuna.load_study(study_name="s", storage=storage)
            trials = st.get_trials(deepcopy=False)
            assert len(trials) in (n_before - 1, n_before)  # the last trial's records are the ones torn
            assert _frozen(st)[:n_before - 1] == first
            # Resume: new trials append cleanly after the repair, and everything reads back.
            _run_trials(storage, 1, params_def={"resume_choice": [1, 2]})  # a cheap trial: what matters is the write
            again = optuna.load_study(study_name="s", storage=StudyJournal(JournalFile(path)))
            assert _frozen(again) == _frozen(st)


def test_a_damaged_line_with_records_after_it_names_file_and_line(tmp_path):
    path, before, last = _journal_with_last_write(tmp_path)
    lines = (before + last).split(b"\n")
    lines[3] = lines[3][:20] + lines[4]  # the old failure: a new record glued onto a torn line
    del lines[4]
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(StudyError) as info:
        optuna.load_study(study_name="s", storage=open_storage(path.parent, repair=True))
    offset = len(b"".join(x + NL for x in lines[:3]))
    assert str(info.value).startswith(f"{path}: line 4 (byte {offset:,}) "
                                      "is not a journal record")
    assert "move that line aside" in str(info.value)


def test_readers_skip_a_damaged_last_line_without_changing_the_file(tmp_path, capsys):
    path, before, last = _journal_with_last_write(tmp_path)
    path.write_bytes(before + b"{not json}\n")
    st = optuna.load_study(study_name="s", storage=open_storage(path.parent))
    assert len(st.trials) == 2
    assert path.read_bytes() == before + b"{not json}\n"
    assert f"warning: {path}: the last record (byte {len(before):,}) is damaged" in capsys.readouterr().err


def test_more_than_a_torn_write_is_not_cut(tmp_path):
    path, before, _ = _journal_with_last_write(tmp_path)
    path.write_bytes(before + b"\0" * (MAX_REPAIR_BYTES + 10))
    with pytest.raises(StudyError, match="not journal records; that is more than a torn write"):
        repair_journal(path)
    assert path.stat().st_size == len(before) + MAX_REPAIR_BYTES + 10


def test_a_failed_write_is_cut_back(tmp_path, monkeypatch):
    storage = open_storage(tmp_path)
    st = _run_trials(storage, 2)
    size = (tmp_path / JOURNAL_FILE).stat().st_size

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        st.set_user_attr("x", "y" * 1000)
    monkeypatch.undo()
    assert (tmp_path / JOURNAL_FILE).stat().st_size == size
    st = _run_trials(storage, 1)
    assert len(optuna.load_study(study_name="s", storage=open_storage(tmp_path)).trials) == 3
