"""`cnnlab build`: Otter Assign on each master notebook, then proofs that the result is sound.

For an assignment `a` (a master notebook `assignments/a/a.ipynb`), `build_assignment` writes

    OUT/a/student/a.ipynb (+ tests/)   what students get: stubs and public tests only,
                                       and public_hints.py (autograder/public_hints.py)
    OUT/a/autograder/                  Otter's output: the reference notebook, tests, *.zip
    OUT/a/questions.json               {question: points}
    OUT/a/leak_report.json             what was checked in the student folder, and any leak
    OUT/a/proofs.json                  the reference's and the blank notebook's scores

and fails (BuildError) unless: the hidden tests match the checks registry; the zip holds what
the hidden tests import and installs a CPU torch; the reference notebook scores 100% and the
blank student notebook 0 on every question, both graded with the zip like a submission; and
nothing of the solutions, the hidden tests or the instructor packages reached the student
folder. Which torch build the zip's environment.yml would install is said in the progress
lines, the summary's "torch" and proofs.json's "torch".
"""
from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable

from autograder import gradescope, notebook_tools, public_hints, registry
from autograder.runner import question_points

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = registry.ASSIGNMENTS  # the master notebooks' folder
# Pipeline modules of the autograder package that the hidden tests never import.
NOT_SHIPPED = ("build.py", "grade.py", "otter_engine.py", "notebook_tools.py", "gradescope.py",
               "public_hints.py")
# Modules of the autograder package that students receive on purpose (not leaks).
FOR_STUDENTS = (public_hints.RUNTIME.name,)


class BuildError(Exception):
    """The build of an assignment failed; the message says which step and why."""


def discover(root: Path = ASSIGNMENTS) -> list[str]:
    """Every assignment with a master notebook assignments/<a>/<a>.ipynb."""
    return registry.master_notebooks(root)


def master_path(assignment: str, root: Path = ASSIGNMENTS) -> Path:
    path = root / assignment / f"{assignment}.ipynb"
    if not path.exists():
        known = ", ".join(discover(root)) or "none"
        raise BuildError(f"no master notebook {path} (assignments: {known})")
    return path


