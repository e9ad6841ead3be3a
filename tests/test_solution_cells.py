"""The master notebooks' solution cells are generated from solutions/<assignment>.py
(autograder.notebook_tools): in step, drift found and refused by the build, repaired by sync.
"""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import build, notebook_tools, registry
from autograder.reference_source import self_contained_source

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = tuple(registry.master_notebooks())  # the one registry, not a list here


def master(assignment: str) -> Path:
    return ROOT / "assignments" / assignment / f"{assignment}.ipynb"


def reference_part(source: str) -> str:
    """The code between a solution cell's first `# BEGIN SOLUTION NO PROMPT` and its
    `# END SOLUTION` lines, read independently of notebook_tools."""
    lines = source.split("\n")
    assert lines[0] == "# BEGIN SOLUTION NO PROMPT", lines[0]
    return "\n".join(lines[1:lines.index("# END SOLUTION")])


def solution_sources(assignment: str) -> list[tuple[str, str]]:
    nb = nbformat.read(master(assignment), as_version=4)
    return [(question, nb.cells[i].source) for i, question in notebook_tools.solution_cells(nb)]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_master_solution_cells_are_in_step_with_solutions(assignment, tmp_path):
    assert notebook_tools.solution_drift(master(assignment)) == []
    assert notebook_tools.drift(master(assignment)) == []
    copy = tmp_path / f"{assignment}.ipynb"
    shutil.copy(master(assignment), copy)
    assert notebook_tools.sync(copy) is False
    assert copy.read_bytes() == master(assignment).read_bytes()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_reference_cells_run_the_modules_code(assignment):
    """Executed in order, the solution cells' reference parts define each name the
    stubs define, with the very source of solutions/<assignment>.py (tables inlined), and
    each top-level definition of it at most once."""
    module = {}
    for node in ast.parse(self_contained_source(assignment)).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            module[node.name] = ast.dump(node)
    env: dict = {}
    defined: list[str] = []
    for _, source in solution_sources(assignment):
        code = reference_part(source)
        for node in ast.parse(code).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                assert ast.dump(node) == module[node.name], node.name
                defined.append(node.name)
        exec(compile(code, f"<{assignment} solution cell>", "exec"), env)  # noqa: S102
    assert defined and len(defined) == len(set(defined))
    stubs = {n for _, source in solution_sources(assignment)
             for n in notebook_tools.stub_names(notebook_tools.stub(source))}
    assert stubs and stubs <= set(env), stubs - set(env)


def test_the_stub_is_what_students_get():
    (_, source), *_ = solution_sources("cnn_costs")
    assert notebook_tools.stub(source) == (
        'def conv_output_size(size, kernel, stride=1, padding=0):\n'
        '    """Output size of a conv along one dimension: floor((W - K + 2P) / S) + 1."""\n'
        '    raise NotImplementedError("conv_output_size")')


def drifted_copy(tmp_path: Path, assignment: str = "cnn_costs") -> Path:
    """A copy of the master in a root of its own, one solution cell edited by hand (a
    comment changed, as a maintainer editing the notebook instead of the module would)."""
    root = tmp_path / "assignments"
    (root / assignment).mkdir(parents=True)
    nb = nbformat.read(master(assignment), as_version=4)
    i, _ = notebook_tools.solution_cells(nb)[1]
    assert "return (size - kernel + 2 * padding) // stride + 1" in nb.cells[i].source
    nb.cells[i].source = nb.cells[i].source.replace(
        "return (size - kernel + 2 * padding) // stride + 1",
        "return (size - kernel + 2 * padding) // stride + 1  # the lecture's formula")
    path = root / assignment / f"{assignment}.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_drifted_solution_cell_is_reported_refused_and_repaired(tmp_path, capsys):
    path = drifted_copy(tmp_path)
    nb = nbformat.read(path, as_version=4)
    cell_id = nb.cells[notebook_tools.solution_cells(nb)[1][0]].id
    problems = notebook_tools.drift(path)
    assert len(problems) == 1
    assert "'pool_output_size'" in problems[0] and cell_id in problems[0]
    assert notebook_tools.main(["check", str(path)]) == 1
    assert cell_id in capsys.readouterr().out

    with pytest.raises(build.BuildError) as refused:
        build.build_assignment("cnn_costs", tmp_path / "out", root=path.parent.parent,
                               prove=False)
    message = str(refused.value)
    assert "\n" not in message
    assert cell_id in message and "solutions/cnn_costs.py" in message
    assert f"python -m autograder.notebook_tools sync {path}" in message
    assert not (tmp_path / "out" / "cnn_costs").exists()  # refused before Otter ran

    assert notebook_tools.sync(path) is True
    assert notebook_tools.drift(path) == []
    assert path.read_bytes() == master("cnn_costs").read_bytes()


def test_a_cell_in_otter_format_is_turned_into_the_generated_one(tmp_path):
    """A solution written inside its stub (Otter's `# BEGIN SOLUTION NO PROMPT` in the body,
    the prompt in a string after it) keeps its stub and gets the module's code."""
    path = drifted_copy(tmp_path)
    nb = nbformat.read(path, as_version=4)
    i, _ = notebook_tools.solution_cells(nb)[0]
    nb.cells[i].source = (
        "def conv_output_size(size, kernel, stride=1, padding=0):\n"
        '    """Output size of a conv along one dimension: floor((W - K + 2P) / S) + 1."""\n'
        "    # BEGIN SOLUTION NO PROMPT\n"
        "    return (size - kernel + 2 * padding) // stride + 1\n"
        "    # END SOLUTION\n"
        '    """ # BEGIN PROMPT\n'
        '    raise NotImplementedError("conv_output_size")\n'
        '    """ # END PROMPT')
    nbformat.write(nb, path)
    assert len(notebook_tools.solution_drift(path)) == 2
    notebook_tools.sync(path)
    assert path.read_bytes() == master("cnn_costs").read_bytes()


def test_a_stub_naming_what_the_module_lacks_is_an_error(tmp_path):
    path = drifted_copy(tmp_path)
    nb = nbformat.read(path, as_version=4)
    i, _ = notebook_tools.solution_cells(nb)[0]
    nb.cells[i].source += "\n\n\ndef conv_output_sizes(sizes):\n    raise NotImplementedError"
    nbformat.write(nb, path)
    (problem,) = notebook_tools.solution_drift(path)
    assert "conv_output_sizes" in problem and "solutions/cnn_costs.py" in problem
    with pytest.raises(ValueError, match="conv_output_sizes"):
        notebook_tools.sync_solution_cells(path)
