"""Each kernel layer of the sandbox is really on, and holds on its own (issue 12): the
kernel's own account of the sandbox process (/proc/self/status), and what each layer alone
must refuse, with the other layers and the audit hook switched off."""
import errno
import os
import shutil

import pytest

from autograder import doctor, lockdown
from autograder.protocol import LIMITS
from autograder.runner import load_assignment, grade_notebook
from autograder.sandbox import RemoteEnv, Sandbox, StudentCodeError
from autograder import hostile

ROOT_USER = os.geteuid() == 0

PROBE = r'''
import errno, os, threading
def attempt(what):
    try:
        what()
        return "allowed"
    except OSError as err:
        return errno.errorcode.get(err.errno, str(err.errno))
    except Exception as err:
        return type(err).__name__
def status():
    return dict((k, v.strip()) for k, v in
                (line.split(":", 1) for line in open("/proc/self/status") if ":" in line))
def read(path):
    return attempt(lambda: open(path).read())
def read_via_dirfd(path):
    return attempt(lambda: os.read(os.open(path.lstrip("/"), os.O_RDONLY,
                                           dir_fd=os.open("/", os.O_RDONLY)), 10))
def write(path):
    return attempt(lambda: open(path, "w").write("x"))
def fork():
    def child():
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    return attempt(child)
def run_program():
    return attempt(lambda: os.execv("/bin/true", ["true"]))
def signal_grader():
    return attempt(lambda: os.kill(os.getppid(), 0))
def open_socket():
    import socket
    return attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close())
def thread():
    out = []
    t = threading.Thread(target=lambda: out.append(1))
    t.start(); t.join()
    return out == [1]
def grader_cmdline():
    return read(f"/proc/{os.getppid()}/cmdline")
'''


@pytest.fixture
def private_file(tmp_path):
    secret = tmp_path / "private" / "reference.py"
    secret.parent.mkdir()
    secret.write_text("ANSWER = 42\n")
    return str(secret)


def probe_sandbox(tmp_path, private_file, layers):
    work = tmp_path / "work"
    work.mkdir()
    os.chmod(tmp_path, 0o711)
    from autograder.sandbox import ROOT
    sandbox = Sandbox(str(work), [str(os.path.dirname(private_file))], layers=layers,
                      private=[str(ROOT), str(os.path.dirname(private_file))])
    sandbox.start()
    sandbox.exec_cell(PROBE, 30)
    return sandbox, RemoteEnv(sandbox)


def test_every_layer_is_on_and_the_kernel_says_so(tmp_path, private_file):
    sandbox, env = probe_sandbox(tmp_path, private_file, lockdown.LAYERS)
    try:
        expected = ["landlock", "seccomp", "audit"] + (["uid"] if ROOT_USER else [])
        assert set(expected) <= set(sandbox.layers), sandbox.missing
        status = env["status"]()
        assert status["Seccomp"] == "2" and status["NoNewPrivs"] == "1"
        if ROOT_USER:
            assert status["Uid"].split()[0] != "0" and status["Gid"].split()[0] != "0"
            assert status["CapEff"] == "0000000000000000"
    finally:
        sandbox.kill()


def test_landlock_alone_confines_files(tmp_path, private_file):
    sandbox, env = probe_sandbox(tmp_path, private_file, ("landlock",))
    try:
        assert sandbox.layers == ["landlock"], sandbox.missing
        assert env["read"](private_file) == "EACCES"
        assert env["read_via_dirfd"](private_file) == "EACCES"
        assert env["write"]("/tmp/cnnlab-landlock-probe") == "EACCES"
        assert env["write"](os.path.join(sandbox.workdir, "mine.txt")) == "allowed"
        assert env["grader_cmdline"]() in ("EACCES", "ENOENT")
        assert env["run_program"]() == "EACCES"      # nothing may be executed
        assert env["signal_grader"]() == "EPERM"     # signals scoped to the sandbox
        assert env["thread"]() is True
    finally:
        sandbox.kill()
    assert not os.path.exists("/tmp/cnnlab-landlock-probe")


