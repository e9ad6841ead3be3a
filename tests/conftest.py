"""Deterministic Hypothesis runs for the project's own tests: the same examples every run,
no .hypothesis/ database, no deadline (a loaded 2-core CI box is slow, not wrong).

And the grader's disk cache (autograder/checks/disk_cache.py) in a folder of this session's
own, shared by its pytest-xdist workers (they inherit it) and removed at its end: a test
run starts cold, and never reads or fills the developer's ~/.cache/cnnlab.

And each pytest-xdist worker's math libraries get the worker's share of the cores, set
before torch is imported (autograder/cores.py says why: with a thread per core in every
worker, the suite spent 820 s of CPU where 570 s did the same work). The processes a test
starts inherit it; the grader and the sandbox set their own counts as they would anywhere."""
import atexit
import os
import shutil
import tempfile

from hypothesis import settings

from autograder.cores import thread_variables, threads_per_job

_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    for _name, _value in thread_variables(threads_per_job(_WORKERS)).items():
        os.environ.setdefault(_name, _value)

settings.register_profile("cnnlab", derandomize=True, database=None, deadline=None,
                          max_examples=100)
settings.load_profile("cnnlab")

if "CNNLAB_CACHE" not in os.environ:
    os.environ["CNNLAB_CACHE"] = tempfile.mkdtemp(prefix="cnnlab-test-cache-")
    atexit.register(shutil.rmtree, os.environ["CNNLAB_CACHE"], ignore_errors=True)
