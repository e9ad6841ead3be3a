"""The untrusted side of a grading run: a process that executes one student notebook and
answers the grader's requests about the objects it defined.

Nothing here is trusted by the grader. Student code runs in this process and may change
anything in it; the grader (autograder/sandbox.py) only ever receives plain data from it
(ints, floats, strings, tensors, containers of those), decoded with torch's restricted
unpickler, and compares that data with a reference that lives in the grader's process.
This process is started with guards the student cannot lift: resource limits set before it
starts, and an audit hook (sys.addaudithook hooks cannot be removed) that refuses to open
the hidden tests and the reference, to start programs, to load native code, to signal other
processes or to open sockets.
"""
from __future__ import annotations

import builtins
import collections
import io
import os
import pickle
import re
import signal
import sys

MAX_STRING = 10_000


class Ref:
    """A reference to an object that lives in the sandbox, as the grader sends it back."""

    __slots__ = ("id",)

    def __init__(self, id: int):
        self.id = id


class CellTimeout(BaseException):
    """BaseException so that a student's `except Exception:` cannot swallow it."""


class _NoGrader:
    """Stands in for `otter.Notebook` in a graded notebook: grader.check(...) does nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class _CappedWriter(io.TextIOBase):
    """sys.stdout/sys.stderr: keeps the first bytes for diagnostics, drops the rest, so a
    notebook that prints 50 MB costs nothing."""

    def __init__(self, limit: int = 65_536):
        self.kept, self.limit, self.dropped = [], limit, 0

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        room = self.limit - sum(len(t) for t in self.kept)
        if room > 0:
            self.kept.append(text[:room])
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)


# --- the guards -------------------------------------------------------------------------

_BLOCKED_EVENTS = (
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "pty.spawn", "ctypes.cdata",
    "socket.connect", "socket.bind", "socket.getaddrinfo", "webbrowser.open",
    "os.chdir",
)


def _install_guards(forbidden: list[str], forbidden_modules: list[str]) -> None:
    forbidden = [os.path.realpath(p) for p in forbidden]
    own_pid = os.getpid()
    proc_other = re.compile(r"^/proc/(\d+)")

    def denied(path) -> bool:
        if isinstance(path, int):
            return False
        try:
            path = os.fsdecode(path)
            real = os.path.realpath(path)
        except Exception:
            return True
        match = proc_other.match(real)
        if match and int(match.group(1)) != own_pid:
            return True
        return any(real == p or real.startswith(p + os.sep) for p in forbidden)

    import sysconfig

    libraries = tuple(os.path.realpath(sysconfig.get_paths()[k]) + os.sep
                      for k in ("purelib", "platlib"))

    def hook(event, args):
        if event == "ctypes.dlopen":
            # torch loads its own shared libraries with ctypes when it is first imported;
            # anything else (libc, the interpreter itself) is refused.
            name = args[0] if args else None
            if isinstance(name, str) and os.path.realpath(name).startswith(libraries):
                return
            raise PermissionError("the grader does not allow ctypes")
        if event.startswith("ctypes.dlsym"):
            name = getattr(args[0], "_name", None) if args else None
            if isinstance(name, str) and os.path.realpath(name).startswith(libraries):
                return
            raise PermissionError("the grader does not allow ctypes")
        if event in ("open", "os.listdir", "os.scandir", "glob.glob", "shutil.copyfile",
                     "os.rename", "os.remove", "os.truncate", "os.chmod", "os.symlink",
                     "os.link", "os.rmdir", "os.mkdir", "os.chown", "os.utime"):
            if args and denied(args[0]):
                raise PermissionError(f"the grader does not allow access to {args[0]!r}")
        elif event == "import":
            name = args[0] or ""
            if any(name == m or name.startswith(m + ".") for m in forbidden_modules):
                raise ImportError(f"the grader does not allow importing {name}")
        elif event in ("os.kill", "os.killpg", "signal.pthread_kill"):
            if args and args[0] not in (own_pid, 0) and event != "signal.pthread_kill":
                raise PermissionError("the grader does not allow signalling other processes")
        elif event.startswith(_BLOCKED_EVENTS):
            raise PermissionError(f"the grader does not allow {event}")

    sys.addaudithook(hook)


# --- values crossing to the grader --------------------------------------------------------

class _Objects:
    def __init__(self):
        self.by_id: dict[int, object] = {}
        self.next_id = 1

    def handle(self, obj) -> dict:
        hid = self.next_id
        self.next_id += 1
        self.by_id[hid] = obj
        try:
            mro = [f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__]
        except Exception:
            mro = ["builtins.object"]
        return {"__handle__": hid, "__mro__": mro}

    def resolve(self, value):
        if isinstance(value, Ref):
            return self.by_id[value.id]
        if type(value) in (list, tuple):
            return type(value)(self.resolve(v) for v in value)
        if type(value) is dict:
            return {k: self.resolve(v) for k, v in value.items()}
        return value


def _plain(value, objects: _Objects, depth: int = 0):
    """Plain data for the grader, or a handle. Exact types only: an int subclass with a
    rigged __eq__ stays here as a handle."""
    kind = type(value)
    if value is None or kind in (bool, int, float):
        return value
    if kind.__module__ == "numpy" and kind.__name__ == "float64":
        return float(value)  # a float subclass, numpy's own C type: nothing to rig
    if kind is str:
        return value[:MAX_STRING]
    if depth > 20:
        return objects.handle(value)
    torch = sys.modules.get("torch")  # no tensor can exist before the notebook imports torch
    if torch is not None:
        if kind in (torch.Tensor, torch.nn.Parameter):
            return value.detach().cpu().clone().as_subclass(torch.Tensor)
        if kind in (torch.Size, torch.dtype, torch.device):
            return value
    if kind in (list, tuple):
        return kind(_plain(v, objects, depth + 1) for v in value)
    if kind is dict or kind is collections.OrderedDict:
        if all(type(k) is str for k in value):
            return {k: _plain(v, objects, depth + 1) for k, v in value.items()}
    return objects.handle(value)


def _error(err: BaseException) -> dict:
    builtin = next((c.__name__ for c in type(err).__mro__
                    if c.__module__ == "builtins"), "BaseException")
    try:
        message = str(err)[:2000]
    except BaseException:
        message = "(unprintable)"
    return {"__error__": builtin, "type": type(err).__name__, "message": message}


class _NeedsTorch(Exception):
    pass


def _jsonable(value):
    """JSON for replies of plain values (most of them: numbers, shapes, rows), which is much
    faster to write and to read safely than torch.save; tensors need torch.save."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is tuple:
        return {"__tuple__": [_jsonable(v) for v in value]}
    if kind is list:
        return [_jsonable(v) for v in value]
    if kind is dict and all(type(k) is str and not k.startswith("__tuple__") for k in value):
        return {k: _jsonable(v) for k, v in value.items()}
    raise _NeedsTorch


