"""torch is imported only where something needs it: grading a cnn_costs notebook (its checks,
the grader, its Otter kernel's hidden tests) never imports it, which saved 1 to 2 s of every
such process, and the grader reads which torch build is installed without importing it.
Each case runs in a fresh interpreter: this one has imported torch long ago."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fresh(code: str) -> dict:
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_a_cnn_costs_grading_never_imports_torch():
    got = _fresh(
        "import json, sys\n"
        "from autograder import runner\n"
        "import autograder.checks.cnn_costs  # what the Otter kernel's hidden tests import\n"
        "a = runner.load_assignment('cnn_costs')\n"
        "r = runner.grade_notebook('samples/cnn_costs/correct.ipynb', a)\n"
        "w = runner.grade_notebook('samples/cnn_costs/missing_plus_one.ipynb', a)\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'total': r['total'],\n"
        "                  'possible': r['possible'], 'wrong': w['total']}))\n")
    assert got["torch"] is False
    assert got["total"] == got["possible"] == 14 and 0 < got["wrong"] < 14


def test_the_torch_build_is_read_off_disk_as_torch_reports_it():
    without = _fresh("import json, sys\n"
                     "from autograder import torch_build\n"
                     "print(json.dumps({'cuda': torch_build.is_cuda_build(),\n"
                     "                  'on_disk': torch_build._cuda_version_on_disk(),\n"
                     "                  'torch': 'torch' in sys.modules}))\n")
    imported = _fresh("import json, torch\n"
                      "print(json.dumps({'cuda': bool(torch.version.cuda),\n"
                      "                  'version': torch.version.cuda}))\n")
    assert without["torch"] is False
    assert without["cuda"] == imported["cuda"] and without["on_disk"] == imported["version"]


def test_a_cnn_costs_build_step_and_a_build_fingerprint_import_neither_torch_nor_otter():
    """The fingerprint that decides whether a build is reused reads the installed versions
    (a second `make demo` paid 2 to 4 s a build for imports), and cnn_costs' hint table
    runs its public tests without torch."""
    got = _fresh("import json, sys\n"
                 "from autograder import build, public_hints\n"
                 "print_ = build.input_fingerprint('cnn_architectures')\n"
                 "table = public_hints.hint_table('cnn_costs',\n"
                 "                                'assignments/cnn_costs/cnn_costs.ipynb')\n"
                 "print(json.dumps({'torch': 'torch' in sys.modules,\n"
                 "                  'otter': 'otter' in sys.modules, 'hints': len(table)}))\n")
    assert got == {"torch": False, "otter": False, "hints": got["hints"]} and got["hints"] > 0