def test_seccomp_alone_stops_processes_programs_signals_and_sockets(tmp_path, private_file):
    sandbox, env = probe_sandbox(tmp_path, private_file, ("seccomp",))
    try:
        assert sandbox.layers == ["seccomp"], sandbox.missing
        assert env["status"]()["Seccomp"] == "2"
        assert env["fork"]() == "EPERM"
        assert env["run_program"]() == "EPERM"
        assert env["signal_grader"]() == "EPERM"
        assert env["open_socket"]() == "EPERM"
        assert env["thread"]() is True               # torch needs threads
    finally:
        sandbox.kill()


@pytest.mark.skipif(not ROOT_USER, reason="the uid layer is used only when grading as root")
def test_uid_layer_alone_hides_private_folders_and_other_processes(tmp_path, private_file):
    sandbox, env = probe_sandbox(tmp_path, private_file, ("uid",))
    try:
        assert sandbox.layers == ["uid"], sandbox.missing
        assert env["status"]()["Uid"].split()[0] != "0"
        assert env["read"](private_file) in ("ENOENT", "EACCES")
        assert env["grader_cmdline"]() == "ENOENT"    # /proc shows only its own
        assert env["signal_grader"]() == "EPERM"
        # The project tree is covered: its files (and .git) are not there at all.
        assert env["read"](os.path.join(str(lockdown_root()), "solutions", "cnn_costs.py")) \
            in ("ENOENT", "EACCES")
    finally:
        sandbox.kill()


def lockdown_root():
    from autograder.sandbox import ROOT
    return ROOT


def test_without_layers_the_record_says_so_and_strict_refuses(tmp_path, monkeypatch):
    assignment = load_assignment("cnn_costs")
    path = hostile.write(hostile.BY_ID["syntax_error"], tmp_path / "nb.ipynb")
    monkeypatch.setenv("CNNLAB_SANDBOX_LAYERS", "audit")
    record = grade_notebook(path, assignment)
    assert record["sandbox"] == ["audit"]
    assert record["total"] == record["possible"]
    from autograder.protocol import SandboxUnavailable
    with pytest.raises(SandboxUnavailable, match="--strict"):
        grade_notebook(path, assignment, strict=True)
    report = doctor.sandbox_report()
    assert set(doctor.missing_layers(report)) >= {"landlock", "seccomp"}


def test_doctor_sees_every_layer_hold():
    report = doctor.sandbox_report()
    assert doctor.missing_layers(report) == {}, report
    assert report["seen"]["outside_read"] == "EACCES"
    assert report["seen"]["seccomp_mode"] == "2"


def test_a_huge_reply_is_refused_before_it_is_read(tmp_path):
    with Sandbox(str(tmp_path), []) as sandbox:
        sandbox.exec_cell("def f():\n    return list(range(4_000_000))", 30)
        with pytest.raises(StudentCodeError, match="too large"):
            RemoteEnv(sandbox)["f"]()
        assert sandbox.alive  # refused in the sandbox: the process goes on


def test_a_forged_huge_length_header_ends_the_sandbox_unread(tmp_path):
    with Sandbox(str(tmp_path), []) as sandbox:
        # The reply channel: the one write-only pipe it holds (started fresh or forked).
        forge = ("import fcntl, os, stat, struct\n"
                 "fd = [fd for fd in range(3, 64) if _is_reply(fd)][0]\n"
                 "os.write(fd, struct.pack('!i', 2**30) + b'J' * 1000)\n")
        forge = ("import fcntl, os, stat\n"
                 "def _is_reply(fd):\n"
                 "    try:\n"
                 "        return (stat.S_ISFIFO(os.fstat(fd).st_mode)\n"
                 "                and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY)\n"
                 "    except OSError:\n"
                 "        return False\n") + forge
        with pytest.raises(StudentCodeError, match="too large"):
            sandbox.exec_cell(forge, 30)
        assert not sandbox.alive


def test_a_full_temp_folder_ends_the_cell_with_a_clear_note(tmp_path):
    assignment = load_assignment("cnn_costs")
    fill = ("import os\n"
            f"for i in range({LIMITS.workdir_mb // LIMITS.file_mb + 4}):\n"
            "    with open(f'blob{i}', 'wb') as f:\n"
            f"        f.write(b'x' * ({LIMITS.file_mb} * 2**20 - 1))\n")
    case = hostile.Hostile("fill", "fills its folder", (fill,))
    record = grade_notebook(hostile.write(case, tmp_path / "nb.ipynb"), assignment)
    assert record["total"] == record["possible"]
    assert any("more than its folder may hold" in note for note in record["notes"]), record


