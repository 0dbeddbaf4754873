"""Model files under crashes and concurrency: a save killed at any step (SIGKILL), interrupted
in Python, racing with other saves (processes and threads), and the temporary files they
leave behind."""

import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import emkit.io
from emkit import GaussianMixture, ModelFileError
from emkit.io import SAVE_STEPS, load, save
from test_io import assert_same_model

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork") or emkit.io.fcntl is None,
                       reason="needs fork() and flock() (POSIX)"),
    pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning"),
]

FORMAT_1_FILES = os.path.join(os.path.dirname(__file__), "data", "gaussian_mixture_format_v1")
BEFORE_RENAME = SAVE_STEPS[:SAVE_STEPS.index("npz renamed")]


@pytest.fixture(scope="module")
def models():
    """Two models that differ in every attribute (2 full vs 3 diagonal components)."""
    X = np.random.RandomState(0).randn(60, 2)
    return (GaussianMixture(2, random_state=0).fit(X),
            GaussianMixture(3, covariance_type="diag", random_state=1).fit(X))


def identify(loaded, old, new):
    """'old' or 'new': which saved model ``loaded`` is, checked in every value."""
    name, expected = ("new", new) if loaded.n_components == new.n_components else ("old", old)
    assert_same_model(expected, loaded)
    return name


