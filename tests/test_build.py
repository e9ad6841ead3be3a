"""`cnnlab build`: the student notebook, the Gradescope zip, the proofs and the leak report.

Golden files live in tests/golden/<assignment>/. After an intended change to a master
notebook or to Otter's output, refresh them with

    CNNLAB_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_build.py

and review the diff before committing.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import build, gradescope, notebook_tools
from buildcache import built

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
SAMPLES = Path(__file__).parent / "samples"
A = "cnn_costs"
MASTER = ROOT / "assignments" / A / f"{A}.ipynb"
UPDATE = os.environ.get("CNNLAB_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="session")
def out(tmp_path_factory) -> Path:
    return built(tmp_path_factory, A)


def the_zip(out: Path) -> Path:
    (zip_path,) = (out / A / "autograder").glob("*.zip")
    return zip_path


def assert_golden(name: str, actual: str) -> None:
    path = GOLDEN / A / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
    assert path.exists(), f"no golden file {path}: run with CNNLAB_UPDATE_GOLDEN=1"
    assert actual == path.read_text(), (
        f"{name} differs from its golden file; if the change is intended, refresh with "
        "CNNLAB_UPDATE_GOLDEN=1 pytest tests/test_build.py")


# ----------------------------------------------------------------------------- fast tests

def test_master_hidden_tests_are_in_sync_with_the_registry():
    assert notebook_tools.drift(MASTER) == []


def test_sync_is_idempotent(tmp_path):
    copy = tmp_path / MASTER.name
    shutil.copy(MASTER, copy)
    assert notebook_tools.sync_hidden_tests(copy) is False
    assert copy.read_bytes() == MASTER.read_bytes()


def test_drift_fails_the_build_with_a_clear_message(tmp_path):
    root = tmp_path / "assignments"
    (root / A).mkdir(parents=True)
    nb = nbformat.read(MASTER, as_version=4)
    dropped = next(i for i, c in enumerate(nb.cells) if notebook_tools.is_hidden_test(c))
    del nb.cells[dropped]
    nbformat.write(nb, root / A / f"{A}.ipynb")
    with pytest.raises(build.BuildError, match="notebook_tools sync"):
        build.build_assignment(A, tmp_path / "out", root=root)
    # and sync repairs it
    assert notebook_tools.sync_hidden_tests(root / A / f"{A}.ipynb") is True
    assert notebook_tools.drift(root / A / f"{A}.ipynb") == []


def test_hidden_test_cells_are_thin_calls_into_the_registry():
    nb = nbformat.read(MASTER, as_version=4)
    hidden = [c.source for c in nb.cells if notebook_tools.is_hidden_test(c)]
    registered = [c.__name__ for cs in notebook_tools.registry(A).values() for c in cs]
    assert len(hidden) == len(registered)
    for source, name in zip(hidden, registered):
        assert f"from autograder.checks.{A} import {name} as check" in source
        assert source.rstrip().endswith("check(env)")


def test_master_reference_is_self_contained():
    """Students' notebooks must not depend on solutions/: the master's code imports nothing."""
    nb = nbformat.read(MASTER, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and not notebook_tools.is_hidden_test(cell):
            assert "solutions" not in cell.source and "autograder" not in cell.source


def test_unknown_assignment_fails_the_cli(tmp_path, capsys):
    from cnnlab.cli import main
    assert main(["build", "no_such_assignment", "--out", str(tmp_path)]) == 1
    assert "no master notebook" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the build

@pytest.mark.slow
def test_student_notebook_matches_golden(out):
    cells = notebook_tools.normalized_cells(out / A / "student" / f"{A}.ipynb")
    assert_golden("student_cells.json", json.dumps(cells, indent=1) + "\n")


@pytest.mark.slow
def test_student_folder_and_zip_file_lists_match_golden(out):
    student = sorted(p.relative_to(out / A / "student").as_posix()
                     for p in (out / A / "student").rglob("*") if p.is_file())
    with zipfile.ZipFile(the_zip(out)) as zf:
        # files/ holds the shipped packages, which other modules join; check_zip checks the
        # ones the hidden tests need.
        names = sorted(n for n in zf.namelist() if not n.startswith("files/"))
    assert_golden("student_files.txt", "\n".join(student) + "\n")
    assert_golden("zip_files.txt", "\n".join(names) + "\n")


@pytest.mark.slow
def test_zip_installs_cpu_torch_and_what_the_tests_import(out):
    zip_path = the_zip(out)
    assert gradescope.check_zip(zip_path, A) == []
    pip = gradescope.pip_requirements(zip_path)
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip
    assert "torch==2.13.0+cpu" in pip
    assert any(line.startswith("hypothesis") for line in pip)
    assert any(line.startswith("otter-grader[grading") for line in pip)
    assert not any("cuda" in line.lower() or "nvidia" in line.lower() for line in pip)
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        config = json.loads(zf.read("otter_config.json"))
    assert config["assignment_name"] == A
    assert not any("__pycache__" in n for n in names)
    assert not any(n.startswith(f"files/autograder/{m}") for n in names for m in build.NOT_SHIPPED)


@pytest.mark.slow
def test_check_zip_flags_an_unpinned_torch(out, tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(the_zip(out)) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "environment.yml":
                data = data.replace(b"torch==2.13.0+cpu", b"torch")
            dst.writestr(item, data)
    assert any("+cpu" in p for p in gradescope.check_zip(bad, A))


@pytest.mark.slow
def test_proofs_reference_full_marks_and_blank_zero(out):
    proofs = json.loads((out / A / "proofs.json").read_text())
    ref, blank = proofs["reference"], proofs["blank"]
    points = json.loads((out / A / "questions.json").read_text())
    assert set(points) == set(notebook_tools.registry(A))
    assert ref["total"] == ref["possible"] == sum(points.values())
    assert all(q["score"] == q["possible"] for q in ref["questions"].values())
    assert blank["total"] == 0 and set(blank["questions"]) == set(points)
    assert all(q["score"] == 0 for q in blank["questions"].values())


@pytest.mark.slow
def test_student_folder_has_no_leaks(out):
    report = json.loads((out / A / "leak_report.json").read_text())
    assert report["ok"] and report["leaks"] == []
    assert report["checked"]["solution_lines"] > 30
    assert report["checked"]["hidden_test_names"] >= 2 * len(notebook_tools.registry(A))
    text = (out / A / "student" / f"{A}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "# HIDDEN", "BEGIN PROMPT", "check(env)"):
        assert marker not in text


@pytest.mark.slow
def test_leak_report_catches_leaks(out, tmp_path):
    """Positive controls: the autograder folder is full of leaks; a planted one is found."""
    report = build.leak_report(MASTER, out / A / "autograder", A)
    kinds = {leak["kind"] for leak in report["leaks"]}
    assert {"solution code", "hidden test name", "instructor file"} <= kinds

    student = tmp_path / "student"
    shutil.copytree(out / A / "student", student)
    solution_line = next(l for l in notebook_tools.solution_code_lines(MASTER) if "2 * padding" in l)
    with open(student / "tests" / "conv_output_size.py", "a") as f:
        f.write(f"\n# {solution_line}\n    {solution_line}\n")
    (student / "solutions").mkdir()
    (student / "solutions" / "cnn_costs.py").write_text((ROOT / "solutions" / "cnn_costs.py").read_text())
    report = build.leak_report(MASTER, student, A)
    found = {(l["file"], l["kind"]) for l in report["leaks"]}
    assert ("tests/conv_output_size.py", "solution code") in found
    assert ("solutions/cnn_costs.py", "instructor file") in found


# ----------------------------------------------------------------------------- students' side

SITECUSTOMIZE = """\
# Hide this project's editable install, as on a student's machine: no solutions/, no autograder/.
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
"""


def student_env(tmp_path: Path) -> dict:
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return dict(os.environ, PYTHONPATH=str(shim), PYTHONDONTWRITEBYTECODE="1")


def student_folder(out: Path, tmp_path: Path, sample: str | None) -> Path:
    """A copy of the student folder alone, the notebook replaced by a sample if given."""
    folder = tmp_path / "student"
    shutil.copytree(out / A / "student", folder)
    if sample:
        shutil.copy(SAMPLES / f"{sample}.ipynb", folder / f"{A}.ipynb")
    return folder


@pytest.mark.slow
def test_instructor_packages_are_hidden_in_the_student_environment(tmp_path):
    run = subprocess.run([sys.executable, "-c", "import solutions"], cwd=tmp_path,
                         env=student_env(tmp_path), capture_output=True, text=True)
    assert "ModuleNotFoundError" in run.stderr


@pytest.mark.slow
@pytest.mark.parametrize("sample, passes", [("complete", True), ("missing_plus_one", False)])
def test_otter_check_cli_in_a_bare_student_folder(out, tmp_path, sample, passes):
    folder = student_folder(out, tmp_path, sample)
    run = subprocess.run([str(Path(sys.executable).parent / "otter"), "check", f"{A}.ipynb",
                          "-q", "conv_output_size"], cwd=folder, env=student_env(tmp_path),
                         capture_output=True, text=True, timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output  # otter check exits 0 even when tests fail
    assert "Traceback" not in output and "ModuleNotFoundError" not in output, output
    if passes:
        assert "conv_output_size passed!" in output or "All tests passed" in output, output
    else:
        # the public test says what came back, and which catalogued mistake that looks like
        assert "conv_output_size results:" in output, output
        assert "conv_output_size(227, 11, 4, 2) returned 55, expected 56" in output, output
        assert "it looks like you forgot the +1" in output, output


GRADER_CHECK = """\
import json, nbformat, otter
nb = nbformat.read("cnn_costs.ipynb", as_version=4)
env = {}
for cell in nb.cells:
    if cell.cell_type == "code" and "grader" not in cell.source and "alexnet" not in cell.source:
        exec(cell.source, env)
