"""The public tests' hints: `public_hints.py`, written by `cnnlab build` beside each student
notebook, so that a failing public test says what came back and which catalogued mistake
that looks like.

A public test builds its assertion message with `explain(call, got, expected)` from that file
(`public_hints_runtime.py` is its code; the tests fall back to "returned X, expected Y" when
the file is missing). Its table HINTS, {(call, what): [(wrong value, hint)]}, is made here:

1. the reference environment is the master notebook's own code (its given code and solution
   cells, without the demos in top-level `try:`/`for`/`if`... blocks);
2. every catalogued mistake of the assignment is swapped into a fresh copy of it: the formula
   mistakes of autograder/mistakes.py, the source mutants of autograder/mutants.py, and for
   softmax_backprop the mistaken gradients of its checks (`mistaken_grads`);
3. each public test runs once per mistake, with a recording `explain`: the assertion that
   fails records its (call, what), the value the mistake returned there, and the mistake.

So the table holds only the calls the public tests themselves make, values that differ from
the reference's (the assertion failed), and the catalogue's descriptions: no hidden-test
argument, no expected value, no code. A mistake added to a catalogue reaches the students
with the next build, and a public test added to a notebook gets its hints the same way.
"""
from __future__ import annotations

import ast
import contextlib
import functools
import inspect
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from autograder import notebook_tools
from autograder import public_hints_runtime as runtime

FILE_NAME = "public_hints.py"           # beside the student notebook
RUNTIME = Path(runtime.__file__)        # its code; the build ships it (not an instructor file)
_DEMO_STATEMENTS = (ast.Try, ast.For, ast.While, ast.With, ast.If, ast.AsyncFor, ast.AsyncWith)


@dataclass(frozen=True)
class Mistake:
    hint: str                                  # shown after "it looks like "
    overrides: Callable[[dict], dict]          # reference env -> the names it replaces
    affects: frozenset | None = None           # the names it changes; None: any


# ----------------------------------------------------------------------------- the notebook

def public_tests(master: str | Path) -> list[str]:
    """The source of every public test cell of the master, in notebook order."""
    nb = notebook_tools.read(master)
    sources = []
    for block in notebook_tools.question_blocks(nb).values():
        if block["tests_begin"] is None or block["tests_end"] is None:
            continue
        for cell in nb.cells[block["tests_begin"] + 1:block["tests_end"]]:
            if cell.cell_type == "code" and not notebook_tools.is_hidden_test(cell):
                sources.append(notebook_tools._source(cell))
    return sources


def reference_env(master: str | Path) -> dict:
    """A fresh namespace holding the master notebook's code, tests and demos left out."""
    path = Path(master)
    stat = path.stat()
    env: dict = {"__name__": "__main__"}
    for code in _compiled_cells(str(path.resolve()), stat.st_mtime_ns, stat.st_size):
        exec(code, env)
    return env


@functools.lru_cache(maxsize=8)
def _compiled_cells(master: str, mtime_ns: int, size: int) -> list:
    """The master's code cells (tests and demos left out), compiled once per version."""
    nb = notebook_tools.read(master)
    tests = set(public_tests(master))
    compiled = []
    for number, cell in enumerate(nb.cells, start=1):
        source = notebook_tools._source(cell)
        if cell.cell_type != "code" or notebook_tools.is_hidden_test(cell) or source in tests:
            continue
        tree = ast.parse(source)
        tree.body = [node for node in tree.body if not isinstance(node, _DEMO_STATEMENTS)]
        compiled.append(compile(tree, f"<{Path(master).name} cell {number}>", "exec"))
    return compiled


# ----------------------------------------------------------------------------- the catalogues

def _formula_mistakes() -> list[Mistake]:
    from solutions.mistakes import formulas as mistakes
    return [Mistake(f"you {m.description}", lambda env, m=m: {m.target: m.wrong})
            for m in mistakes.CATALOGUE]


def _source_mutants(assignment: str) -> list[Mistake]:
    """The source mutants of the reference; only the definitions a mutant changes (and what
    uses them) replace the notebook's, and only the tests of those run."""
    from autograder import mutants

    found = []
    for m in mutants.SOURCE_MUTANTS:
        if m.assignment != assignment:
            continue
        affects = mutants.changed_names(m)  # what cnnlab mutants says the mutant reaches

        def overrides(env, m=m, affects=affects):
            namespace = mutants.apply_source_mutant(m)
            return {k: v for k, v in namespace.items()
                    if k in env and not k.startswith("__") and (affects is None or k in affects)
                    and not isinstance(v, types.ModuleType)}
        found.append(Mistake(m.mistake, overrides, affects))
    return found


