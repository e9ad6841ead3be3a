"""What the Gradescope zip must hold is what its grading imports (gradescope.grading_modules),
not a hand-written list: a check split into a new module is asked for at once."""
from __future__ import annotations

import zipfile

import pytest

from autograder import gradescope, registry
from autograder.checks import probes


@pytest.mark.parametrize("assignment", registry.master_notebooks())
def test_grading_needs_the_checks_the_entry_point_and_the_sandbox(assignment):
    needed = gradescope.grading_modules(assignment)
    for path in (f"autograder/checks/{assignment}.py", "autograder/gradescope_entry.py",
                 "autograder/sandbox_child.py", "autograder/lockdown.py",
                 f"solutions/{assignment}.py", "solutions/__init__.py"):
        assert path in needed, path
    assert not any(p.startswith(("cnnlab/", "quizzes/", "tests/")) for p in needed)


def test_modules_reached_only_by_name_are_needed_too():
    # The probe modules are imported by name (importlib), and compiled into the sandbox.
    needed = gradescope.grading_modules("cnn_architectures")
    for module in probes.PROBE_MODULES:
        assert module.replace(".", "/") + ".py" in needed, module
    assert "autograder/checks/formula_probe.py" in gradescope.grading_modules("cnn_costs")


def _zip(tmp_path, paths) -> str:
    zip_path = tmp_path / "a.zip"
    env = ("dependencies:\n- pip:\n  - --extra-index-url " + gradescope.CPU_INDEX +
           "\n  - torch==2.13.0+cpu\n  - hypothesis\n  - pyseccomp\n")
    with zipfile.ZipFile(zip_path, "w") as zf:
        for name in ("run_autograder", "setup.sh", "otter_config.json", "tests/q.py"):
            zf.writestr(name, "")
        zf.writestr("environment.yml", env)
        for path in paths:
            zf.writestr(f"files/{path}", "")
    return zip_path


def test_check_zip_names_a_missing_split_module(tmp_path):
    needed = gradescope.grading_modules("cnn_costs")
    assert gradescope.check_zip(_zip(tmp_path, needed), "cnn_costs") == []
    without = [p for p in needed if p != "autograder/checks/student_values.py"]
    assert gradescope.check_zip(_zip(tmp_path, without), "cnn_costs") == [
        "the zip lacks files/autograder/checks/student_values.py"]
