"""Issue 18: the install asks for the torch build it means, and says which one it got.

Fast: the Makefile is read through `make -n` (nothing is installed or downloaded), and
autograder.torch_build is run on this venv and on stand-in torch modules."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from autograder import gradescope, torch_build

ROOT = Path(__file__).resolve().parent.parent
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make_n(*args: str) -> subprocess.CompletedProcess:
    """What `make ARGS` would run (-B: as if nothing were installed yet)."""
    env = {k: v for k, v in os.environ.items() if k not in ("GPU", "MAKEFLAGS")}
    return subprocess.run(["make", "-n", "-B", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


def pip_installs(dry_run: str) -> list[str]:
    return [line for line in dry_run.splitlines()
            if "-m pip install" in line and not line.lstrip().startswith("echo")]


# ----------------------------------------------------------------------------- the Makefile

@pytest.mark.parametrize("args", [(), ("GPU=0",)])
def test_install_asks_for_the_cpu_build_from_the_cpu_index(args):
    run = make_n("install", *args)
    assert run.returncode == 0, run.stderr
    installs = pip_installs(run.stdout)
    torch_line = next(line for line in installs if "torch" in line.split("pip install")[1])
    assert "torch==2.13.0+cpu" in torch_line.split()
    assert f"--extra-index-url {CPU_INDEX}" in torch_line
    # added to pip's own configuration, never replacing it
    assert "--index-url" not in torch_line.replace("--extra-index-url", "")
    assert "--isolated" not in run.stdout and "PIP_CONFIG_FILE" not in run.stdout
    assert "--no-index" not in run.stdout
    # the unreachable-index case stays short: few retries for the torch step
    assert "--retries 1" in torch_line
    # torch comes before the project, and the project never names another torch
    project = next(i for i, line in enumerate(installs) if "-e '.[dev]'" in line)
    assert installs.index(torch_line) < project
    assert "torch" not in installs[project]
    assert "autograder.torch_build --expect cpu" in run.stdout
    assert "> .venv/.installed-cpu.tmp" in run.stdout


def test_a_missing_cpu_wheel_is_one_clear_line_not_a_cuda_download():
    run = make_n("install")
    torch_line = next(line for line in pip_installs(run.stdout) if "torch==" in line)
    assert "||" in torch_line  # pip's failure is caught ...
    message = torch_line.split("||", 1)[1]
    # ... and answered with one line naming every way to get the CPU build
    for words in ("make install:", "torch==2.13.0+cpu", CPU_INDEX, "PIP_EXTRA_INDEX_URL",
                  "PIP_FIND_LINKS", "GPU=1", "exit 1"):
        assert words in message, words
    assert "torch===" not in run.stdout and "cu1" not in run.stdout


def test_install_gpu_1_asks_for_the_cuda_build():
    run = make_n("install", "GPU=1")
    assert run.returncode == 0, run.stderr
    torch_line = next(line for line in pip_installs(run.stdout) if "torch" in line.split(
        "pip install")[1])
    assert "torch===2.13.0" in torch_line.split()  # exactly 2.13.0, never 2.13.0+cpu
    assert CPU_INDEX not in run.stdout
    assert "autograder.torch_build --expect cuda" in run.stdout
    assert ".installed-cuda" in run.stdout


def test_the_stamp_names_the_build_so_switching_reinstalls():
    cpu, cuda = make_n("install").stdout, make_n("install", "GPU=1").stdout
    assert ".venv/.installed-cpu" in cpu and ".venv/.installed-cuda" in cuda
    # each recreates a venv holding the other build, and clears the old stamps
    assert "--expect cuda" in cpu.split("python3 -m venv")[0] and "rm -rf .venv" in cpu
    assert "--expect cpu" in cuda.split("python3 -m venv")[0] and "rm -rf .venv" in cuda
    assert "rm -f .venv/.installed*" in cpu and "rm -f .venv/.installed*" in cuda


def test_gpu_must_be_0_or_1():
    run = make_n("install", "GPU=yes")
    assert run.returncode != 0 and "GPU must be 0" in run.stderr


def test_make_test_and_demo_stay_on_the_cpu_build():
    for target in ("test", "demo"):
        run = make_n(target)
        assert "torch==2.13.0+cpu" in run.stdout and "torch===" not in run.stdout, target


def test_cuda_build_target_uses_a_users_pip_and_keeps_torch():
    run = make_n("test-cuda-build")
    assert run.returncode == 0, run.stderr
    installs = pip_installs(run.stdout)
    assert installs and all(".venv-cuda/bin/python" in line for line in installs)
    assert all("PIP_CONFIG_FILE=/dev/null" in line for line in installs)
    torch_line = next(line for line in installs if "torch===2.13.0" in line)
    assert CPU_INDEX not in run.stdout
    project = next(line for line in installs if "-e '.[dev]'" in line)
    assert installs.index(torch_line) < installs.index(project)
    assert "-c .venv-cuda/constraints.txt" in project  # the project cannot replace torch
    assert "echo 'torch===2.13.0' > .venv-cuda/constraints.txt" in run.stdout
    assert "autograder.torch_build --expect cuda" in run.stdout
    pytest_line = next(line for line in run.stdout.splitlines() if "-m pytest" in line)
    assert pytest_line.startswith(".venv-cuda/bin/python -m pytest")
    for name in ("test_sandbox.py", "test_hostile.py", "test_grade_sandbox.py",
                 "test_correct_samples.py", "test_demo.py"):
        if (ROOT / "tests" / name).exists():
            assert f"tests/{name}" in pytest_line, name


def test_cuda_build_target_skips_test_files_not_written_yet():
    run = make_n("test-cuda-build", "CUDA_TESTS=tests/test_install.py tests/test_not_there.py")
    assert run.returncode == 0, run.stderr
    pytest_line = next(line for line in run.stdout.splitlines() if "-m pytest" in line)
    assert pytest_line.endswith("tests/test_install.py")
    assert "skipped (not in tests/): tests/test_not_there.py" in run.stdout


def test_users_pip_sees_none_of_this_machines_pip_settings():
    env = {**os.environ, "PIP_FIND_LINKS": "/somewhere", "PIP_EXTRA_INDEX_URL": "file:///x",
           "PIP_CONSTRAINT": "/c.txt"}
    env.pop("GPU", None)
    env.pop("MAKEFLAGS", None)
    run = subprocess.run(["make", "-s", "--eval", "show-pip-env: ; @$(USER_PIP) env",
                          "show-pip-env"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    pip_vars = sorted(line for line in run.stdout.splitlines() if line.startswith("PIP_"))
    assert pip_vars == ["PIP_CONFIG_FILE=/dev/null"]


def test_venv_cuda_is_ignored_by_git():
    assert ".venv-cuda/" in (ROOT / ".gitignore").read_text().split()


# ----------------------------------------------------------------------------- torch_build

def test_importing_torch_build_does_not_import_torch():
    code = "import sys, autograder.torch_build; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_report_keys_are_documented():
    info = torch_build.report()
    for key in info:
        assert f"``{key}``" in torch_build.report.__doc__, key


@pytest.mark.skipif((Path(sys.prefix) / ".installed-cuda").exists(),
                    reason="this venv holds the CUDA build (make install GPU=1)")
def test_report_on_this_venv_says_cpu():
    import torch

    info = torch_build.report()
    assert info["installed"] and info["error"] is None
    assert info["version"] == torch.__version__ and info["version"].endswith("+cpu")
    assert info["kind"] == info["build"] == "cpu" and info["cuda_version"] is None
    assert info["cuda_available"] is False and info["device_count"] == 0
    assert info["devices"] == [] and info["cuda_works"] is False
    assert Path(info["location"]) == Path(torch.__file__).resolve().parent
    assert Path(info["location"]).is_relative_to(Path(sys.prefix).resolve()) or \
        Path(info["location"]).is_relative_to(Path(sys.prefix))
    assert info["python"] == sys.executable
    assert info["summary"].startswith(f"torch {torch.__version__}, CPU build, at ")
    assert "CUDA not available" in info["summary"] and "\n" not in info["summary"]


def test_cli_expect_fails_in_one_line_for_the_other_build():
    here = torch_build.report()["kind"]
    other = "cuda" if here == "cpu" else "cpu"
    ok = subprocess.run([sys.executable, "-m", "autograder.torch_build", "--expect", here,
                         "--json"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["kind"] == here, ok.stderr
    bad = subprocess.run([sys.executable, "-m", "autograder.torch_build", "--expect", other],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "expected" in bad.stderr and "Traceback" not in bad.stderr
    assert bad.stdout.startswith("torch ")  # the summary line


def test_report_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    info = torch_build.report()
    assert info["installed"] is False and info["kind"] is None
    assert "ImportError" in info["error"] or "ModuleNotFoundError" in info["error"]
    assert info["summary"].startswith("torch is not importable in ")


class _Tensor:
    def __init__(self, value):
        self.value = value

    def __add__(self, other):
        return _Tensor(self.value + other)

    def sum(self):
        return _Tensor(self.value * 2)

    def item(self):
        return self.value


def fake_torch(cuda: str | None, available: bool, names=()) -> types.ModuleType:
    torch = types.ModuleType("torch")
    torch.__version__ = "2.13.0+cu130" if cuda else "2.13.0+cpu"
    torch.__file__ = "/somewhere/site-packages/torch/__init__.py"
    torch.version = types.SimpleNamespace(cuda=cuda, hip=None)
    torch.cuda = types.SimpleNamespace(is_available=lambda: available,
                                       device_count=lambda: len(names),
                                       get_device_name=lambda i: names[i])
    torch.zeros = lambda n, device=None: _Tensor(0)
    return torch


def test_report_on_a_cuda_build_without_a_gpu(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", fake_torch("13.0", False))
    info = torch_build.report()
    assert info["kind"] == "cuda" and info["build"] == "cuda 13.0"
    assert info["cuda_version"] == "13.0" and not info["cuda_available"]
    assert info["location"] == "/somewhere/site-packages/torch"
    assert info["summary"] == ("torch 2.13.0+cu130, CUDA 13.0 build, at "
                               "/somewhere/site-packages/torch; CUDA not available "
                               "(no CUDA device or driver found)")


def test_report_on_a_cuda_build_with_gpus(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", fake_torch("13.0", True, ("GPU A", "GPU B")))
    info = torch_build.report()
    assert info["cuda_available"] and info["cuda_works"] and info["device_count"] == 2
    assert info["devices"] == ["GPU A", "GPU B"] and info["cuda_error"] is None
    assert info["summary"].endswith("; CUDA works: 2 devices (GPU A, GPU B)")


# ----------------------------------------------------------------------------- the zip

def test_zip_environment_build_is_described():
    cpu = gradescope.torch_install(["--extra-index-url " + CPU_INDEX, "torch==2.13.0+cpu",
                                    "hypothesis"])
    assert cpu["build"] == "cpu" and cpu["indexes"] == [CPU_INDEX]
    assert cpu["text"] == f"torch 2.13.0+cpu from the CPU index ({CPU_INDEX})"
    unpinned = gradescope.torch_install(["torch", "hypothesis"])
    assert unpinned["build"] == "cuda" and "default index" in unpinned["text"]
    no_index = gradescope.torch_install(["torch==2.13.0+cpu"])
    assert no_index["build"] == "cpu" and "no index" in no_index["text"]
    assert gradescope.torch_install(["numpy"])["requirement"] is None
