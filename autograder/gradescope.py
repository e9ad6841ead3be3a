"""What the Gradescope zip must hold, checked after every build.

Gradescope builds its image from the zip's `setup.sh` + `environment.yml` (a conda env whose
pip section is Otter's default plus the master notebook's `requirements:`). Two things go
wrong silently there: an unpinned `torch` pulls a multi-GB CUDA build, and a support file the
hidden tests import is missing (grading then fails for every student, at deadline time).
The modules the zip must hold are not listed by hand: they are what its grading imports
(`grading_modules`), so a check split into a new module is checked for as soon as a check
imports it.
"""
from __future__ import annotations

import ast
import re
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
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
    needed = ["run_autograder", "setup.sh", "environment.yml", "otter_config.json"]
    needed += [f"files/{path}" for path in grading_modules(assignment)]
    for path in needed:
        if path not in names:
            problems.append(f"the zip lacks {path}")
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


# Packages of ours the zip ships (the master notebooks' `autograder_files`).
OUR_PACKAGES = ("autograder", "solutions")
# A module named in a string: an import run as code (the sandbox and the warm parent start
# as `python -c "..."`), or a name for importlib (the probe modules, checks/probes.py).
_IMPORT_IN_TEXT = re.compile(r"\b(?:from|import)\s+((?:autograder|solutions)(?:\.\w+)*)")
_MODULE_NAME = re.compile(r"(?:autograder|solutions)(?:\.\w+)+")


def _module_file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(path: Path) -> set[str]:
    """The modules of ours that `path` imports anywhere (in functions too, and those named
    in strings: see _IMPORT_IN_TEXT), each with the packages above it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}  # submodules, if any
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= set(_IMPORT_IN_TEXT.findall(node.value))
            if _MODULE_NAME.fullmatch(node.value):
                found.add(node.value)
    ours = set()
    for module in found:
        parts = module.split(".")
        if parts[0] in OUR_PACKAGES:
            ours |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return ours


def grading_modules(assignment: str) -> list[str]:
    """The files (autograder/checks/common.py, ...) of every module of ours that grading
    `assignment` imports: the Gradescope entry point's imports and those of
    autograder.checks.<assignment> (which the runner imports by name), followed."""
    todo = ["autograder.gradescope_entry", f"autograder.checks.{assignment}"]
    seen: dict[str, Path] = {}
    while todo:
        module = todo.pop()
        path = _module_file(module)
        if module in seen or path is None:
            continue
        seen[module] = path
        todo += sorted(_imports(path))
    return sorted(p.relative_to(ROOT).as_posix() for p in seen.values())


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
