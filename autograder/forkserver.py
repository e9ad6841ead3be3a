"""The warm parent of sandboxes: a process that has imported, once, what a sandbox imports
before its lock-down (torch, where the notebook uses it) and forks each new sandbox from
there. A sandbox then starts in milliseconds instead of the seconds of a fresh
`python -I` importing torch, and starts as a fresh one does: its own session, rlimits,
environment, folder and descriptors, then the same setup and lock-down
(autograder/sandbox_child.py, warm_parent_main and _forked_sandbox), before any student
code. The parent is started as a fresh sandbox is (`python -I`, the sandbox's
environment, nothing of the grader's), never runs student code, and no sandbox can reach
it (each closes the control socket first; the kernel layers keep it from signalling or
reading the parent), so nothing of one submission survives into the next.

Standard library only: `cnnlab grade` starts the parent before it imports torch itself, so
the two imports overlap.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from autograder.cores import thread_variables
from autograder.protocol import LIMITS, SandboxLost

ROOT = Path(__file__).resolve().parent.parent

# An import of torch (or of torchvision, which imports it) in a cell: torch is then imported
# before the lock-down. A comment that only mentions torch does not cost a cnn_costs
# sandbox the ~2 s of importing it.
IMPORTS_TORCH = re.compile(r"^[ \t]*(?:from[ \t]+torch\w*\b|import[ \t]+(?:[\w.]+[ \t]*"
                           r"(?:as[ \t]+\w+[ \t]*)?,[ \t]*)*torch\w*\b)", re.M)


def child_environment(workdir: str, threads: int) -> dict:
    """The sandbox's environment: nothing of the grader's (tokens, paths of other
    submissions), only what Python, torch and CUDA read."""
    env = {"PATH": "/usr/bin:/bin", "LANG": os.environ.get("LANG", "C.UTF-8"),
           "HOME": workdir, "TMPDIR": workdir, "MPLCONFIGDIR": workdir,
           # One thread until the lock-down (Landlock binds the threads that exist then).
           **thread_variables(threads)}
    for name in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "OPENBLAS_CORETYPE",
                 "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def forking_asked_for() -> bool:
    """Whether sandboxes are forked from a warm parent (the default) or each started as a
    fresh `python -I` (CNNLAB_SANDBOX_FORK=0: slower, the same boundary)."""
    return os.environ.get("CNNLAB_SANDBOX_FORK", "1") != "0"


class WarmParent:
    """A process that has imported, once, what a sandbox imports before its lock-down
    (torch, where asked), and forks each new sandbox from there: a sandbox then starts in
    milliseconds instead of seconds, and starts as a fresh one does (its own session,
    rlimits, environment and folder; then the same setup and lock-down, before any student
    code). It is started as a fresh sandbox is (`python -I`, the sandbox's environment,
    nothing of the grader's) and never runs student code; no sandbox can reach it, so
    nothing of one submission survives into the next. autograder/sandbox_child.py,
    warm_parent_main, is its side."""

    def __init__(self, preload: tuple[str, ...], threads: int):
        self.lock = threading.RLock()
        self.exited: dict[int, int] = {}
        self._forked: list[int] = []
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        bootstrap = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                     "from autograder.sandbox_child import warm_parent_main; "
                     f"sys.path.remove({str(ROOT)!r}); warm_parent_main({theirs.fileno()})")
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", bootstrap], pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd="/", env=child_environment("/nonexistent", threads),
            start_new_session=True, close_fds=True)
        theirs.close()
        self.control.sendall(json.dumps({"preload": list(preload), "threads": threads,
                                         "grader_pid": os.getpid()}).encode())
        self._pid: int | None = None  # known once it is ready: it imports first

    @property
    def pid(self) -> int:
        """The parent's pid, once it has imported what it imports (waits for that)."""
        with self.lock:
            if self._pid is None:
                ready = self._next(LIMITS.start_s)
                if not ready or ready[0] != "ready":
                    self.close()
                    raise SandboxLost("the sandbox's parent did not start")
                self._pid = int(ready[1])
            return self._pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _next(self, timeout: float):
        """The next message, or None when the parent is gone or says nothing in time."""
        readable, _, _ = select.select([self.control], [], [], max(0.0, timeout))
        if not readable:
            return None
        try:
            data = self.control.recv(65536)
        except OSError:
            return None
        return json.loads(data) if data else None

    def pump(self, timeout: float = 0.0) -> None:
        """Read what the parent has said: forks and exits."""
        with self.lock:
            if self._pid is None:
                return  # nothing forked yet
            message = self._next(timeout)
            while message:
                if message[0] == "exited":
                    self.exited[int(message[1])] = int(message[2])
                elif message[0] == "forked":
                    self._forked.append(int(message[1]))
                message = self._next(0)

    def spawn(self, pass_fds: tuple[int, int], env: dict, cwd: str, memory_mb: int | None,
              file_mb: int) -> "ForkedProcess":
        request = {"env": env, "cwd": cwd, "memory_mb": memory_mb, "file_mb": file_mb}
        with self.lock:
            self.pid  # ready first: its first message says so
            try:
                socket.send_fds(self.control, [json.dumps(request).encode()], list(pass_fds))
            except OSError:
                raise SandboxLost("the sandbox's parent has ended") from None
            deadline = time.monotonic() + LIMITS.start_s
            while not self._forked:
                if not self.alive or time.monotonic() > deadline:
                    raise SandboxLost("the sandbox's parent did not fork")
                self.pump(0.05)
            return ForkedProcess(self, self._forked.pop(0))

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.control.close()


class ForkedProcess:
    """A sandbox forked by a WarmParent, with the part of subprocess.Popen's interface the
    grader uses (pid, poll, wait); its exit status comes from the parent, which reaps it."""

    def __init__(self, parent: WarmParent, pid: int):
        self.parent, self.pid = parent, pid

    def poll(self) -> int | None:
        self.parent.pump(0)
        code = self.parent.exited.get(self.pid)
        if code is None and not self.parent.alive:
            return -signal.SIGKILL  # killed with its parent
        return code

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("sandbox", timeout)
            self.parent.pump(0.05)
        return code


_WARM_PARENTS: dict[tuple, WarmParent] = {}
_warm_parents_lock = threading.Lock()


def warm_parent(preload: tuple[str, ...], threads: int = 1) -> WarmParent:
    """This process's warm parent for sandboxes that import `preload` (started on first
    use, and again if it has ended). Returns at once: the parent imports meanwhile, and
    its first sandbox waits for it."""
    key = (tuple(preload), threads)
    with _warm_parents_lock:
        parent = _WARM_PARENTS.get(key)
        if parent is None or not parent.alive:
            parent = _WARM_PARENTS[key] = WarmParent(tuple(preload), threads)
        return parent


def notebook_imports_torch(path) -> bool:
    """Whether a notebook's code imports torch (read leniently: a notebook that cannot be
    read is graded, and said to be broken, later)."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        cells = [c for c in nb["cells"] if c.get("cell_type") == "code"]
        sources = ["".join(c["source"]) if isinstance(c["source"], list) else str(c["source"])
                   for c in cells]
    except Exception:  # noqa: BLE001 - any unreadable notebook
        return False
    return any(IMPORTS_TORCH.search(source) for source in sources)


def prestart(submissions) -> None:
    """Start the warm parent the first submission will need, now: it imports torch while
    the grader imports its own (the two overlap on a machine with two cores or more)."""
    for path in list(submissions)[:1]:
        if forking_asked_for() and notebook_imports_torch(path):
            warm_parent(("torch",), 1)
