"""The trusted side of a grading run: starts the sandbox process that executes a student's
notebook (autograder/sandbox_child.py) and talks to the objects it defined through proxies.

The checks in autograder/checks/ run here, in the grader's process, against a reference
imported here. Student code never runs in this process: calling a proxy sends a request to
the sandbox and brings back plain data only (decoded with torch's restricted unpickler,
`weights_only=True`, which builds nothing but tensors and builtin containers). Whatever the
student patches, replaces or fakes, it is inside the sandbox, where no expected value is.
"""
from __future__ import annotations

import builtins
import importlib
import io
import json
import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

import torch

from autograder.sandbox_child import Ref

ROOT = Path(__file__).resolve().parent.parent
MAX_MESSAGE = 512 * 1024 * 1024
# Classes the grader may treat a student object as, for isinstance(): their own library
# classes only, never a class the student defined.
_TRUSTED_MODULES = ("builtins", "torch", "collections", "numpy")


class StudentCodeError(AssertionError):
    """Student code failed in a way that is feedback for the student (an AssertionError, so
    the checks report it like any failed expectation)."""


class SandboxLost(StudentCodeError):
    """The sandbox process ended or stopped answering; it will be restarted."""


def _limits(memory_mb: int | None, file_mb: int):
    def apply():
        os.setsid()
        if memory_mb is not None:
            memory = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        files = file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (files, files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # Writing past the file limit then fails with an error instead of killing us.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return apply


def _watch_memory(process: subprocess.Popen, memory_mb: int, every: float = 0.1) -> None:
    """Kill the sandbox's process group when its resident memory passes the limit."""
    page = os.sysconf("SC_PAGE_SIZE")
    limit = memory_mb * 1024 * 1024
    while process.poll() is None:
        try:
            with open(f"/proc/{process.pid}/statm") as f:
                resident = int(f.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            return
        if resident > limit:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            return
        time.sleep(every)


class Sandbox:
    """One sandbox process. `request` raises StudentCodeError for anything the student's
    code did (an exception, a timeout, ending the process)."""

    def __init__(self, workdir: str, forbidden_paths: list[str], *, memory_mb: int = 4096,
                 file_mb: int = 64, rpc_timeout: float = 120.0, threads: int = 1):
        self.workdir = workdir
        self.forbidden_paths = [str(p) for p in forbidden_paths]
        self.memory_mb, self.file_mb = memory_mb, file_mb
        self.rpc_timeout = rpc_timeout
        self.threads = threads
        self.process: subprocess.Popen | None = None
        self.generation = 0

    # -- life cycle --------------------------------------------------------------------
    def start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        setup = {
            "workdir": self.workdir,
            "forbidden_paths": self.forbidden_paths,
            "forbidden_modules": ["solutions", "autograder", "otter", "cnnlab", "quizzes"],
            "threads": self.threads,
        }
        fd, setup_path = tempfile.mkstemp(prefix="cnnlab-sandbox-", suffix=".pkl")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(setup, f)
        bootstrap = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                     "from autograder.sandbox_child import main; "
                     f"main({to_child_r}, {from_child_w}, {setup_path!r})")
        # CUDA reserves far more address space than it uses, so RLIMIT_AS would break it:
        # on a machine with a GPU, a watchdog measures the resident memory instead.
        watch = torch.cuda.is_available()
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", bootstrap],
            pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.workdir,
            preexec_fn=_limits(None if watch else self.memory_mb, self.file_mb), close_fds=True,
        )
        if watch:
            threading.Thread(target=_watch_memory, args=(self.process, self.memory_mb),
                             daemon=True).start()
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv = Connection(from_child_r, writable=False)
        self.generation += 1

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        for conn in (self._send, self._recv):
            conn.close()
        self.process = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.kill()

    # -- requests ----------------------------------------------------------------------
    def request(self, op: str, args=None, timeout: float | None = None):
        if not self.alive:
            raise SandboxLost("your notebook's process had already ended")
        timeout = self.rpc_timeout if timeout is None else timeout
        try:
            self._send.send_bytes(pickle.dumps((op, args), protocol=pickle.HIGHEST_PROTOCOL))
            if not self._recv.poll(timeout):
                self.kill()
                raise SandboxLost(f"your code did not finish within {timeout:g} s")
            data = self._recv.recv_bytes(MAX_MESSAGE)
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            try:
                code = self.process.wait(timeout=2) if self.process else None
            except subprocess.TimeoutExpired:
                code = None
            self.kill()
            raise SandboxLost(_ended(code)) from None
        except BaseException:
            # Interrupted (e.g. by a check's time limit): the sandbox is mid-call, so end it.
            self.kill()
            raise
        try:
            reply = _decode(data)
        except Exception:
            self.kill()
            raise SandboxLost("your notebook's process sent back something unreadable") from None
        return self._decode_reply(reply)

    def _decode_reply(self, reply):
        if not isinstance(reply, dict):
            raise SandboxLost("your notebook's process sent back something unreadable")
        if reply.get("__timeout__"):
            raise StudentCodeError("the cell did not finish in time")
        if "__error__" in reply:
            raise _as_exception(reply)
        if reply.get("__stop__"):
            raise StopIteration
        return self._wrap(reply.get("value"))

    def _wrap(self, value):
        if type(value) is dict:
            if "__handle__" in value:
                return RemoteObject(self, value["__handle__"], value.get("__mro__", []))
            return {k: self._wrap(v) for k, v in value.items()}
        if type(value) in (list, tuple):
            return type(value)(self._wrap(v) for v in value)
        return value

    # -- conveniences ------------------------------------------------------------------
    def exec_cell(self, source: str, timeout: float) -> None:
        self.request("exec", (source, timeout), timeout=timeout + 10)

    def autograd_calls(self) -> int:
        return self.request("autograd_calls")

    def output(self) -> dict:
        return self.request("output")


