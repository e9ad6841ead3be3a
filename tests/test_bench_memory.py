"""The benchmarks' memory measure (bench/proctree.py) against a tree whose sharing is known:
a process that has touched 64 MiB and forked a child that only reads them holds those
pages once, though both processes' RSS counts them."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20

# The parent touches 64 MiB, forks a child that reads them all (so both map every page) and
# prints "ready" once the child has; both then wait for stdin to close.
TREE = """
import os, sys
block = bytearray(64 << 20)
for i in range(0, len(block), 4096):
    block[i] = 1
r, w = os.pipe()
if os.fork() == 0:
    sum(block[::4096])
    os.write(w, b"x")
    sys.stdin.read()
    os._exit(0)
os.read(r, 1)
print("ready", flush=True)
sys.stdin.read()
"""


def _proctree():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import proctree
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return proctree


def test_pages_a_fork_shares_count_once():
    proctree = _proctree()
    if proctree.resident_frames(os.getpid()) is None:
        pytest.skip("the kernel shows page frames only to root (CAP_SYS_ADMIN)")
    proc = subprocess.Popen([sys.executable, "-c", TREE], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        peaks = proctree.TreePeaks(proc.pid, unique=True)
        peaks.start()
        time.sleep(0.3)
        peaks.finish()
    finally:
        proc.stdin.close()
        proc.wait(10)
    assert peaks.tree_procs == 2 and peaks.samples >= 2
    # RSS counts the block in each process; the frames count it once.
    assert peaks.tree >= 2 * 64 * MIB
    assert 64 * MIB <= peaks.tree_unique <= peaks.tree - 60 * MIB
    # nothing grew after the counts: the bound adds little
    assert peaks.tree_unique <= peaks.tree_unique_bound <= peaks.tree_unique + 8 * MIB
