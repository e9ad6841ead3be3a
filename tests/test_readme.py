"""README.md: every command it shows is real, and every one is exercised here.

The commands are the lines of the README's ```bash / ```console / ```sh blocks (a leading
`$ ` is dropped, `\\` continuations are joined, `# comments` ignored). Each line must be of a
kind this file knows how to check, so a new kind of command cannot slip in untested:

- `cnnlab ...`: parses with cnnlab's own parser (cnnlab.cli.build_parser), and runs, in README
  order, in a temporary folder holding the repository's `samples/` and `quizzes/samples/` as
  symlinks, so the README's relative paths work as they do from the repository root; exit
  codes and the files each command promises are checked. `cnnlab build` (a minute or two)
  runs in a test of its own, followed by the Students block that checks a notebook in the
  built student folder. `cnnlab demo` is run by tests/test_demo.py; here it must only be what
  `make demo` runs.
- `make X`: X is a target of the Makefile (`make demo` runs `cnnlab demo`, `make test` pytest,
  and the Makefile installs the CPU torch before the project).
- `python -m M ...`: M is importable; `autograder.notebook_tools check` runs on the
  repository's notebook, `sync` on a copy, which must come out already in sync.
- `.venv/bin/python FILE ...`, `.venv/bin/pytest FILE`: FILE exists, and an environment
  variable set in front of it is read by FILE. They rewrite checked-in files, so they are not
  run here.
- `otter check NOTEBOOK`: only in the Students section, after a `cd` into a student folder.
  Run here in the folder `cnnlab build` wrote; tests/test_build.py
  (test_otter_check_cli_in_a_bare_student_folder) runs it in a bare student folder, with the
  instructor packages hidden as on a student's machine.
- `cd DIR`: changes the folder for the rest of its block.
- `dask scheduler`, `dask worker ADDRESS ...`: the venv's `dask` has that command, and its
  options parse (`--help` of it with the README's arguments); the README's
  `cnnlab grade ... --scheduler tcp://HOST:8786` then runs against a LocalCluster started
  here, its address put in place of tcp://HOST:8786.
"""
from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from buildcache import seeded
from cnnlab.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MAKEFILE = ROOT / "Makefile"
BIN = Path(sys.executable).parent          # the venv's bin/, where `cnnlab` and `otter` live
SHELL_LANGS = {"bash", "console", "sh", "shell"}
PNG = b"\x89PNG\r\n\x1a\n"
ASSIGNMENTS = sorted(p.name for p in (ROOT / "assignments").iterdir()
                     if (p / f"{p.name}.ipynb").exists())


@dataclass(frozen=True)
class Command:
    text: str        # the line as written (continuations joined, prompt dropped)
    argv: tuple      # shlex.split of it, comments dropped, environment assignments removed
    env: tuple       # ("NAME=value", ...) written in front of the command
    section: str     # the enclosing "## " heading
    heading: str     # the nearest heading of any level
    block: int       # index of its fenced block in the README
    lineno: int      # line in README.md


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def readme_commands(text: str | None = None) -> list[Command]:
    text = readme_text() if text is None else text
    out: list[Command] = []
    section = heading = ""
    lang = None
    block = -1
    pending, pending_line = "", 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("```"):
            if lang is None:
                lang = stripped[3:].strip().lower() or "text"
                block += 1
            else:
                assert not pending, f"README.md:{pending_line}: a continued line ends the block"
                lang = None
            continue
        if lang is None:
            match = re.match(r"^(#{1,6})\s+(.*)$", raw)
            if match:
                heading = match.group(2).strip()
                if len(match.group(1)) == 2:
                    section = heading
            continue
        if lang not in SHELL_LANGS:
            continue
        line = stripped[2:] if stripped.startswith("$ ") else stripped
        if not pending:
            pending_line = lineno
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = (pending + line).strip(), ""
        if not line or line.startswith("#"):
            continue
        tokens = shlex.split(line, comments=True)
        env = []
        while tokens and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0]):
            env.append(tokens.pop(0))
        out.append(Command(line, tuple(tokens), tuple(env), section, heading, block,
                           pending_line))
    assert lang is None, "README.md: a fenced block is never closed"
    return out