def _as_tuple(obj: dict):
    if len(obj) == 1 and "__tuple__" in obj and type(obj["__tuple__"]) is list:
        return tuple(obj["__tuple__"])
    return obj


def _decode(data: bytes):
    """Both encodings build plain data only: JSON, or torch's restricted unpickler."""
    if data[:1] == b"J":
        return json.loads(data[1:], object_hook=_as_tuple)
    if data[:1] == b"T":
        return torch.load(io.BytesIO(data[1:]), weights_only=True)
    raise ValueError("unknown encoding")


def _ended(code) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else code
        if name == "SIGKILL":
            return "your notebook's process was killed (far too much memory, or a crash)"
        return f"your notebook's process was ended by signal {name}"
    return ("your code ended the grading process (os._exit() or a crash) "
            f"with exit code {code}")


def _as_exception(reply: dict) -> BaseException:
    base = getattr(builtins, str(reply.get("__error__")), None)
    message = str(reply.get("message", ""))
    shown = str(reply.get("type", "Exception"))
    if base is SystemExit:
        return StudentCodeError(f"your code called sys.exit({message})")
    if base is KeyboardInterrupt or base is None or not isinstance(base, type) \
            or not issubclass(base, Exception):
        return StudentCodeError(f"your code raised {shown}: {message}")
    try:
        err = base(message)
    except Exception:
        err = StudentCodeError(f"your code raised {shown}: {message}")
    err.student_type = shown
    return err


class RemoteObject:
    """An object that lives in the sandbox: a function, a class, a module, a student's
    int subclass. Calls, attributes and iteration become requests; comparing it or taking
    its truth value is refused, because only plain data is trusted."""

    __slots__ = ("_sandbox", "_id", "_mro", "_generation")

    def __init__(self, sandbox: Sandbox, hid: int, mro: list):
        object.__setattr__(self, "_sandbox", sandbox)
        object.__setattr__(self, "_id", hid)
        object.__setattr__(self, "_mro", list(mro))
        object.__setattr__(self, "_generation", sandbox.generation)

    def _request(self, op, args, timeout=None):
        if self._generation != self._sandbox.generation or not self._sandbox.alive:
            raise SandboxLost("an earlier call ended your notebook's process; "
                              "this object is gone")
        return self._sandbox.request(op, args, timeout)

    @property
    def type_name(self) -> str:
        return self._mro[0].rsplit(".", 1)[-1] if self._mro else "object"

    @property
    def __class__(self):
        for qualified in self._mro:
            module, _, name = qualified.rpartition(".")
            if module.split(".")[0] not in _TRUSTED_MODULES or qualified == "builtins.object":
                continue
            try:
                obj = importlib.import_module(module)
                for part in name.split("."):
                    obj = getattr(obj, part)
                if isinstance(obj, type):
                    return obj
            except Exception:
                continue
        return RemoteObject

    def __call__(self, *args, **kwargs):
        return self._request("call", (Ref(self._id), list(args), dict(kwargs)))

    def __getattr__(self, name):
        if name.startswith("__") and name not in ("__name__", "__qualname__", "__doc__"):
            raise AttributeError(name)
        return self._request("getattr", (self._id, name))

    def __setattr__(self, name, value):
        raise AttributeError("objects from a student's notebook are read-only to the grader")

    def __iter__(self):
        return self._request("iter", self._id)

    def __next__(self):
        return self._request("next", self._id)

    def __len__(self):
        value = self._request("len", self._id)
        if type(value) is not int:
            raise StudentCodeError("len() of your object is not an int")
        return value

    def __getitem__(self, key):
        return self._request("getitem", (self._id, key))

    def __reduce__(self):
        return (Ref, (self._id,))

    def _refuse(self, *args):
        raise StudentCodeError(
            f"your code returned an object of type {self.type_name}, not a plain value "
            "(an int, a float, a tuple or a tensor)")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __bool__ = __int__ = __float__ = __index__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __floordiv__ = __neg__ = _refuse

    def __hash__(self):
        return hash((id(self._sandbox), self._id))

    def __repr__(self):
        return f"<{self.type_name} from your notebook>"


class RemoteEnv:
    """The student notebook's globals, as the checks see them (`env["conv_params"]`)."""

    def __init__(self, sandbox: Sandbox):
        self._sandbox = sandbox

    def get(self, name: str, default=None):
        value = self._sandbox.request("get", name)
        if type(value) is dict and value.get("__missing__"):
            return default
        return value

    def __getitem__(self, name: str):
        value = self.get(name, _MISSING)
        if value is _MISSING:
            raise KeyError(name)
        return value

    def __contains__(self, name: str) -> bool:
        return self.get(name, _MISSING) is not _MISSING

    def autograd_calls(self) -> int:
        """How often the student's code called backward()/autograd.grad since last asked."""
        return self._sandbox.autograd_calls()

    def stage(self, tensors) -> str:
        """Write `tensors` (e.g. a reference state_dict) into the sandbox's folder and return
        the path, for a probe to torch.load(path, mmap=True): large weights cross once,
        through the page cache, instead of being pickled and copied on both sides."""
        self._staged = getattr(self, "_staged", 0) + 1
        path = os.path.join(self._sandbox.workdir, f".cnnlab-staged-{self._staged}.pt")
        torch.save(tensors, path)
        return path

    def run_in_sandbox(self, source: str, timeout: float = 60.0) -> None:
        """Execute the grader's own helper code (probes that return plain data) in the
        student's process, next to the objects it inspects. Nothing it computes there is
        trusted more than any other reply."""
        self._sandbox.exec_cell(source, timeout)


_MISSING = object()
