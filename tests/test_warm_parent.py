"""Sandboxes forked from a warm parent (autograder/sandbox.py, WarmParent): each starts as a
fresh one does, nothing of one survives into the next, no sandbox can reach the parent, and
a forked sandbox grades exactly as a freshly started one."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder import forkserver, runner
from autograder.runner import PRIVATE_DIRS
from autograder.sandbox import RemoteEnv, Sandbox, temp_folders

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def _sandbox(fork: bool, preload=("torch",)) -> Sandbox:
    _, work, inbox = temp_folders("cnnlab-test-warm-")
    return Sandbox(work, [str(p) for p in PRIVATE_DIRS], preload=list(preload), inbox=inbox,
                   fork=fork)


def test_a_forked_sandbox_starts_locked_down_and_fresh():
    with _sandbox(fork=True) as first:
        parent = first.process.parent
        first.exec_cell("import torch, builtins, os\n"
                        "torch.planted = 1\nbuiltins.planted = 2\nos.environ['PLANTED'] = '3'\n"
                        "open('planted.txt', 'w').write('x')", 10)
        fresh = _sandbox(fork=False)
        fresh.start()
        fresh.kill()
    with _sandbox(fork=True) as second:
        assert second.process.parent is parent  # the same warm parent forked both
        second.exec_cell("import torch, builtins, os\n"
                         "seen = (hasattr(torch, 'planted'), hasattr(builtins, 'planted'),\n"
                         "        'PLANTED' in os.environ, os.path.exists('planted.txt'),\n"
                         "        os.getcwd() == os.environ['HOME'], len(os.listdir('/proc/self/fd')),\n"
                         "        __import__('tempfile').gettempdir() == os.environ['TMPDIR'])",
                         10)
        seen = RemoteEnv(second)["seen"]
        # The same kernel layers as a sandbox started fresh, and nothing of the first one.
        assert second.layers == fresh.layers
        assert seen[:5] == (False, False, False, False, True)
        assert seen[5] <= 6  # stdin, stdout, stderr, its two pipes (and the listing itself)
        assert seen[6]  # temp files go to its own folder, not where the parent's would
        second.exec_cell("import torch\nm = torch.nn.Linear(2, 1)\n"
                         "opt = torch.optim.SGD(m.parameters(), lr=0.1)\n"
                         "m(torch.ones(1, 2)).sum().backward()\nopt.step()", 30)


ATTACK = r'''
import os, signal, socket
parent = os.getppid()
for attempt in (lambda: os.kill(parent, signal.SIGKILL), lambda: os.kill(parent, signal.SIGSTOP),
                lambda: os.killpg(os.getpgid(parent), signal.SIGKILL)):
    try:
        attempt()
    except Exception:
        pass
for fd in range(3, 256):  # whatever it may have inherited: tell the parent lies
    for lie in (b'["exited", 1, 0]', b'["forked", 1]', b'{"env": {}, "cwd": "/"}'):
        try:
            os.write(fd, lie)
        except OSError:
            pass
        try:
            socket.socket(fileno=os.dup(fd)).send(lie)
        except Exception:
            pass
for path in (f"/proc/{parent}/mem", f"/proc/{parent}/environ"):
    try:
        open(path, "rb").read(1)
    except Exception:
        pass
'''


def _attack_notebook(tmp_path: Path) -> Path:
    nb = json.loads((SAMPLES / "cnn_costs" / "blank.ipynb").read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None,
                        "outputs": [], "source": ATTACK})
    path = tmp_path / "attack.ipynb"
    path.write_text(json.dumps(nb))
    return path


def _without_timing(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "seconds"}


def test_a_hostile_notebook_between_two_correct_ones_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_SANDBOX_FORK", "1")
    assignment = runner.load_assignment("cnn_costs")
    correct = SAMPLES / "cnn_costs" / "correct.ipynb"
    before = runner.grade_notebook(correct, assignment)
    parents = {key: (p.pid, p) for key, p in forkserver._WARM_PARENTS.items()}
    attacked = runner.grade_notebook(_attack_notebook(tmp_path), assignment)
    after = runner.grade_notebook(correct, assignment)
    assert attacked["total"] == 0
    assert before["total"] == before["possible"] and _without_timing(after) == _without_timing(before)
    for key, (pid, parent) in parents.items():  # the same parents, alive, unstopped
        assert forkserver._WARM_PARENTS[key] is parent and parent.pid == pid and parent.alive
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert state in ("S", "R")


@pytest.mark.parametrize("notebook", ["cnn_costs/correct", "cnn_costs/bytes_not_kb",
                                      "cnn_costs/missing_plus_one", "cnn_costs/hostile",
                                      "softmax_backprop/correct"])
def test_forked_and_fresh_sandboxes_grade_alike(notebook, monkeypatch):
    path = SAMPLES / f"{notebook}.ipynb"
    assignment = runner.load_assignment(notebook.split("/")[0])
    monkeypatch.setenv("CNNLAB_SANDBOX_FORK", "1")
    forked = runner.grade_notebook(path, assignment)
    monkeypatch.setenv("CNNLAB_SANDBOX_FORK", "0")
    fresh = runner.grade_notebook(path, assignment)
    assert _without_timing(forked) == _without_timing(fresh)


def test_a_sandbox_gives_freed_memory_back_between_requests():
    """Memory a long request freed goes back to the kernel once its reply is sent
    (sandbox_child.TRIM_AFTER_S, autograder/heap.py): the next check's peak does not come on top of
    the last one's leftovers. Blocks freed in the middle of glibc's heap stay resident
    without malloc_trim."""
    alloc = ("import time\n"
             "def rss():\n"
             "    line = [l for l in open('/proc/self/status') if l.startswith('VmRSS')][0]\n"
             "    return int(line.split()[1]) // 1024\n"
             "big = b'x' * (8 << 20); del big  # glibc's mmap threshold rises past 1 MB\n"
             "blocks = [b'x' * (1 << 20) for _ in range(150)]  # written: resident\n"
             "keep = blocks[-1]; del blocks  # the last one holds the heap's top\n"
             "before = rss(); time.sleep(0.1)\n")
    with _sandbox(fork=True, preload=()) as box:
        box.exec_cell(alloc, 20)
        box.exec_cell("after = rss()", 10)
        env = RemoteEnv(box)
        before, after = env["before"], env["after"]
    assert before - after >= 100, (before, after)