def kind(cmd: Command) -> str:
    argv = cmd.argv
    prog = argv[0] if argv else ""
    name = Path(prog).name
    if name == "cnnlab":
        return "cnnlab"
    if name == "otter" and argv[1:2] == ("check",):
        return "otter check"
    if name == "make":
        return "make"
    if name in ("python", "python3"):
        return "python -m" if argv[1:2] == ("-m",) else "python script"
    if name == "pytest":
        return "pytest"
    if prog == "cd":
        return "cd"
    if name == "dask" and argv[1:2] in (("scheduler",), ("worker",)):
        return "dask"
    return "unknown"


def of_kind(k: str) -> list[Command]:
    return [c for c in readme_commands() if kind(c) == k]


def parse_cnnlab(cmd: Command):
    try:
        return build_parser().parse_args(list(cmd.argv[1:]))
    except SystemExit as err:  # argparse exits on a bad command line
        raise AssertionError(f"README.md:{cmd.lineno}: `{cmd.text}` does not parse "
                             f"(exit {err.code})") from None


def makefile_targets() -> dict[str, list[str]]:
    """{target: its recipe lines}."""
    targets: dict[str, list[str]] = {}
    current = None
    for line in MAKEFILE.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.$()/-]+)\s*:(?!=)", line)
        if match and not line.startswith("\t"):
            current = match.group(1)
            targets.setdefault(current, [])
        elif line.startswith("\t") and current:
            targets[current].append(line.strip())
        elif line.strip() and not line.startswith(("#", "\t")):
            current = None  # a variable or directive ends the rule
    return targets


# ----------------------------------------------------------------------------- the README's shape

def test_every_command_is_of_a_checked_kind():
    commands = readme_commands()
    assert len(commands) >= 15, [c.text for c in commands]
    unknown = [f"README.md:{c.lineno}: {c.text}" for c in commands if kind(c) == "unknown"]
    assert not unknown, f"commands this test does not know how to check: {unknown}"


def test_sections():
    text = readme_text()
    sections = re.findall(r"^## (.+)$", text, re.M)
    for name in ("Set-up", "Instructors", "Students", "Maintainers"):
        assert name in sections, sections
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        if not re.match(r"^[a-z]+://", link):
            assert (ROOT / link).exists(), f"README.md links to a missing file: {link}"
    # the facts the README must state
    for phrase in ("CPU build of torch", "Import Course Content", "QTI .zip",
                   'grader.check("conv_output_size")', "hidden tests", "docs/security.md",
                   "docs/lecture_errata.md", "docs/benchmarks.md", "tests/test_quiz_golden.py",
                   "solutions/mistakes/edits.py", "autograder/mutants.py",
                   "solutions/module_costs.py", "samples/make_samples.py", "QUESTIONS"):
        assert phrase in text, phrase


