"""Every command answers --help and a usage error at once: it exits with the usage status
before importing torch (about 1.5 s of the 2 s a slow answer took), otter, nbformat or
matplotlib.

Asserted on the imports, not on wall time, since the test machine is shared: each command
runs in a fresh interpreter that reports, as it exits, which of those modules were loaded.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "otter", "nbformat", "matplotlib")

# Runs cnnlab's main on the arguments after the report file's name, then writes the heavy
# modules it loaded to that file, also when argparse exits through SystemExit.
WRAPPER = """
import atexit, json, sys
out = sys.argv[1]
def report():
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(%r))
    with open(out, "w") as f:
        json.dump(loaded, f)
atexit.register(report)
sys.argv = ["cnnlab", *sys.argv[2:]]
from cnnlab.cli import main
sys.exit(main(sys.argv[1:]))
""" % (HEAVY,)


def run_cnnlab(argv: list[str], tmp_path: Path) -> tuple[int, list[str], str]:
    report = tmp_path / "loaded.json"
    done = subprocess.run([sys.executable, "-c", WRAPPER, str(report), *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return done.returncode, json.loads(report.read_text()), done.stdout + done.stderr


HELP = [["--help"], ["costs", "--help"], ["build", "--help"], ["grade", "--help"],
        ["quiz", "--help"], ["quiz", "generate", "--help"], ["quiz", "grade", "--help"],
        ["mutants", "--help"], ["demo", "--help"], ["doctor", "--help"], ["report", "--help"]]


@pytest.mark.parametrize("argv", HELP, ids=" ".join)
def test_help_imports_nothing_heavy(argv, tmp_path):
    code, loaded, out = run_cnnlab(argv, tmp_path)
    assert code == 0, out
    assert "usage: cnnlab" in out
    assert loaded == [], f"`cnnlab {' '.join(argv)}` imported {loaded}"


# One or more usage errors per command, each with the status it must exit with, and a word
# of its message. "FILE" stands for a plain file in the test's folder (a bad --out).
USAGE_ERRORS = [
    ([], 2, "usage: cnnlab"),
    (["costs", "nope"], 2, "unknown model"),
    (["costs", "VGG16", "--input", "3,224"], 2, "--input"),
    (["costs", "vgg16", "--per-layer"], 2, "--plot"),
    (["costs", "vgg16", "--plot", "FILE/x.png"], 2, "--plot"),
    (["build", "--out", "FILE/x"], 2, "--out"),
    # autograder.build's own status for an unknown assignment (tests/test_build.py).
    (["build", "nope", "--out", "out"], 1, "no master notebook"),
    (["grade"], 2, "SUBMISSION"),
    (["grade", "nope.ipynb", "-j", "0"], 2, "-j"),
    (["grade", "nope.ipynb", "--timeout", "0"], 2, "--timeout"),
    (["grade", "nope.ipynb", "--csv", "FILE/x.csv"], 2, "--csv"),
    (["grade", "nope.ipynb", "--assignment", "cnn_cost"], 2, "did you mean cnn_costs"),
    (["grade", "nope.ipynb", "--build", "b"], 2, "--engine otter"),
    (["quiz", "generate", "--seed", "1", "--out", "out"], 2, "--variants"),
    (["quiz", "generate", "--seed", "1", "--variants", "0", "--out", "out"], 2, "--variants"),
    (["quiz", "grade", "r.csv", "--key", "k.json", "--plot", "m.xyz"], 2, "--plot"),
    (["mutants", "nope"], 2, "unknown assignment"),
    (["demo", "--out", "out", "-j", "0"], 2, "-j"),
    (["demo", "--out", "FILE/x"], 2, "--out"),
    (["doctor", "extra"], 2, "unrecognized arguments"),
    # A gradebook that is not one is refused before anything is graded or read.
    (["grade", "nope.ipynb", "--db", "FILE"], 2, "not an SQLite database"),
    (["quiz", "grade", "r.csv", "--key", "k.json", "--db", "FILE"], 2, "not an SQLite"),
    (["report"], 2, "--db GRADEBOOK or --json"),
    (["report", "--db", "g.sqlite"], 2, "--out DIR"),
    (["report", "--db", "g.sqlite", "--out", "out"], 2, "cannot read: no such file"),
    (["report", "--db", "FILE", "--out", "out"], 2, "not an SQLite database"),
    (["report", "--json", "FILE", "--out", "out"], 2, "not valid JSON"),
    (["report", "--db", "FILE", "--canvas-csv", "c.csv"], 2, "--roster"),
]


@pytest.mark.parametrize("argv, status, word", USAGE_ERRORS,
                         ids=[" ".join(a) or "(none)" for a, _, _ in USAGE_ERRORS])
def test_usage_error_exits_before_heavy_imports(argv, status, word, tmp_path):
    (tmp_path / "FILE").write_text("a file, not a folder\n")
    code, loaded, out = run_cnnlab(argv, tmp_path)
    assert code == status, out
    assert word in out, out
    assert "Traceback" not in out, out
    assert loaded == [], f"`cnnlab {' '.join(argv)}` imported {loaded} before failing"


def test_the_light_registry_agrees_with_the_heavy_modules():
    # The CLI checks names with autograder/registry.py (autograder.build and runner import
    # torch); what it finds must be what they find.
    from autograder import build, runner
    from autograder.checks import cnn_architectures, cnn_costs, softmax_backprop
    from cnnlab.commands import build as command

    assert command.masters() == build.discover()
    assert command.ASSIGNMENTS == build.ASSIGNMENTS
    modules = {"cnn_costs": cnn_costs, "cnn_architectures": cnn_architectures,
               "softmax_backprop": softmax_backprop}
    assert runner.known_assignments() == sorted(
        name for name, module in modules.items() if hasattr(module, "QUESTIONS"))