@pytest.mark.skipif(not ROOT_USER, reason="the uid layer is used only when grading as root")
def test_a_workdir_below_a_private_folder_stays_usable_under_its_own_uid(tmp_path):
    """pytest's and many users' temp folders are mode 700: the sandbox's uid could not pass
    through them to its own folder unless the uid layer re-exposes it."""
    hidden = tmp_path / "hidden"
    (hidden / "work").mkdir(parents=True)
    os.chmod(hidden, 0o700)
    with Sandbox(str(hidden / "work"), []) as sandbox:
        assert "uid" in sandbox.layers, sandbox.missing
        sandbox.exec_cell("import os, tempfile\n"
                          "def f():\n"
                          "    with tempfile.NamedTemporaryFile(dir=os.environ['TMPDIR']) as t:\n"
                          "        t.write(b'x')\n"
                          "    open(os.path.join(os.environ['HOME'], 'a.txt'), 'w').write('y')\n"
                          "    return os.getuid()", 30)
        assert RemoteEnv(sandbox)["f"]() != 0
    assert (hidden / "work" / "a.txt").read_text() == "y"


@pytest.mark.skipif(not ROOT_USER or not os.path.isdir("/dev/shm"),
                    reason="the uid layer is used only when grading as root")
def test_grading_folders_below_dev_shm_keep_every_layer_and_full_marks(monkeypatch):
    """TMPDIR=/dev/shm (some clusters set it): the uid layer used to mount its staging tmpfs
    over /dev/shm, hiding the sandbox's own folders, and a correct notebook lost half its
    points to FileNotFoundErrors."""
    import tempfile
    from pathlib import Path

    from autograder.sandbox import temp_folders

    monkeypatch.setattr(tempfile, "tempdir", "/dev/shm")
    tmp, work, inbox = temp_folders()
    try:
        Path(inbox, "given.txt").write_text("from the grader")
        with Sandbox(work, [], inbox=inbox) as sandbox:
            assert "uid" in sandbox.layers, sandbox.missing
            sandbox.exec_cell("import os\n"
                              "def f(inbox):\n"
                              "    open(os.path.join(os.environ['HOME'], 'a.txt'), 'w').write('y')\n"
                              "    return open(os.path.join(inbox, 'given.txt')).read()", 30)
            assert RemoteEnv(sandbox)["f"](inbox) == "from the grader"
        assert Path(work, "a.txt").read_text() == "y"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assignment = load_assignment("cnn_costs")
    from autograder.sandbox import ROOT
    record = grade_notebook(ROOT / "samples" / "cnn_costs" / "correct.ipynb", assignment)
    assert record["total"] == record["possible"] and "uid" in record["sandbox"], record


def test_torch_is_imported_before_the_lock_down_only_where_a_cell_imports_it():
    from autograder.runner import _uses_torch

    assert _uses_torch([(1, "import numpy as np, torch")])
    assert _uses_torch([(1, "def f():\n    from torch import nn")])
    assert not _uses_torch([(1, "# as torch.nn.MaxPool2d does\nx = 'import torch'")])


@pytest.mark.skipif(not ROOT_USER or not shutil.which("setpriv"),
                    reason="needs root and util-linux's setpriv")
def test_a_root_without_mount_namespaces_reports_the_uid_layer_missing():
    """As in a container without CAP_SYS_ADMIN (Docker's default): the other layers stay
    on, and the uid layer says why it is missing instead of half-working."""
    import json
    import subprocess
    import sys

    code = ("import json; from autograder import doctor; r = doctor.sandbox_report(); "
            "print(json.dumps([r['layers'], r['missing']]))")
    done = subprocess.run(["setpriv", "--bounding-set=-sys_admin", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=120, check=True)
    layers, missing = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"landlock", "seccomp", "audit"} <= set(layers) and "uid" not in layers
    assert "no mount namespace" in missing["uid"]