def stage(master: Path, into: Path) -> Path:
    """Copy the master notebook and its `autograder_files` (paths relative to it) into `into`."""
    config = notebook_tools.assignment_config(notebook_tools.read(master))
    shutil.copy(master, into / master.name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", *NOT_SHIPPED)
    for rel in config.get("autograder_files", []) + config.get("files", []):
        src = ROOT / rel
        if not src.exists():
            raise BuildError(f"autograder_files entry {rel!r} does not exist in {ROOT}")
        if src.is_dir():
            shutil.copytree(src, into / rel, ignore=ignore)
        else:
            (into / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, into / rel)
    return into / master.name


def run_otter_assign(staged_master: Path, result: Path) -> None:
    """Otter Assign through its Python API, its chatter captured (shown only on failure)."""
    import io
    import logging
    from contextlib import redirect_stderr, redirect_stdout

    import otter.assign
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    logging.getLogger("otter").addHandler(handler)
    try:
        with redirect_stdout(buffer), redirect_stderr(buffer):
            otter.assign.main(str(staged_master), str(result), no_pdfs=True, no_run_tests=True)
    except Exception as err:  # noqa: BLE001 - every Otter failure becomes a build failure
        raise BuildError(f"otter assign failed: {type(err).__name__}: {err}\n"
                         f"{buffer.getvalue()[-2000:]}") from err
    finally:
        logging.getLogger("otter").removeHandler(handler)


# ----------------------------------------------------------------------------- leak report

def _student_texts(student_dir: Path) -> dict[str, str]:
    texts = {}
    for path in sorted(student_dir.rglob("*")):
        if path.is_file():
            texts[path.relative_to(student_dir).as_posix()] = path.read_text(errors="replace")
    return texts


def _lines(path: Path, text: str) -> set[str]:
    """The stripped lines of a file; of a notebook, the lines of its cells' sources."""
    if path.suffix == ".ipynb":
        try:
            text = "\n".join(notebook_tools._source(c) for c in notebook_tools.read(path).cells)
        except Exception:  # noqa: BLE001 - not a notebook after all: search its text
            pass
    return {line.strip() for line in text.split("\n")}


def leak_report(master: Path, student_dir: Path, assignment: str) -> dict:
    """Search everything a student receives for solution code, hidden tests and instructor
    files. A solution line is a whole code line from a solution block that the master has
    nowhere else (a line like `return rows` in given code is not a leak); it leaks if a file
    has it as a whole line."""
    solution_lines, public_lines = notebook_tools.split_code_lines(master)
    solution = [l for l in dict.fromkeys(solution_lines)
                if l not in set(public_lines)]
    hidden_names, hidden_sources = [], []
    for checks in notebook_tools.registry(assignment).values():
        for check in checks:
            hidden_names += [check.__name__, f"test_{check.__name__}"]
            hidden_sources.append(notebook_tools.hidden_test_source(assignment, check.__name__))
    hidden_sources += ["autograder.checks", "# HIDDEN", "hidden=True"]
    package_files = {}
    for package in ("solutions", "autograder"):
        for path in (ROOT / package).rglob("*.py"):
            if package == "autograder" and path.name in FOR_STUDENTS:
                continue
            text = path.read_text()
            if len(text.strip()) > 40:  # an empty __init__ matches anything
                package_files[path.relative_to(ROOT).as_posix()] = text

    texts = _student_texts(student_dir)
    leaks = []
    for name, text in texts.items():
        if name.split("/")[0] in ("solutions", "autograder"):
            leaks.append({"file": name, "kind": "instructor file", "what": name})
        lines = _lines(student_dir / name, text)
        for line in solution:
            if line in lines:
                leaks.append({"file": name, "kind": "solution code", "what": line})
        for hidden in hidden_names:
            if hidden in text:
                leaks.append({"file": name, "kind": "hidden test name", "what": hidden})
        for source in hidden_sources:
            if source in text:
                leaks.append({"file": name, "kind": "hidden test source", "what": source[:80]})
        for pkg_name, pkg_text in package_files.items():
            if pkg_text in text or text == pkg_text:
                leaks.append({"file": name, "kind": "instructor file", "what": pkg_name})
        for needle in ("import solutions", "from solutions", "from autograder", "import autograder"):
            if needle in text:
                leaks.append({"file": name, "kind": "instructor import", "what": needle})
    return {
        "assignment": assignment,
        "student_files": sorted(texts),
        "checked": {"solution_lines": len(solution), "hidden_test_names": len(hidden_names),
                    "hidden_test_sources": len(hidden_sources),
                    "instructor_files": len(package_files)},
        "leaks": leaks,
        "ok": not leaks,
    }


# ----------------------------------------------------------------------------- the build

def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _say(progress: Callable[[str], None] | None, assignment: str, step: str) -> None:
    if progress:
        progress(f"[{assignment}] {step}")


def build_assignment(assignment: str, out: Path, *, progress: Callable[[str], None] | None = None,
                     prove: bool = True, root: Path = ASSIGNMENTS) -> dict:
    """Build one assignment into out/<assignment>/ and prove it; returns a summary dict."""
    from autograder import grade

    master = master_path(assignment, root)
    dest = Path(out) / assignment
    _say(progress, assignment, "checking hidden tests against the checks registry")
    problems = notebook_tools.drift(master)
    if problems:
        raise BuildError(
            "the hidden tests of the master notebook differ from autograder/checks/"
            f"{assignment}.py:\n  " + "\n  ".join(problems) + "\nrun: python -m "
            f"autograder.notebook_tools sync {_shown(master)}")

    with tempfile.TemporaryDirectory(prefix=f"cnnlab_build_{assignment}_") as tmp:
        _say(progress, assignment, "staging the master notebook and its autograder files")
        staged = stage(master, Path(tmp))
        _say(progress, assignment, "running the public tests against each catalogued mistake "
             f"for their hints ({public_hints.FILE_NAME})")
        try:
            skipped = public_hints.ship(assignment, staged)
        except ValueError as err:
            raise BuildError(f"the public tests' hints: {err}") from None
        for reason in skipped:
            _say(progress, assignment, f"warning: no hints for a mistake: {reason}")
        _say(progress, assignment, "running otter assign")
        run_otter_assign(staged, Path(tmp) / "dist")
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for part in ("student", "autograder"):
            shutil.copytree(Path(tmp) / "dist" / part, dest / part,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    points = question_points(master)
    (dest / "questions.json").write_text(json.dumps(points, indent=2) + "\n")
    zips = sorted((dest / "autograder").glob("*.zip"))
    if len(zips) != 1:
        raise BuildError(f"expected one Gradescope zip in {dest / 'autograder'}, found {len(zips)}")
    summary = {"assignment": assignment, "student": str(dest / "student" / f"{assignment}.ipynb"),
               "zip": str(zips[0]), "questions": points}

    _say(progress, assignment, "pointing the zip's run_autograder at cnnlab's sandboxed grader")
    gradescope.install_entry(zips[0], assignment, points)
    _say(progress, assignment, "checking the Gradescope zip (support files, CPU torch)")
    problems = gradescope.check_zip(zips[0], assignment)
    if problems:
        raise BuildError("the Gradescope zip is incomplete:\n  " + "\n  ".join(problems))
    torch = gradescope.torch_install(gradescope.pip_requirements(zips[0]))
    summary["torch"] = torch["text"]
    _say(progress, assignment, f"the zip's environment installs {torch['text']}")

    _say(progress, assignment, "searching the student folder for leaks")
    report = leak_report(master, dest / "student", assignment)
    (dest / "leak_report.json").write_text(json.dumps(report, indent=2) + "\n")
    summary["leaks"] = len(report["leaks"])
    if not report["ok"]:
        shown = "\n  ".join(f"{l['file']}: {l['kind']}: {l['what']}" for l in report["leaks"][:10])
        raise BuildError(f"the student folder leaks instructor material "
                         f"({len(report['leaks'])} findings, see {dest / 'leak_report.json'}):\n  {shown}")

    if prove:
        _say(progress, assignment, "grading the reference notebook (must be 100%) and the blank "
             "student notebook (must be 0 everywhere) with the zip")
        ref, blank = grade.grade_many([dest / "autograder" / f"{assignment}.ipynb",
                                       dest / "student" / f"{assignment}.ipynb"],
                                      Path(out), assignment, jobs=2, engine="otter")
        (dest / "proofs.json").write_text(json.dumps({"reference": ref, "blank": blank,
                                                      "torch": torch}, indent=2) + "\n")
        summary["reference"] = f"{ref['total']:g}/{ref['possible']:g}"
        summary["blank"] = f"{blank['total']:g}/{blank['possible']:g}"
        not_full = {q: r for q, r in ref["questions"].items()
                    if not math.isclose(r["score"], r["possible"], abs_tol=1e-6)}
        if ref.get("error") or not_full or not math.isclose(ref["possible"], sum(points.values())):
            detail = ref.get("error") or "\n  ".join(
                f"{q}: {r['score']:g}/{r['possible']:g} {r['feedback']}" for q, r in not_full.items())
            raise BuildError(f"the reference notebook does not score 100% with the zip "
                             f"({summary['reference']}):\n  {detail}")
        scored = {q: r for q, r in blank["questions"].items() if r["score"] != 0}
        if blank.get("error") or scored or set(blank["questions"]) != set(points):
            detail = blank.get("error") or ", ".join(
                f"{q} ({r['score']:g})" for q, r in scored.items()) or "questions differ"
            raise BuildError(f"the blank student notebook scores points it should not: {detail}")
        _say(progress, assignment, "grading both again as Gradescope will: the zip's "
             "run_autograder entry point in a Gradescope-like folder")
        proofs = {}
        for label, notebook in (("reference", dest / "autograder" / f"{assignment}.ipynb"),
                                ("blank", dest / "student" / f"{assignment}.ipynb")):
            try:
                proofs[label] = gradescope.simulate(zips[0], notebook)
            except Exception as err:  # noqa: BLE001 - any failure of the entry point
                raise BuildError(f"the zip's Gradescope entry point failed on the {label} "
                                 f"notebook: {err}") from None
        possible = sum(points.values())
        ref_score, blank_score = proofs["reference"]["score"], proofs["blank"]["score"]
        summary["gradescope"] = {"reference": f"{ref_score:g}/{possible:g}",
                                 "blank": f"{blank_score:g}/{possible:g}"}
        (dest / "proofs.json").write_text(json.dumps(
            {"reference": ref, "blank": blank, "gradescope": proofs, "torch": torch},
            indent=2) + "\n")
        if not math.isclose(ref_score, possible, abs_tol=1e-6) or blank_score != 0:
            failing = [t for t in proofs["reference"]["tests"] if t["score"] < t["max_score"]]
            raise BuildError(
                f"Gradescope's grading gives the reference {ref_score:g}/{possible:g} and the "
                f"blank notebook {blank_score:g} (must be 100% and 0): " + "; ".join(
                    f"{t['name']}: {t['output'][:200]}" for t in failing))
    _say(progress, assignment, "ok")
    (dest / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


SUMMARY_FILE = "summary.json"  # build_assignment's summary, for a build that is reused


def _reused_summary(dest: Path) -> dict | None:
    """The summary kept with the build in `dest`, its paths pointing into `dest`: a build
    folder may have been moved or copied since it was written (None if there is none)."""
    if not (dest / SUMMARY_FILE).exists():
        return None
    summary = json.loads((dest / SUMMARY_FILE).read_text())
    zips = sorted((dest / "autograder").glob("*.zip"))
    summary["student"] = str(dest / "student" / Path(summary["student"]).name)
    summary["zip"] = str(zips[0]) if zips else summary["zip"]
    return summary


def input_fingerprint(assignment: str, root: Path = ASSIGNMENTS) -> str:
    """A hash of everything a build of `assignment` reads: the master notebook, the files
    it ships to the autograder, and the Otter version."""
    import hashlib

    import otter
    import torch
    master = master_path(assignment, root)
    digest = hashlib.sha256(f"otter {otter.__version__}\ntorch {torch.__version__}\n"
                            f"python {sys.version}\n".encode())
    paths = [master]
    config = notebook_tools.assignment_config(notebook_tools.read(master))
    for rel in config.get("autograder_files", []) + config.get("files", []):
        src = ROOT / rel
        paths += sorted(p for p in src.rglob("*.py") if p.name not in NOT_SHIPPED) \
            if src.is_dir() else [src]
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def ensure_built(assignment: str, out: Path, *, progress=None) -> Path:
    """Build `assignment` into `out` unless the build there is from the same inputs.
    A file lock makes concurrent callers (pytest-xdist workers, two `cnnlab grade`s) wait
    for one build instead of racing."""
    import fcntl

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = out / assignment / "inputs.sha256"
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        want = input_fingerprint(assignment)
        if not (stamp.exists() and stamp.read_text().strip() == want
                and list((out / assignment / "autograder").glob("*.zip"))):
            build_assignment(assignment, out, progress=progress)
            stamp.write_text(want + "\n")
        else:
            _say(progress, assignment, "reused: a proved build from the same inputs is there")
    return out / assignment


def build(assignments: list[str] | None, out: Path, *, progress=None, prove: bool = True,
          reuse: bool = False) -> list[dict]:
    """Build (and prove) each assignment into `out`. With `reuse`, a build already there
    from the same inputs (input_fingerprint: the master notebook, what it ships, the Otter,
    torch and Python versions) is kept, with its proofs, instead of being made again."""
    assignments = assignments or discover()
    if not assignments:
        raise BuildError(f"no master notebooks under {ASSIGNMENTS}")
    if not reuse:
        return [build_assignment(a, Path(out), progress=progress, prove=prove)
                for a in assignments]
    summaries = []
    for a in assignments:
        dest = ensure_built(a, Path(out), progress=progress)
        summary = _reused_summary(dest)
        if summary is None:  # a build from before summaries were kept: make it again
            summary = build_assignment(a, Path(out), progress=progress)
        summaries.append(summary)
    return summaries


if __name__ == "__main__":
    for s in build(sys.argv[2:] or None, Path(sys.argv[1]), progress=lambda m: print(m, file=sys.stderr)):
        print(json.dumps(s))
