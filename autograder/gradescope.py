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
REQUIRED_PIP = ("torch", "hypothesis", "pyseccomp")


def pip_requirements(zip_path: Path) -> list[str]:
    """The pip lines of the zip's environment.yml."""
    with zipfile.ZipFile(zip_path) as zf:
        env = yaml.safe_load(zf.read("environment.yml"))
    for dep in env.get("dependencies", []):
        if isinstance(dep, dict) and "pip" in dep:
            return [str(x) for x in dep["pip"]]
    return []


def _option(line: str) -> tuple[str, str] | None:
    """("--extra-index-url", URL) for a pip line `--extra-index-url URL` (or `=URL`)."""
    parts = line.replace("=", " ", 1).split() if line.startswith("--") else []
    return (parts[0], parts[1]) if len(parts) == 2 else None


def torch_install(pip: list[str]) -> dict:
    """Which torch build pip lines (environment.yml's pip section) would install.

    Returns {"requirement": the torch line or None, "indexes": the --index-url and
    --extra-index-url values, "build": "cpu" | "cuda" | "unknown", "text": one line, e.g.
    "torch 2.13.0+cpu from the CPU index (https://download.pytorch.org/whl/cpu)"}."""
    torch = [line for line in pip if _package(line) == "torch"]
    indexes = [opt[1] for opt in map(_option, pip)
               if opt and opt[0] in ("--index-url", "--extra-index-url", "-i")]
    requirement = torch[0] if torch else None
    pin = None
    if requirement and "==" in requirement:
        pin = requirement.split("==", 1)[1].lstrip("=").strip()
    if requirement is None:
        build, text = "unknown", "no torch (the hidden tests need it)"
    elif pin and pin.endswith("+cpu") and CPU_INDEX in indexes:
        build, text = "cpu", f"torch {pin} from the CPU index ({CPU_INDEX})"
    elif pin and pin.endswith("+cpu"):
        build, text = "cpu", (f"torch {pin}, the CPU build, but no index in the zip serves it "
                              f"(add --extra-index-url {CPU_INDEX})")
    else:
        where = f"the index{'es' if len(indexes) > 1 else ''} {', '.join(indexes)}" if indexes \
            else "the default index"
        build, text = "cuda", (f"{requirement} from {where}: the default (CUDA) build, "
                               "several GB")
    return {"requirement": requirement, "indexes": indexes, "build": build, "text": text}


def _package(line: str) -> str:
    """The package name of a requirement line (`torch==2.13.0+cpu` -> `torch`)."""
    for sep in ("==", ">=", "<=", "~=", "!=", "===", ">", "<", "[", ";", " "):
        line = line.split(sep)[0]
    return line.strip().lower()


def check_zip(zip_path: Path, assignment: str) -> list[str]:
    """Problems with the Gradescope zip of `assignment` (empty when it is fine)."""
    problems = []
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
    for needed in ("run_autograder", "setup.sh", "environment.yml", "otter_config.json",
                   "files/autograder/gradescope_entry.py", "files/autograder/runner.py",
                   "files/autograder/sandbox.py", "files/autograder/sandbox_child.py",
                   "files/autograder/lockdown.py", "files/autograder/protocol.py",
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


# --------------------------------------------------------------------------- our entry point

ENTRY = "files/cnnlab_assignment.json"
# Gradescope runs `run_autograder`; ours grades with the sandboxed runner, exactly as
# `cnnlab grade` does (Otter's in-kernel grading stays available to `otter run`).
RUN_AUTOGRADER = """#!/bin/bash
# cnnlab: grade in a guarded sandbox (see docs/security.md); Otter's run_otter.py is kept
# for `otter run`.
export PATH=/root/miniforge3/bin:$PATH
eval "$(mamba shell hook --shell bash)"
mamba activate otter-env
cd /autograder/source/files && python -m autograder.gradescope_entry --root /autograder
"""


def install_entry(zip_path: Path, assignment: str, points: dict[str, float]) -> None:
    """Point the zip's run_autograder at autograder.gradescope_entry, with the assignment's
    name and points beside it. Entries keep their order and timestamps."""
    import json

    zip_path = Path(zip_path)
    tmp = zip_path.with_suffix(".tmp")
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "run_autograder":
                data = RUN_AUTOGRADER.encode()
            if info.filename != ENTRY:
                dst.writestr(info, data)
        config = zipfile.ZipInfo(ENTRY, date_time=src.infolist()[0].date_time)
        config.external_attr = 0o644 << 16
        dst.writestr(config, json.dumps({"assignment": assignment, "points": points}, indent=1))
    tmp.replace(zip_path)


def simulate(zip_path: Path, notebook: Path, python: str | None = None) -> dict:
    """Run the zip's grading as Gradescope would (its files under source/, the notebook under
    submission/, results under results/) and return results.json."""
    import json
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cnnlab_gradescope_") as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(root / "source")
        (root / "submission").mkdir()
        (root / "submission" / Path(notebook).name).write_bytes(Path(notebook).read_bytes())
        done = subprocess.run(
            [python or sys.executable, "-m", "autograder.gradescope_entry", "--root", str(root)],
            cwd=root / "source" / "files", capture_output=True, text=True, timeout=1800)
        results = root / "results" / "results.json"
        if done.returncode != 0 or not results.exists():
            raise RuntimeError(f"the zip's entry point failed: {done.stderr.strip()[-1500:]}")
        return json.loads(results.read_text())