def _mistaken_gradients() -> list[Mistake]:
    """softmax_backprop: each gradient of `mistaken_grads` in turn, the rest right."""
    import torch

    from autograder.checks.softmax_backprop import make_params, mistaken_grads

    def overrides(env, name, description):
        right = env["two_layer_forward_backward"]

        def wrong(params, X, y=None, reg=0.0):
            result = right(params, X, y, reg)
            if y is None:
                return result
            loss, grads = result
            table = mistaken_grads(params, X, y, reg)[name]
            if description not in table:
                return result
            return loss, {**grads, name: table[description].to(grads[name].dtype)}
        return {"two_layer_forward_backward": wrong}

    # Every (gradient, description) there is: the descriptions of a problem with reg > 0.
    X, y = torch.ones(2, 3, dtype=torch.float64), torch.tensor([0, 1])
    listed = mistaken_grads(make_params(3, 4, 2, seed=0), X, y, 0.1)
    return [Mistake(f"you {description}",
                    lambda env, n=name, d=description: overrides(env, n, d))
            for name, table in listed.items() for description in table]


def mistakes_for(assignment: str) -> list[Mistake]:
    found = _formula_mistakes() if assignment == "cnn_costs" else []
    found += _source_mutants(assignment)
    if assignment == "softmax_backprop":
        found += _mistaken_gradients()
    return found


# ----------------------------------------------------------------------------- recording

class _ExplainRecorder:
    """A stand-in for the students' `public_hints` module: explain() notes its call."""

    def __init__(self):
        self.module = types.ModuleType("public_hints")
        self.module.explain = self.explain
        self.last = None

    def explain(self, call, got, expected, what="", note=""):
        message = f"{call} returned {what} {runtime.shown(got)} (recorded)"
        self.last = (message, (call, what), runtime.fingerprint(got))
        return message