def temp_files(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


def copy_is_current(target):
    """Whether the JSON copy records the checksum of the npz beside it."""
    header = json.loads(target.with_suffix(".json").read_text())
    return header["npz_sha256"] == hashlib.sha256(target.with_suffix(".npz").read_bytes()
                                                  ).hexdigest()


def start_children(function, argument_lists):
    """Start ``function(*args)`` in a forked process for each ``args``."""
    fork = multiprocessing.get_context("fork")
    children = [fork.Process(target=function, args=args) for args in argument_lists]
    for child in children:
        child.start()
    return children


def in_child(function, *args):
    """Run ``function(*args)`` in a forked process; returns its exit code."""
    (child,) = start_children(function, [args])
    child.join(120)
    return child.exitcode


def save_killed_at(step, model, path):
    def kill_here(name):
        if name == step:
            os.kill(os.getpid(), signal.SIGKILL)

    emkit.io._step_hook = kill_here
    save(model, path)


def test_steps_are_reached_in_order(tmp_path, models, monkeypatch):
    steps = []
    monkeypatch.setattr(emkit.io, "_step_hook", steps.append)
    save(models[0], tmp_path / "m")
    save(models[1], tmp_path / "m")
    assert steps == list(SAVE_STEPS) * 2


@pytest.mark.parametrize("before", ["nothing", "format 2", "format 1"])
@pytest.mark.parametrize("step", SAVE_STEPS)
def test_save_killed_at_any_step(tmp_path, models, step, before):
    old, new = models
    target = tmp_path / "m"
    if before == "format 2":
        save(old, target)
    elif before == "format 1":
        for suffix in (".json", ".npz"):
            with open(FORMAT_1_FILES + suffix, "rb") as f:
                target.with_suffix(suffix).write_bytes(f.read())
        old = load(target)
        assert old.n_components != new.n_components

    assert in_child(save_killed_at, step, new, target) == -signal.SIGKILL

    if before == "nothing" and step in BEFORE_RENAME:
        with pytest.raises(ModelFileError, match="not found"):
            load(target)
    else:
        expected = "old" if step in BEFORE_RENAME else "new"
        assert identify(load(target), old, new) == expected
    assert temp_files(tmp_path) == []  # the load removed what the killed save left

    save(new, target)
    assert identify(load(target), old, new) == "new"
    assert copy_is_current(target)
    assert sorted(os.listdir(tmp_path)) == ["m.json", "m.npz"]


@pytest.mark.parametrize("step", ["npz renamed", "json renamed"])
def test_save_of_the_same_model_killed_between_renames(tmp_path, models, step):
    # The npz bytes differ from one save to the next, so the JSON of the first save does
    # not match the npz of the second: it is passed over, not taken for damage.
    old, _ = models
    save(old, tmp_path / "m")
    first_npz = (tmp_path / "m.npz").read_bytes()
    assert in_child(save_killed_at, step, old, tmp_path / "m") == -signal.SIGKILL
    assert (tmp_path / "m.npz").read_bytes() != first_npz
    assert copy_is_current(tmp_path / "m") == (step == "json renamed")
    assert_same_model(old, load(tmp_path / "m"))


@pytest.mark.parametrize("before", ["nothing", "format 2"])
@pytest.mark.parametrize("step", SAVE_STEPS)
def test_interrupted_save_keeps_the_old_pair(tmp_path, models, monkeypatch, step, before):
    old, new = models
    target = tmp_path / "m"
    if before == "format 2":
        save(old, target)
    files_before = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}

    def interrupt(name):
        if name == step:
            raise KeyboardInterrupt

    monkeypatch.setattr(emkit.io, "_step_hook", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save(new, target)
    monkeypatch.setattr(emkit.io, "_step_hook", None)

    files_after = {name: (tmp_path / name).read_bytes() for name in os.listdir(tmp_path)}
    if SAVE_STEPS.index(step) < SAVE_STEPS.index("json renamed"):
        assert files_after == files_before  # byte for byte, no temporary file
    else:
        assert sorted(files_after) == ["m.json", "m.npz"]
        assert identify(load(target), old, new) == "new"
        assert copy_is_current(target)


def test_files_and_directory_are_synced_before_and_after_renames(tmp_path, models,
                                                                 monkeypatch):
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd to name synced files")
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.path.realpath(src)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    save(models[0], tmp_path / "m")
    replaced = [i for i, (kind, _) in enumerate(events) if kind == "replace"]
    assert len(replaced) == 2
    for i in replaced:
        src = events[i][1]
        assert ("fsync", src) in events[:i]  # the data reached the disk before the rename
        assert events[i + 1] == ("fsync", os.path.realpath(tmp_path))  # then the rename


def pause_between_renames(name):
    """A step hook widening the moment between the two renames, where saves can interleave."""
    if name == "npz renamed":
        time.sleep(0.002)


def save_many(model, path, times, locking):
    if not locking:
        emkit.io.fcntl = None  # in this child only: saves without the directory lock
    emkit.io._step_hook = pause_between_renames
    for _ in range(times):
        save(model, path)


@pytest.mark.parametrize("locking", [True, False], ids=["locked", "unlocked"])
def test_concurrent_saves_from_processes(tmp_path, models, locking):
    old, new = models
    target = tmp_path / "m"
    save(old, target)
    children = start_children(save_many, [(model, target, 40, locking) for model in models])
    seen = set()
    while any(child.is_alive() for child in children):
        seen.add(identify(load(target), old, new))  # a load during the saves: one whole model
        if locking:
            with emkit.io._directory_lock(tmp_path, wait=True):  # between two saves
                assert copy_is_current(target)
    for child in children:
        child.join()
        assert child.exitcode == 0
    assert seen <= {"old", "new"}
    identify(load(target), old, new)
    if locking:  # one save after the other: the readable copy matches its npz
        assert copy_is_current(target)
    assert temp_files(tmp_path) == []


def test_concurrent_saves_from_threads(tmp_path, models, monkeypatch):
    monkeypatch.setattr(emkit.io, "_step_hook", pause_between_renames)
    old, new = models
    target = tmp_path / "m"
    save(old, target)
    errors = []

    def save_repeatedly(model):
        try:
            for _ in range(25):
                save(model, target)
        except BaseException as exc:  # pragma: no cover - the failure report
            errors.append(exc)

    threads = [threading.Thread(target=save_repeatedly, args=(model,)) for model in models]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        identify(load(target), old, new)
        with emkit.io._directory_lock(tmp_path, wait=True):
            assert copy_is_current(target)
    for thread in threads:
        thread.join()
    assert errors == []
    identify(load(target), old, new)
    assert copy_is_current(target)
    assert temp_files(tmp_path) == []


def dead_pid():
    """The pid of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("by", ["save", "load"])
def test_leftovers_of_ended_writers_are_removed(tmp_path, models, by):
    save(models[0], tmp_path / "m")
    dead = dead_pid()
    leftovers = [f".m.npz.{dead}-{'0' * 16}.tmp", f".m.json.{dead}-{'a' * 16}.tmp",
                 ".m.npz.0123456789abcdef.tmp"]  # the last: a name format 1 saves used
    kept = [f".m.npz.{os.getpid()}-{'b' * 16}.tmp",  # its writer still runs
            f".other.npz.{dead}-{'c' * 16}.tmp",  # another model's
            "m.npz.bak", ".m.npz.tmp"]
    for name in leftovers + kept:
        (tmp_path / name).write_bytes(b"partial")
    if by == "save":
        save(models[1], tmp_path / "m")
    else:
        load(tmp_path / "m")
    assert sorted(os.listdir(tmp_path)) == sorted(["m.json", "m.npz", *kept])


def test_load_leaves_temp_files_alone_while_a_save_holds_the_lock(tmp_path, models):
    save(models[0], tmp_path / "m")
    leftover = tmp_path / f".m.npz.{dead_pid()}-{'0' * 16}.tmp"
    leftover.write_bytes(b"partial")
    with emkit.io._directory_lock(tmp_path, wait=True) as held:
        assert held
        assert_same_model(models[0], load(tmp_path / "m"))
        assert leftover.exists()
    load(tmp_path / "m")
    assert not leftover.exists()