grader = otter.Notebook("cnn_costs.ipynb")
out = {}
for q in ["conv_output_size", "memory_kb", "cost_table"]:
    result = grader.check(q, global_env=env)
    out[q] = result.passed_all
print(json.dumps(out))
"""


@pytest.mark.slow
def test_grader_check_python_api_in_a_bare_student_folder(out, tmp_path):
    folder = student_folder(out, tmp_path, "memory_bytes")
    run = subprocess.run([sys.executable, "-c", GRADER_CHECK], cwd=folder,
                         env=student_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"conv_output_size": True, "memory_kb": False, "cost_table": True}


def test_a_build_from_the_same_inputs_is_reused_with_its_proofs(tmp_path_factory):
    """`make demo` a second time: nothing to rebuild, and the summary (the proofs' scores)
    is the one the first build wrote."""
    from buildcache import built

    out = built(tmp_path_factory, "cnn_costs")
    said: list[str] = []
    (summary,) = build.build(["cnn_costs"], out, reuse=True, progress=said.append)
    assert said == ["[cnn_costs] reused: a proved build from the same inputs is there"]
    assert summary["reference"] == "14/14" and summary["blank"] == "0/14"
    assert summary["leaks"] == 0 and Path(summary["zip"]).exists()


def test_builds_at_once_pass_their_progress_on_and_keep_the_order(tmp_path_factory):
    """build(jobs=2), as `make demo` builds: each assignment in a process of its own, their
    progress messages passed on, the summaries in the order asked, a failure raised."""
    from buildcache import seeded

    out = seeded(tmp_path_factory, tmp_path_factory.mktemp("at_once") / "build",
                 ["cnn_costs", "softmax_backprop"])
    said: list[str] = []
    summaries = build.build(["softmax_backprop", "cnn_costs"], out, reuse=True,
                            progress=said.append, jobs=2)
    assert [s["assignment"] for s in summaries] == ["softmax_backprop", "cnn_costs"]
    assert sorted(said) == [f"[{a}] reused: a proved build from the same inputs is there"
                            for a in ("cnn_costs", "softmax_backprop")]
    assert summaries[1]["reference"] == "14/14" and summaries[1]["blank"] == "0/14"
    with pytest.raises(build.BuildError, match="no master notebook .*no_such_one"):
        build.build(["no_such_one", "no_such_two"], out, jobs=2)


def test_cli_build_keeps_a_proved_build_and_force_makes_it_again(tmp_path_factory, monkeypatch,
                                                                  capsys):
    """`cnnlab build` on a folder holding a build from the same inputs keeps it (its summary
    pointing into that folder, wherever it was first written); `--force` builds again."""
    from buildcache import seeded
    from cnnlab.cli import main

    out = seeded(tmp_path_factory, tmp_path_factory.mktemp("second") / "build", ["cnn_costs"])
    assert main(["build", "cnn_costs", "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    assert "[cnn_costs] reused: a proved build from the same inputs is there" in captured.err
    summary = json.loads(captured.out)
    assert Path(summary["student"]) == out / "cnn_costs" / "student" / "cnn_costs.ipynb"
    assert Path(summary["zip"]).parent == out / "cnn_costs" / "autograder"
    assert summary["reference"] == "14/14" and summary["blank"] == "0/14"

    made = []

    def build_assignment(name, dest, progress=None, **kw):
        made.append(name)
        return dict(summary, student=str(Path(dest) / name / "student" / f"{name}.ipynb"))

    monkeypatch.setattr(build, "build_assignment", build_assignment)
    assert main(["build", "cnn_costs", "--out", str(out), "--force", "--json"]) == 0
    assert made == ["cnn_costs"] and "reused" not in capsys.readouterr().err
