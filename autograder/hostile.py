"""A catalogue of hostile and broken `cnn_costs` submissions, each with the outcome grading
must produce. The test suite grades every one (tests/test_hostile.py) and `cnnlab demo`
grades a few, so the guards of autograder/sandbox.py are exercised on every run.

Each submission is the correct reference code plus one hostile cell (or one replaced
function), so a correct grader gives full marks on every question the cell does not target
and nothing on the ones it does (a replaced function also breaks the reference functions
that call it, e.g. conv_flops calls conv_output_size, and cost_table calls every formula, as
a student's would).
"""
from __future__ import annotations

import inspect
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

from solutions import cnn_costs

REFERENCE_SOURCE = inspect.getsource(cnn_costs)
PRIVATE_FILE = str(Path(cnn_costs.__file__).resolve())
CHECKS_FILE = str(Path(__file__).resolve().parent / "checks" / "cnn_costs.py")


@dataclass(frozen=True)
class Hostile:
    id: str
    what: str
    cells: tuple[str, ...]          # cells after the reference cell
    loses: tuple[str, ...] = ()     # questions that must score 0; all others full marks
    before: tuple[str, ...] = ()    # cells before the reference cell


def _cell(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


CATALOGUE: list[Hostile] = [
    Hostile("function_loops_forever", "a function that never returns",
            (_cell("""
                def conv_params(in_channels, out_channels, kernel, bias=True):
                    while True:
                        pass
            """),), loses=("conv_params", "cost_table")),
    Hostile("top_level_loop", "a cell that never finishes",
            (_cell("""
                while True:
                    pass
            """),)),
    Hostile("sys_exit", "sys.exit() at top level", ("import sys\nsys.exit(0)",)),
    Hostile("os_exit", "os._exit() at top level, before the definitions",
            (), before=("import os\nos._exit(0)",)),
    Hostile("import_error", "an exception at import",
            ("import this_module_does_not_exist",)),
    Hostile("print_50mb", "50 MB of printed output",
            ("print('x' * 50_000_000)",)),
    Hostile("memory_bomb", "a cell that allocates far too much memory",
            ("blob = bytearray(64 * 2**30)",)),
    Hostile("syntax_error", "a cell with a syntax error",
            ("def broken(:\n    pass",)),
    Hostile("replace_reference_in_sys_modules", "replaces the reference in sys.modules",
            (_cell("""
                import sys, types
                fake = types.ModuleType("solutions.cnn_costs")
                fake.conv_params = lambda *a, **k: 0
                sys.modules["solutions.cnn_costs"] = fake
                sys.modules["solutions"] = types.ModuleType("solutions")
                def conv_params(in_channels, out_channels, kernel, bias=True):
                    return 0
            """),), loses=("conv_params", "cost_table")),
    Hostile("call_reference", "calls the hidden reference instead of implementing",
            (_cell("""
                def conv_params(in_channels, out_channels, kernel, bias=True):
                    from solutions.cnn_costs import conv_params as reference
                    return reference(in_channels, out_channels, kernel, bias)
            """),), loses=("conv_params", "cost_table")),
    Hostile("exec_reference_from_disk", "reads the reference's source from disk and runs it",
            (_cell(f"""
                def conv_params(in_channels, out_channels, kernel, bias=True):
                    namespace = {{}}
                    exec(open({PRIVATE_FILE!r}).read(), namespace)
                    return namespace["conv_params"](in_channels, out_channels, kernel, bias)
            """),), loses=("conv_params", "cost_table")),
    Hostile("read_hidden_tests", "reads the hidden tests from disk",
            (_cell(f"""
                def fc_params(in_features, out_features, bias=True):
                    source = open({CHECKS_FILE!r}).read()
                    return len(source)
            """),), loses=("fc_params", "cost_table")),
    Hostile("patch_grader", "patches the grader's helpers so every check passes",
            (_cell("""
                def memory_kb(num_elements):
                    import autograder.checks.common as common
                    common.call = lambda *a, **k: None
                    return 0.0
            """),), loses=("memory_kb", "cost_table")),
    Hostile("patch_torch_and_builtins", "monkeypatches torch and builtins",
            (_cell("""
                import builtins, torch
                torch.allclose = lambda *a, **k: True
                torch.equal = lambda *a, **k: True
                builtins.isinstance = lambda *a: True
            """), "def fc_flops(in_features, out_features):\n    return 1"),
            loses=("fc_flops", "cost_table")),
    Hostile("always_equal_object", "returns an object whose == is always true",
            (_cell("""
                class Anything:
                    def __eq__(self, other): return True
                    def __ne__(self, other): return False
                    def __hash__(self): return 0
                def conv_output_size(size, kernel, stride=1, padding=0):
                    return Anything()
            """),), loses=("conv_output_size", "conv_flops", "cost_table")),
    Hostile("int_subclass", "returns an int subclass whose == is always true",
            (_cell("""
                class SneakyInt(int):
                    def __eq__(self, other): return True
                    def __ne__(self, other): return False
                    __hash__ = int.__hash__
                def pool_output_size(size, kernel, stride=None, padding=0):
                    return SneakyInt(1)
            """),), loses=("pool_output_size", "pool_flops", "cost_table")),
    Hostile("kill_grader", "tries to kill the grading process",
            (_cell("""
                import os, signal
                try:
                    os.kill(os.getppid(), signal.SIGKILL)
                except Exception:
                    pass
            """),)),
    Hostile("run_programs", "starts other programs",
            (_cell("""
                import os, subprocess
                for attempt in (lambda: os.system("cat /etc/passwd"),
                                lambda: subprocess.run(["sh", "-c", "true"]),
                                lambda: os.fork()):
                    try:
                        attempt()
                    except Exception:
                        pass
            """),)),
    Hostile("exit_inside_function", "a function that calls sys.exit() when graded",
            (_cell("""
                def pool_flops(channels, height, width, kernel, stride=None, padding=0):
                    import os
                    os._exit(3)
            """),), loses=("pool_flops", "cost_table")),
]

BY_ID = {h.id: h for h in CATALOGUE}


def notebook(cells: list[str]) -> dict:
    return {
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                   "source": source} for source in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


def write(hostile: Hostile, path: Path) -> Path:
    cells = [*hostile.before, REFERENCE_SOURCE, *hostile.cells]
    path.write_text(json.dumps(notebook(cells), indent=1))
    return path
