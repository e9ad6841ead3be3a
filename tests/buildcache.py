"""One build of each assignment per test session, shared by pytest-xdist workers.

`otter assign` plus the build's proofs take several seconds, so every test that needs a build
uses `built(tmp_path_factory, name)`: the build goes into the session's shared temp folder
(the parent of each worker's basetemp), and `autograder.build.ensure_built` takes a file lock
and reuses a build made from the same inputs, so two workers never build twice or race.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from autograder.build import ensure_built


def shared_build_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's basetemp is <session>/popen-gwN; the session folder is shared.
    root = base.parent if base.name.startswith("popen-gw") else base
    return root / "cnnlab_build"


def built(tmp_path_factory, assignment: str) -> Path:
    """The build folder (holding <assignment>/student, /autograder, ...)."""
    out = shared_build_dir(tmp_path_factory)
    ensure_built(assignment, out)
    return out


def seeded(tmp_path_factory, out: Path, assignments) -> Path:
    """`out` holding a copy of the session's build of each assignment, as a second
    `cnnlab build --out out` or `make demo` finds it: the command under test then reuses it
    (the build itself is tested once, through `built`)."""
    shared = shared_build_dir(tmp_path_factory)
    for assignment in assignments:
        built(tmp_path_factory, assignment)
        shutil.copytree(shared / assignment, Path(out) / assignment, symlinks=True,
                        dirs_exist_ok=True)
    return Path(out)
