"""Deterministic Hypothesis runs for the project's own tests: the same examples every run,
no .hypothesis/ database, no deadline (a loaded 2-core CI box is slow, not wrong).

And the grader's disk cache (autograder/checks/disk_cache.py) in a folder of this session's
own, shared by its pytest-xdist workers (they inherit it) and removed at its end: a test
run starts cold, and never reads or fills the developer's ~/.cache/cnnlab."""
import atexit
import os
import shutil
import tempfile

from hypothesis import settings

settings.register_profile("cnnlab", derandomize=True, database=None, deadline=None,
                          max_examples=100)
settings.load_profile("cnnlab")

if "CNNLAB_CACHE" not in os.environ:
    os.environ["CNNLAB_CACHE"] = tempfile.mkdtemp(prefix="cnnlab-test-cache-")
    atexit.register(shutil.rmtree, os.environ["CNNLAB_CACHE"], ignore_errors=True)