def _encode(reply) -> bytes:
    import json

    try:
        return b"J" + json.dumps(_jsonable(reply)).encode()
    except (_NeedsTorch, ValueError, RecursionError):
        pass
    import torch

    buffer = io.BytesIO()
    try:
        torch.save(reply, buffer)
    except BaseException as err:  # noqa: BLE001
        buffer = io.BytesIO()
        torch.save(_error(err), buffer)
    return b"T" + buffer.getvalue()


# --- the request loop ---------------------------------------------------------------------

def _on_alarm(signum, frame):
    raise CellTimeout()


def serve(conn, setup: dict) -> None:
    # ctypes builds `ctypes.pythonapi` when imported, which the guards would refuse later;
    # torch imports ctypes, so it must be imported (not used) before the guards.
    import ctypes  # noqa: F401
    try:  # torch imports dill when it is installed; dill looks up C symbols on import
        import dill  # noqa: F401
    except ImportError:
        pass

    env: dict = {"__name__": "__main__", "__builtins__": builtins, "grader": _NoGrader()}
    objects = _Objects()
    autograd_calls = {"n": 0, "watching": False}

    def note_autograd(original):
        def wrapper(*args, **kwargs):
            autograd_calls["n"] += 1
            return original(*args, **kwargs)
        return wrapper

    def watch_torch():
        # torch is imported by the notebook itself, if at all: a notebook that needs no
        # torch (cnn_costs) does not pay for importing it here.
        torch = sys.modules.get("torch")
        if autograd_calls["watching"] or torch is None or not hasattr(torch, "autograd"):
            return
        torch.set_num_threads(max(1, setup.get("threads", 1)))
        torch.Tensor.backward = note_autograd(torch.Tensor.backward)
        torch.autograd.backward = note_autograd(torch.autograd.backward)
        torch.autograd.grad = note_autograd(torch.autograd.grad)
        autograd_calls["watching"] = True

    signal.signal(signal.SIGALRM, _on_alarm)
    stdout = _CappedWriter()
    sys.stdout = sys.stderr = stdout
    _install_guards(setup.get("forbidden_paths", []), setup.get("forbidden_modules", []))

    while True:
        try:
            request = pickle.loads(conn.recv_bytes())
        except EOFError:
            return
        op, args = request
        watch_torch()
        try:
            if op == "exec":
                source, timeout = args
                code = compile(source, "<cell>", "exec")
                signal.setitimer(signal.ITIMER_REAL, timeout)
                try:
                    exec(code, env)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    watch_torch()
                reply = {"value": None}
            elif op == "get":
                reply = {"value": _plain(env[args], objects) if args in env else {"__missing__": True}}
            elif op == "call":
                fn, call_args, call_kwargs = objects.resolve(args)
                reply = {"value": _plain(fn(*call_args, **call_kwargs), objects)}
            elif op == "getattr":
                target, name = args
                reply = {"value": _plain(getattr(objects.by_id[target], name), objects)}
            elif op == "iter":
                reply = {"value": objects.handle(iter(objects.by_id[args]))}
            elif op == "next":
                try:
                    reply = {"value": _plain(next(objects.by_id[args]), objects)}
                except StopIteration:
                    reply = {"__stop__": True}
            elif op == "len":
                reply = {"value": _plain(len(objects.by_id[args]), objects)}
            elif op == "getitem":
                target, key = args
                reply = {"value": _plain(objects.by_id[target][objects.resolve(key)], objects)}
            elif op == "autograd_calls":
                reply = {"value": autograd_calls["n"]}
                autograd_calls["n"] = 0
            elif op == "output":
                reply = {"value": {"kept": "".join(stdout.kept), "dropped": stdout.dropped}}
            else:
                reply = {"__error__": "RuntimeError", "type": "RuntimeError",
                         "message": f"unknown request {op!r}"}
        except CellTimeout:
            reply = {"__timeout__": True}
        except BaseException as err:  # noqa: BLE001 - student code may raise anything
            reply = _error(err)
        conn.send_bytes(_encode(reply))


def main(fd_in: int, fd_out: int, setup_path: str) -> None:
    from multiprocessing.connection import Connection

    with open(setup_path, "rb") as f:
        setup = pickle.load(f)
    os.unlink(setup_path)
    # Output the student writes to the real stdout/stderr descriptors goes nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.chdir(setup["workdir"])
    # One duplex connection would do, but two one-way pipes keep the fds simple to pass.
    reader = Connection(fd_in, writable=False)
    writer = Connection(fd_out, readable=False)

    class Duplex:
        recv_bytes = reader.recv_bytes
        send_bytes = writer.send_bytes

    serve(Duplex, setup)