@contextlib.contextmanager
def isolated(hints: types.ModuleType | None):
    """Run notebook code here without leaving a trace: torch's default dtype, RNG and
    threads and the warnings filters as they were, and `import public_hints` giving `hints`
    (None: ImportError) only meanwhile. One thread: the tests' tensors are tiny, and on a busy
    machine torch's thread pool made them 10x slower. torch's state is kept only where torch
    is imported already: a cnn_costs build never imports it (1 to 2 s); one that the code
    run here imports gets its default dtype back."""
    torch = sys.modules.get("torch")
    saved = sys.modules.get("public_hints")
    if torch is not None:
        dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
        torch.set_num_threads(1)
    sys.modules["public_hints"] = hints
    try:  # the mutants are broken on purpose: their warnings are noise in a build's log
        with (torch.random.fork_rng(devices=[]) if torch is not None
              else contextlib.nullcontext()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        if torch is not None:
            torch.set_default_dtype(dtype)
            torch.set_num_threads(threads)
        elif "torch" in sys.modules:
            sys.modules["torch"].set_default_dtype(sys.modules["torch"].float32)
        if saved is None:
            sys.modules.pop("public_hints", None)
        else:
            sys.modules["public_hints"] = saved


def _test_function(source: str):
    namespace: dict = {}
    exec(compile(source, "<public test>", "exec"), namespace)
    (test,) = [v for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    return test


def _skipping_random_init():
    """model_specs.skip_random_init where torch is imported (else no model can be built, and
    importing torch for the mode would cost a cnn_costs build 1 to 2 s)."""
    if "torch" not in sys.modules:
        return contextlib.nullcontext()
    from autograder.checks.model_specs import skip_random_init

    return skip_random_init()


def run_public_test(source: str, env: dict, recorder: _ExplainRecorder):
    """Run one public test against `env`: None if it passes, else (message, recorded) where
    recorded is the failing explain()'s ((call, what), fingerprint), or None."""
    test = _test_function(source)
    kwargs = {p: env if p == "env" else env.get(p) for p in inspect.signature(test).parameters}
    recorder.last = None
    try:
        # Weight initialisation is skipped (zeroes on the CPU): the values the public tests
        # record (shapes, counts, which parameters get a gradient) do not depend on the
        # weights. On the meta device it computes nothing but runs torch's Python meta
        # kernels (cnn_architectures' table took 20 s, 15 s without them); on the CPU, the
        # draws for ResNet-18, which two tests build for each of its mistakes, were a third
        # of what was left. Every assignment's table is byte-identical to one built with the
        # draws. (A test whose outcome did depend on the values could fail for the reference
        # here, which stops the build, or record values no student's run shows: hints never
        # given.)
        with _skipping_random_init():
            test(**kwargs)
    except AssertionError as err:
        last = recorder.last
        return str(err), (last[1:] if last and last[0] == str(err) else None)
    except Exception as err:  # noqa: BLE001 - a mistake that crashes the test: no hint
        return f"{type(err).__name__}: {err}", None
    return None


def hint_table(assignment: str, master: str | Path, skipped: list | None = None) -> dict:
    """{(call, what): [(fingerprint, hint)]}, in the order of the public tests. A catalogued
    mistake that cannot be made (a source mutant whose text the reference no longer has) is
    left out, and its error appended to `skipped`."""
    tests = public_tests(master)
    params = [set(inspect.signature(_test_function(source)).parameters) for source in tests]
    recorder = _ExplainRecorder()
    per_test: list[dict] = [{} for _ in tests]
    from autograder.forkserver import notebook_imports_torch

    if notebook_imports_torch(master):
        import torch  # noqa: F401 - before `isolated`, which keeps its state and pins threads
    with isolated(recorder.module):
        env = reference_env(master)
        for source in tests:
            failed = run_public_test(source, env, recorder)
            if failed:
                raise ValueError(f"the reference fails a public test of {assignment}: "
                                 f"{failed[0]}\n{source}")
        for mistake in mistakes_for(assignment):
            env = reference_env(master)
            try:
                env.update(mistake.overrides(env))
            except ValueError as err:
                if skipped is not None:
                    skipped.append(str(err))
                continue
            for i, source in enumerate(tests):
                if mistake.affects is not None and not mistake.affects & params[i]:
                    continue  # the test only takes what this mistake leaves as it was
                failed = run_public_test(source, env, recorder)
                if not failed or not failed[1]:
                    continue
                key, wrong = failed[1]
                if wrong == ("object",) or wrong is None or isinstance(wrong, bool):
                    continue  # too little to tell one mistake from another
                entries = per_test[i].setdefault(key, [])
                if (wrong, mistake.hint) not in entries:
                    entries.append((wrong, mistake.hint))
    table: dict = {}
    for entries in per_test:
        for key, values in entries.items():
            table.setdefault(key, [])
            table[key] += [v for v in values if v not in table[key]]
    return table


def render(table: dict) -> str:
    """The student's public_hints.py: the runtime's code with HINTS filled in."""
    code = RUNTIME.read_text()
    placeholder = "HINTS = {}  #"
    if code.count(placeholder) != 1:
        raise ValueError(f"{RUNTIME.name} must have exactly one line starting {placeholder!r}")
    line = next(l for l in code.split("\n") if l.startswith(placeholder))
    # One entry a line, and no line that is only punctuation (the leak report looks for the
    # solution's lines, "}" among them, in everything students get).
    lines = ["HINTS = {" + line[len("HINTS = {}"):]]
    for key, entries in table.items():
        lines.append(f"    {key!r}: [")
        lines += [f"        {entry!r}," for entry in entries]
        lines[-1] = lines[-1][:-1] + "],"
    lines.append("}  # HINTS")
    return code.replace(line, "\n".join(lines))


def write(assignment: str, master: str | Path, folder: str | Path,
          skipped: list | None = None) -> Path:
    path = Path(folder) / FILE_NAME
    path.write_text(render(hint_table(assignment, master, skipped)))
    return path


def ship(assignment: str, staged_master: Path) -> list[str]:
    """Write public_hints.py beside the staged master and list it under the staged config's
    `files:`, so that Otter Assign copies it to the student folder and into the zip. Returns
    the catalogued mistakes left out (why each could not be made)."""
    import nbformat
    import yaml

    skipped: list[str] = []
    write(assignment, staged_master, staged_master.parent, skipped)
    nb = notebook_tools.read(staged_master)
    cell = next(c for c in nb.cells
                if notebook_tools._raw_marker(c) == "# ASSIGNMENT CONFIG")
    config = notebook_tools.assignment_config(nb)
    files = config.setdefault("files", [])
    if FILE_NAME not in files:
        files.append(FILE_NAME)
    cell.source = "# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=False)
    nbformat.write(nb, str(staged_master))
    return skipped
