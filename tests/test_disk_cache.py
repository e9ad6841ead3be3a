"""The grader's disk cache of student-independent values (autograder/checks/disk_cache.py):
what it reads back is what the code computes afresh, it is used only where the sandbox
engine turns it on, and a damaged, planted or unwritable cache costs a recomputation, never
a wrong value. (That a student cannot change it is tests/test_redteam.py's
poison_disk_cache.)"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from autograder.checks import cnn_architectures as arch
from autograder.checks import cost_table_checks, disk_cache, fuzzing
from autograder.checks.model_probes import structure
from autograder.checks.model_specs import build_on_meta

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(fuzzing, "_DRAWN", {})
    monkeypatch.setattr(arch, "_STRUCTURES", {})
    monkeypatch.setattr(arch, "_OUTPUTS", {})
    return tmp_path


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _draw_networks():
    return fuzzing.drawn_examples(cost_table_checks._network(),
                                  max_examples=cost_table_checks.RANDOM_NETWORKS,
                                  seed_value=cost_table_checks.SEARCH_SEED)


def test_nothing_is_kept_outside_an_active_block(cache):
    _draw_networks()
    arch.reference_structure(arch.spec("resnet18", num_classes=10))
    assert _files(cache) == []


def test_drawn_examples_read_back_are_hypothesis_own_draw(cache):
    fresh = _draw_networks()  # inactive: Hypothesis draws them
    fuzzing._DRAWN.clear()
    with disk_cache.active():
        stored = _draw_networks()
    assert len(_files(cache)) == 1
    fuzzing._DRAWN.clear()
    with disk_cache.active():
        read_back = _draw_networks()
    # equal, and of the same types all the way down (tuples stay tuples)
    assert repr(read_back) == repr(stored) == repr(fresh) and read_back == fresh


def test_reference_structure_and_outputs_read_back_as_computed(cache):
    s = arch.spec("BasicBlock", 8, 16, stride=2)
    want = structure(build_on_meta(arch.REFERENCE, s))
    inputs = arch._inputs([(9, 9)], 8, 2, torch.float64)
    run_key = repr((arch._weights_key(s, torch.float64, (0.5, 1.5)), [(9, 9)], 8, 2))
    with disk_cache.active():
        arch.reference_structure(s)
        _, computed = arch._reference_run(s, torch.float64, (0.5, 1.5), run_key, inputs)
    arch._STRUCTURES.clear()
    arch._OUTPUTS.clear()
    with disk_cache.active():
        got = arch.reference_structure(s)
        _, outputs = arch._reference_run(s, torch.float64, (0.5, 1.5), run_key, inputs)
    assert got == want and got["conv_strides"]["conv1"] == (2, 2)
    # the reference module itself, run on the same weights, is the independent truth
    model = arch.reference_model(arch.REFERENCE, s, arch.SEED, torch.float64, (0.5, 1.5))
    arch.materialize_(model)
    with torch.no_grad():
        direct = model(inputs[0])
    assert torch.equal(outputs[0], direct) and torch.equal(computed[0], direct)


@pytest.mark.parametrize("damage", ["garbage", "other key", "truncated"])
def test_a_damaged_or_planted_file_is_computed_afresh(cache, damage):
    with disk_cache.active():
        assert disk_cache.lookup("k", "the key", lambda: [1, (2, 3)]) == [1, (2, 3)]
        [path] = _files(cache)
        good = path.read_bytes()
        path.write_bytes({"garbage": b"\x00\xffnot a value",
                          "other key": b"J" + json.dumps({"key": "x", "value": 7}).encode(),
                          "truncated": good[: len(good) // 2]}[damage])
        assert disk_cache.lookup("k", "the key", lambda: [1, (2, 3)]) == [1, (2, 3)]
        assert path.read_bytes() == good  # written again


def test_an_unwritable_folder_costs_only_the_recomputation(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "a-file"))
    (tmp_path / "a-file").write_text("not a folder")
    calls = []
    with disk_cache.active():
        for _ in range(2):
            assert disk_cache.lookup("k", "key", lambda: calls.append(1) or 5) == 5
    assert len(calls) == 2


def test_off_turns_it_off(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_CACHE", "off")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    with disk_cache.active():
        disk_cache.lookup("k", "key", lambda: 1)
    assert _files(tmp_path) == []


def test_a_new_code_digest_is_a_new_folder(cache, monkeypatch):
    real = disk_cache.code_digest()
    with disk_cache.active():
        disk_cache.lookup("k", "key", lambda: 1)
        monkeypatch.setattr(disk_cache, "_digest", "another-version")
        assert disk_cache.lookup("k", "key", lambda: 2) == 2
    assert sorted(p.parent.parent.name for p in _files(cache)) == sorted(
        ["another-version", real])


def test_a_cold_and_a_warm_cache_grade_alike(tmp_path):
    """The CLI, as a course runs it: a cold cache, then the same submissions again."""
    env = {**os.environ, "CNNLAB_CACHE": str(tmp_path / "cache")}
    notebooks = [str(ROOT / "samples" / "softmax_backprop" / "correct.ipynb"),
                 str(ROOT / "samples" / "cnn_costs" / "missing_plus_one.ipynb")]

    def grade():
        out = subprocess.run([sys.executable, "-m", "cnnlab", "grade", "--json", *notebooks],
                             capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
        records = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
        return {r["submission"]: (r["total"], {q: (v["score"], v["feedback"])
                                               for q, v in r["questions"].items()})
                for r in records}

    cold = grade()
    assert _files(tmp_path / "cache"), "the cold run kept nothing"
    warm = grade()
    assert len(cold) == 2 and warm == cold
    assert cold[notebooks[0]][0] == 10.0


def test_the_reference_accuracy_read_back_is_the_reference_training(cache, monkeypatch):
    from autograder.checks import softmax_backprop as checks
    from solutions import softmax_backprop as reference

    monkeypatch.setattr(checks, "_REFERENCE_ACCURACY", {})
    with disk_cache.active():
        checks._reference_accuracy("cpu")
    checks._REFERENCE_ACCURACY.clear()
    with disk_cache.active():
        read_back = checks._reference_accuracy("cpu")
    trained = reference.train_two_layer(
        checks.copy_params(checks.initial_params("cpu")), *checks.digits("cpu"),
        checks.LEARNING_RATE, checks.REG, checks.NUM_ITERS, checks.BATCH_SIZE,
        seed=0)["val_accuracy"]
    assert len(_files(cache)) == 1 and read_back == float(trained)
