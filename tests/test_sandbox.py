"""The sandbox boundary: student code runs in another process, only plain data crosses."""
import pytest
import torch

from autograder.runner import PRIVATE_DIRS
from autograder.sandbox import RemoteEnv, Sandbox, SandboxLost, StudentCodeError


@pytest.fixture
def sandbox(tmp_path):
    # As the runner does for a notebook that uses torch: imported before the lock-down.
    with Sandbox(str(tmp_path), [str(p) for p in PRIVATE_DIRS], preload=["torch"]) as sb:
        yield sb


def test_plain_values_and_tensors_cross(sandbox):
    sandbox.exec_cell("import torch\ndef f(x):\n    return (x + 1, [x], {'k': torch.ones(2)})", 10)
    value = RemoteEnv(sandbox)["f"](2)
    assert value[0] == 3 and type(value[0]) is int and value[1] == [2]
    assert torch.equal(value[2]["k"], torch.ones(2))


def test_rigged_objects_stay_behind(sandbox):
    sandbox.exec_cell("class I(int):\n    def __eq__(s, o): return True\nx = I(3)", 10)
    x = RemoteEnv(sandbox)["x"]
    assert type(x) is not int
    with pytest.raises(StudentCodeError):
        x == 3
    with pytest.raises(StudentCodeError):
        bool(x)


def test_modules_are_usable_through_proxies(sandbox):
    sandbox.exec_cell("import torch\nnet = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))", 10)
    net = RemoteEnv(sandbox)["net"]
    assert isinstance(net, torch.nn.Module)
    assert sum(p.numel() for p in net.parameters()) == 4 * 3 * 9 + 4
    reference = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    net.load_state_dict(reference.state_dict())
    x = torch.randn(1, 3, 6, 6)
    assert torch.equal(net.eval()(x), reference(x))


@pytest.mark.parametrize("source", [
    "import solutions.cnn_costs",
    "import autograder.checks.common",
    f"open({str(PRIVATE_DIRS[0] / 'cnn_costs.py')!r})",
    "import os; os.listdir(" + repr(str(PRIVATE_DIRS[1])) + ")",
    "import os; os.system('true')",
    "import subprocess; subprocess.run(['true'])",
    "import ctypes; ctypes.CDLL(None)",
    "import os; os.kill(os.getppid(), 9)",
])
def test_guards_refuse(sandbox, source):
    with pytest.raises((PermissionError, ImportError)):
        sandbox.exec_cell(source, 10)
    assert sandbox.alive


def test_timeouts_and_exits_are_reported(sandbox):
    with pytest.raises(StudentCodeError, match="did not finish"):
        sandbox.exec_cell("while True:\n    pass", 1)
    assert sandbox.alive
    with pytest.raises(StudentCodeError, match="sys.exit"):
        sandbox.exec_cell("import sys; sys.exit(2)", 5)
    with pytest.raises(SandboxLost, match="ended"):
        sandbox.exec_cell("import os; os._exit(0)", 5)
    assert not sandbox.alive


def test_autograd_use_is_counted(sandbox):
    sandbox.exec_cell("import torch\ndef f():\n    w = torch.ones(2, requires_grad=True)\n"
                      "    (w * 2).sum().backward()\n    return w.grad", 10)
    env = RemoteEnv(sandbox)
    assert env.autograd_calls() == 0
    assert torch.equal(env["f"](), torch.full((2,), 2.0))
    assert env.autograd_calls() >= 1
    assert RemoteEnv(sandbox).autograd_calls() == 0