def test_set_up_is_exactly_make_demo_and_make_test():
    setup = [c for c in readme_commands() if c.section == "Set-up"]
    assert [c.text for c in setup] == ["make demo", "make test"]
    targets = makefile_targets()
    assert any("cnnlab demo" in line for line in targets["demo"]), targets["demo"]
    assert any("pytest" in line for line in targets["test"]), targets["test"]
    # `make` creates .venv, installs the CPU torch first, then the project (the commands
    # `make install` would run, as make expands them; tests/test_install.py checks more)
    install = subprocess.run(["make", "-n", "-B", "install", "GPU=0"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    assert "venv" in install
    torch_at = install.index("torch==2.13.0+cpu")
    assert torch_at < install.index("-e '.[dev]'"), install


def test_make_lines_name_makefile_targets():
    targets = makefile_targets()
    lines = of_kind("make")
    assert {"make demo", "make test", "make bench"} <= {c.text for c in lines}
    for c in lines:
        for target in c.argv[1:]:
            if "=" not in target:
                assert target in targets, f"README.md:{c.lineno}: no Makefile target {target!r}"


def test_cnnlab_lines_parse_with_the_real_parser():
    lines = of_kind("cnnlab")
    commands = set()
    for c in lines:
        args = parse_cnnlab(c)
        assert getattr(args, "func", None), f"README.md:{c.lineno}: `{c.text}` runs nothing"
        commands.add(args.command + (f" {args.quiz_command}" if args.command == "quiz" else ""))
    assert {"build", "grade", "costs", "quiz generate", "quiz grade", "mutants"} <= commands


def test_cnnlab_demo_is_what_make_demo_runs():
    # tests/test_demo.py runs `cnnlab demo`; the README shows it through `make demo`.
    recipe = " ".join(makefile_targets()["demo"])
    demo = re.search(r"cnnlab (demo .*)$", recipe).group(1).replace("$(DEMO_OUT)", "demo_out")
    args = build_parser().parse_args(shlex.split(demo))
    assert args.command == "demo" and args.out == "demo_out"
    assert "demo_out" in readme_text()


def test_python_modules_import_and_scripts_exist():
    for c in of_kind("python -m"):
        module = c.argv[2]
        assert importlib.util.find_spec(module), f"README.md:{c.lineno}: no module {module}"
    scripts = of_kind("python script") + of_kind("pytest")
    assert scripts
    for c in scripts:
        path = ROOT / c.argv[1]
        assert path.is_file(), f"README.md:{c.lineno}: no file {c.argv[1]}"
        assert Path(c.argv[0]).parts[0] == ".venv" and (ROOT / c.argv[0]).exists(), c.text
        for assignment in c.env:
            name = assignment.split("=", 1)[0]
            assert name in path.read_text(), f"{path.name} does not read {name}"


def test_notebook_tools_lines_run(tmp_path):
    lines = [c for c in of_kind("python -m") if c.argv[2] == "autograder.notebook_tools"]
    assert {c.argv[3] for c in lines} == {"sync", "check"}
    for c in lines:
        cwd = ROOT
        if c.argv[3] == "sync":  # it rewrites the notebook: run it on a copy
            cwd = tmp_path
            for rel in c.argv[4:]:
                (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / rel, tmp_path / rel)
        argv = [sys.executable, *c.argv[1:]]
        run = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        expected = "already in sync" if c.argv[3] == "sync" else "in sync with the registry"
        assert expected in run.stdout, run.stdout


def test_otter_check_is_run_in_the_student_folder():
    commands = readme_commands()
    lines = of_kind("otter check")
    assert lines
    for c in lines:
        assert c.section == "Students", f"README.md:{c.lineno}: otter check outside Students"
        cds = [d for d in commands if d.block == c.block and kind(d) == "cd"
               and d.lineno < c.lineno]
        assert cds and cds[-1].argv[1].rstrip("/").endswith("/student"), c.text
        assert "student folder" in section_text("Students")


def section_text(name: str) -> str:
    text = readme_text()
    match = re.search(rf"^## {re.escape(name)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    return match.group(1)


def readme_grader_checks() -> list[str]:
    calls = re.findall(r'grader\.check\("(\w+)"\)', section_text("Students"))
    assert calls
    return calls


def test_grader_check_names_a_question():
    # Otter Assign writes the `grader.check(...)` cells into the student notebook; the slow
    # test below finds them in the built one.
    from autograder.notebook_tools import registry
    for q in readme_grader_checks():
        assert q in registry("cnn_costs"), q


# ----------------------------------------------------------------------------- running them

@pytest.fixture
def workspace(tmp_path) -> Path:
    """A folder where the README's relative paths resolve as in the repository root."""
    (tmp_path / "samples").symlink_to(ROOT / "samples")
    (tmp_path / "quizzes").mkdir()
    (tmp_path / "quizzes" / "samples").symlink_to(ROOT / "quizzes" / "samples")
    return tmp_path


def shell_env() -> dict:
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")


def run_commands(commands: list[Command], workspace: Path, before=None) -> list[tuple]:
    """Run each command through bash (globs expand as in a terminal) in README order; a `cd`
    holds for the rest of its block. Returns [(command, cwd, CompletedProcess)]."""
    assert (BIN / "cnnlab").exists(), f"no cnnlab in {BIN}"
    results = []
    cwd, block = workspace, None
    for c in commands:
        if c.block != block:
            cwd, block = workspace, c.block
        if kind(c) == "cd":
            cwd = (cwd / c.argv[1]).resolve()
            assert cwd.is_dir(), f"README.md:{c.lineno}: `{c.text}`: no folder {cwd}"
            continue
        if before:
            before(c, cwd)
        run = subprocess.run(["bash", "-c", c.text], cwd=cwd, env=shell_env(),
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, (f"README.md:{c.lineno}: `{c.text}` exited "
                                     f"{run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        results.append((c, cwd, run))
    return results


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG


def check_promises(c: Command, cwd: Path, run) -> None:
    """The files and output each cnnlab command promises."""
    args = parse_cnnlab(c)
    where = f"README.md:{c.lineno}: `{c.text}`"
    if args.command == "build":
        out = cwd / args.out
        for a in args.assignments or ASSIGNMENTS:
            assert (out / a / "student" / f"{a}.ipynb").is_file(), where
            assert list((out / a / "student" / "tests").glob("*.py")), where
            assert len(list((out / a / "autograder").glob("*.zip"))) == 1, where
            assert json.loads((out / a / "leak_report.json").read_text())["ok"], where
            proofs = json.loads((out / a / "proofs.json").read_text())
            assert proofs["reference"]["total"] == proofs["reference"]["possible"] > 0, where
            assert proofs["blank"]["total"] == 0, where
    elif args.command == "grade":
        expanded = subprocess.run(
            ["bash", "-c", 'for f in ' + " ".join(args.submissions) + '; do echo "$f"; done'],
            cwd=cwd, capture_output=True, text=True).stdout.split()
        assert expanded and all((cwd / f).is_file() for f in expanded), (where, expanded)
        if args.json:
            records = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
            assert sorted(r["submission"] for r in records) == sorted(expanded), where
            for r in records:
                assert set(r) >= {"submission", "assignment", "total", "possible", "questions"}
                assert 0 <= r["total"] <= r["possible"], r
                if Path(r["submission"]).stem == "hostile":
                    # a hostile notebook is graded to completion: some points, not all
                    assert 0 < r["total"] < r["possible"], r
        else:
            for f in expanded:
                assert f in run.stdout, (where, f)
        if args.csv:
            with open(cwd / args.csv, newline="") as fh:
                rows = list(csv.DictReader(fh))
            assert sorted(r["submission"] for r in rows) == sorted(expanded), where
            correct = [r for r in rows if Path(r["submission"]).stem == "correct"]
            assert all(float(r["total"]) == float(r["possible"]) for r in correct), correct
    elif args.command == "quiz" and args.quiz_command == "generate":
        out = cwd / args.out
        for name in ("quiz.qti.zip", "quiz.md", "answer_key.json"):
            assert (out / name).is_file(), (where, name)
        assert zipfile.ZipFile(out / "quiz.qti.zip").testzip() is None
        key = json.loads((out / "answer_key.json").read_text())
        if args.roster:
            with open(cwd / args.roster, newline="") as fh:
                ids = {r["id"] for r in csv.DictReader(fh)}
            assert {e["student"] for e in key} == ids, where
    elif args.command == "quiz" and args.quiz_command == "grade":
        if args.plot:
            assert is_png(cwd / args.plot), where
        if args.json:
            assert "students" in json.loads(run.stdout)
        else:
            assert "likely" in run.stdout, where
    elif args.command == "costs":
        if args.plot:
            assert is_png(cwd / args.plot), where
        if args.json:
            report = json.loads(run.stdout)
            assert report["model"] == args.model and report["rows"], where
        else:
            assert "conv" in run.stdout.lower(), where
    elif args.command == "mutants":
        if args.json:
            assert all(m["caught"] for m in json.loads(run.stdout)), where
        else:
            assert re.search(r"(\d+) of \1 mutants caught", run.stdout), run.stdout[-2000:]
    elif args.command == "doctor":
        assert run.returncode == 0, (where, run.stdout, run.stderr)
        assert "every layer is on" in run.stdout and "torch" in run.stdout, where
    else:
        raise AssertionError(f"{where}: no promises known for `cnnlab {args.command}`")


@pytest.mark.slow
def test_instructor_commands_run(workspace):
    """Every cnnlab line but build (next test) and demo (tests/test_demo.py), in order:
    about a minute, most of it `cnnlab mutants cnn_costs` and grading the samples."""
    commands = [c for c in of_kind("cnnlab")
                if parse_cnnlab(c).command not in ("build", "demo")
                and not getattr(parse_cnnlab(c), "scheduler", None)]
    assert len(commands) >= 6
    for c, cwd, run in run_commands(commands, workspace):
        check_promises(c, cwd, run)


@pytest.mark.slow
def test_build_and_otter_check_run(workspace, tmp_path_factory):
    """`cnnlab build` as the README shows it (all three assignments: one to two minutes), then
    the Students block in the folder it wrote, with the notebook implemented (the bundled
    correct sample put in its place)."""
    builds = [c for c in of_kind("cnnlab") if parse_cnnlab(c).command == "build"]
    assert builds
    # The README's build finds the session's proved builds there and keeps them, as a second
    # `cnnlab build` does (tests/buildcache.py builds each assignment once per session).
    seeded(tmp_path_factory, workspace / parse_cnnlab(builds[0]).out, ASSIGNMENTS)
    for c, cwd, run in run_commands(builds, workspace):
        check_promises(c, cwd, run)
        assert "reused: a proved build from the same inputs is there" in run.stderr, run.stderr

    student_blocks = {c.block for c in of_kind("otter check")}
    student = [c for c in readme_commands() if c.block in student_blocks]

    def implement(c: Command, cwd: Path) -> None:
        notebook = cwd / c.argv[2]
        assignment = notebook.stem
        assert notebook.is_file() and (cwd / "tests").is_dir(), cwd
        shutil.copy(ROOT / "samples" / assignment / "correct.ipynb", notebook)

    import nbformat
    out = workspace / parse_cnnlab(builds[0]).out
    nb = nbformat.read(out / "cnn_costs" / "student" / "cnn_costs.ipynb", 4)
    sources = [cell.source.strip() for cell in nb.cells if cell.cell_type == "code"]
    for q in readme_grader_checks():
        assert f'grader.check("{q}")' in sources, q

    for c, cwd, run in run_commands(student, workspace, before=implement):
        assert "All tests passed" in run.stdout + run.stderr, run.stdout + run.stderr


def test_dask_commands_are_real():
    for c in of_kind("dask"):
        run = subprocess.run([str(BIN / "dask"), *c.argv[1:], "--help"], capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0, f"README.md:{c.lineno}: `{c.text}`: {run.stderr[-500:]}"


@pytest.mark.slow
def test_cluster_grading_runs(tmp_path):
    """The README's `cnnlab grade ... --scheduler tcp://HOST:8786`, against a LocalCluster."""
    from distributed import LocalCluster

    commands = [c for c in of_kind("cnnlab") if getattr(parse_cnnlab(c), "scheduler", None)]
    assert commands
    (tmp_path / "submissions").mkdir()
    for name in ("correct", "blank"):
        shutil.copy(ROOT / "samples" / "cnn_costs" / f"{name}.ipynb",
                    tmp_path / "submissions" / f"{name}.ipynb")
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        for c in commands:
            line = c.text.replace("tcp://HOST:8786", cluster.scheduler_address)
            env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
            run = subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True,
                                 text=True, timeout=600, env=env)
            assert run.returncode == 0, f"README.md:{c.lineno}: {run.stderr[-800:]}"
    rows = list(csv.DictReader(open(tmp_path / "grades.csv")))
    assert sorted(r["total"] for r in rows) == ["0", "14"], rows
