"""What the Gradescope zip must hold, checked after every build.

Gradescope builds its image from the zip's `setup.sh` + `environment.yml` (a conda env whose
pip section is Otter's default plus the master notebook's `requirements:`). Two things go
wrong silently there: an unpinned `torch` pulls a multi-GB CUDA build, and a support file the
hidden tests import is missing (grading then fails for every student, at deadline time).
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import yaml

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Packages the hidden tests import (besides the files shipped under files/).
REQUIRED_PIP = ("torch", "hypothesis")


def pip_requirements(zip_path: Path) -> list[str]:
    """The pip lines of the zip's environment.yml."""
    with zipfile.ZipFile(zip_path) as zf:
        env = yaml.safe_load(zf.read("environment.yml"))
    for dep in env.get("dependencies", []):
        if isinstance(dep, dict) and "pip" in dep:
            return [str(x) for x in dep["pip"]]
    return []


def check_zip(zip_path: Path, assignment: str) -> list[str]:
    """Problems with the Gradescope zip of `assignment` (empty when it is fine)."""
    problems = []
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
    for needed in ("run_autograder", "setup.sh", "environment.yml", "otter_config.json",
                   f"files/autograder/checks/{assignment}.py", "files/autograder/checks/common.py",
                   "files/autograder/__init__.py", f"files/solutions/{assignment}.py",
                   "files/solutions/__init__.py"):
        if needed not in names:
            problems.append(f"the zip lacks {needed}")
    if not any(n.startswith("tests/") and n.endswith(".py") for n in names):
        problems.append("the zip has no tests/*.py")
    if any("__pycache__" in n or n.endswith(".pyc") for n in names):
        problems.append("the zip carries __pycache__ files")
    pip = pip_requirements(zip_path)
    if not any(line.replace("=", " ").split()[:1] == ["--extra-index-url"] and CPU_INDEX in line
               for line in pip):
        problems.append(f"environment.yml's pip section lacks --extra-index-url {CPU_INDEX}")
    torch = [line for line in pip if line.split("=")[0].split("<")[0].split(">")[0].strip() == "torch"]
    if not torch or not all("==" in line and line.endswith("+cpu") for line in torch):
        problems.append(f"torch must be pinned to a +cpu build (got {torch or 'nothing'}): "
                        "an unpinned torch installs a multi-GB CUDA build on Gradescope")
    for package in REQUIRED_PIP:
        if not any(line.split("=")[0].split(">")[0].split("<")[0].strip() == package
                   for line in pip):
            problems.append(f"environment.yml does not install {package}")
    return problems
