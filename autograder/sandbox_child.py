"""The untrusted side of a grading run: a process that executes one student notebook and
answers the grader's requests about the objects it defined.

Nothing here is trusted by the grader. Student code runs in this process and may change
anything in it; the grader (autograder/sandbox.py) only ever receives plain data from it
(ints, floats, strings, tensors, containers of those), decoded with torch's restricted
unpickler, and compares that data with a reference that lives in the grader's process.
Before the first student cell this process locks itself down (autograder/lockdown.py: a
uid of its own when the grader is root, Landlock, seccomp), so the kernel refuses what the
student must not do; the audit hook installed last (sys.addaudithook hooks cannot be
removed) refuses the same things earlier, with clearer messages. autograder/protocol.py
states the protocol.
"""
from __future__ import annotations

import builtins
import collections
import gc
import io
import json
import os
import pickle
import re
import signal
import sys
import time

from autograder import heap, lockdown
from autograder.protocol import LIMITS, Ref, encode

MAX_STRING = LIMITS.string_chars


class CellTimeout(BaseException):
    """BaseException so that a student's `except Exception:` cannot swallow it."""


class _NoGrader:
    """Stands in for `otter.Notebook` in a graded notebook: grader.check(...) does nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class _Discard(io.TextIOBase):
    """sys.stdout/sys.stderr: what the notebook prints goes nowhere (nothing reads it), so a
    notebook that prints 50 MB costs nothing."""

    def writable(self):
        return True

    def write(self, text):
        return len(str(text))


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

    def importing_torch() -> bool:
        # torch is imported before the lock-down when the notebook uses it; a notebook that
        # imports it later (by an obfuscated name) may load torch's own libraries while
        # that import runs, and nothing else. The kernel layers hold whatever ctypes does.
        torch = sys.modules.get("torch")
        return torch is not None and getattr(getattr(torch, "__spec__", None),
                                             "_initializing", False)

    def torch_library(name) -> bool:
        # torch's own libraries in site-packages, or a system library by its bare soname
        # (the CUDA build's cuda.pathfinder loads libdl.so.2, and the driver's libraries).
        if not isinstance(name, str):
            return False
        return os.sep not in name or os.path.realpath(name).startswith(libraries)

    def hook(event, args):
        if event == "ctypes.dlopen":
            if importing_torch() and torch_library(args[0] if args else None):
                return
            raise PermissionError("the grader does not allow ctypes")
        if event.startswith("ctypes.dlsym"):
            if importing_torch() and torch_library(getattr(args[0], "_name", None) if args else None):
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


class _TooLarge(Exception):
    pass


def _plain(value, objects: _Objects, depth: int = 0, budget: list | None = None):
    """Plain data for the grader, or a handle. Exact types only: an int subclass with a
    rigged __eq__ stays here as a handle. At most LIMITS.reply_items values in all, and
    no tensor over LIMITS.reply_bytes: a 40-million-element list is refused at once."""
    budget = [LIMITS.reply_items] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge
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
            if value.numel() * value.element_size() > LIMITS.reply_bytes:
                raise _TooLarge
            return value.detach().cpu().clone().as_subclass(torch.Tensor)
        if kind in (torch.Size, torch.dtype, torch.device):
            return value
    if kind in (list, tuple):
        if len(value) > budget[0]:
            raise _TooLarge
        return kind(_plain(v, objects, depth + 1, budget) for v in value)
    if kind is dict or kind is collections.OrderedDict:
        if all(type(k) is str for k in value):
            if len(value) > budget[0]:
                raise _TooLarge
            return {k: _plain(v, objects, depth + 1, budget) for k, v in value.items()}
    return objects.handle(value)


def _error(err: BaseException) -> dict:
    builtin = next((c.__name__ for c in type(err).__mro__
                    if c.__module__ == "builtins"), "BaseException")
    try:
        message = str(err)[:2000]
    except BaseException:
        message = "(unprintable)"
    name = str(getattr(type(err), "__name__", "Exception"))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,79}", name):
        name = "Exception"  # a class name is shown to people: nothing that is not a name
    return {"__error__": builtin, "type": name, "message": message}


# --- the request loop ---------------------------------------------------------------------

def _on_alarm(signum, frame):
    raise CellTimeout()


TOO_LARGE = {"__refused__": f"the value your code returned is too large to grade "
                           f"(over {LIMITS.reply_bytes // 2**20} MB, or over "
                           f"{LIMITS.reply_items:,} values)"}


def _reply_bytes(reply, error) -> bytes:
    """The reply's bytes, made under a timer: an exception whose message never ends, or a
    value that takes forever to encode, costs its own call, not the run."""
    signal.setitimer(signal.ITIMER_REAL, LIMITS.encode_s)
    try:
        if error is not None:
            reply = _error(error)
        data = encode(reply, _error)
    except CellTimeout:
        data = encode({"__timeout__": True})
    except BaseException:  # noqa: BLE001
        data = encode({"__refused__": "your code's value could not be sent to the grader"})
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return data if len(data) <= LIMITS.reply_bytes else encode(TOO_LARGE)


def _call_many(conn, fn, calls, per_call: float, budget: float, stop_on: list,
               objects: _Objects) -> None:
    """Sends one reply per (args, kwargs) in `calls`, in order, as each call returns (the
    grader then knows which call a lost process was making); the caller ends the batch
    with {"__stop__": True}. Each call gets `per_call` seconds: the first call past it
    ends the batch with {"__timeout__": True}. The first exception of a builtin class named
    in `stop_on` ends it too, and no call starts after `budget` seconds (the grader asks
    the rest one at a time, as it would have without a batch)."""
    deadline = time.monotonic() + budget
    stops = tuple(c for c in (getattr(builtins, str(n), None) for n in stop_on)
                  if isinstance(c, type) and issubclass(c, BaseException))
    for call_args, call_kwargs in calls:
        if time.monotonic() > deadline:
            return
        reply, error, last = None, None, False
        signal.setitimer(signal.ITIMER_REAL, per_call)
        try:
            reply = {"value": _plain(fn(*call_args, **call_kwargs), objects)}
        except CellTimeout:
            reply, last = {"__timeout__": True}, True
        except _TooLarge:
            reply, last = TOO_LARGE, True
        except BaseException as err:  # noqa: BLE001 - student code may raise anything
            error, last = err, isinstance(err, stops)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        conn.send_bytes(_reply_bytes(reply, error))
        if last:
            return


def _preload(setup: dict) -> None:
    """What must be imported before the lock-down: ctypes (it builds `ctypes.pythonapi`
    when imported, which the audit hook would refuse later), dill (torch imports it when
    installed, and it looks C symbols up on import), and torch where the notebook uses it
    (its import loads libraries through ctypes; the CUDA build's cuda.pathfinder loads
    libdl that way)."""
    import ctypes  # noqa: F401
    heap.look_up()  # now: the audit hook refuses dlopen later
    for name in ["dill", *setup.get("preload", [])]:
        try:
            __import__(name)
        except ImportError:
            pass


# A request that ran this long may have freed much (a model's weights, its activations):
# after its reply is sent, while the grader reads it, the heap's free pages go back to the
# kernel (autograder/heap.py). VGG's training peaked at 100 MB more than it holds without.
# (Allocating every tensor with mmap instead, MALLOC_MMAP_THRESHOLD_, gave the same memory
# back but cost the smoke tests a third more time in page faults.)
TRIM_AFTER_S = 0.05


def serve(conn, setup: dict, hello: dict) -> None:
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
    sys.stdout = sys.stderr = _Discard()
    if "audit" in setup.get("layers", ["audit"]):
        _install_guards(setup.get("forbidden_paths", []), setup.get("forbidden_modules", []))
        hello["layers"].append("audit")
    else:
        hello["missing"]["audit"] = "not asked for"
    conn.send_bytes(encode({"value": hello}))

    while True:
        try:
            request = pickle.loads(conn.recv_bytes())
        except EOFError:
            return
        started = time.monotonic()
        op, args = request
        watch_torch()
        error = None
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
            elif op == "call_many":
                fn, calls, per_call, budget, stop_on = objects.resolve(args)
                _call_many(conn, fn, calls, per_call, budget, stop_on, objects)
                reply = {"__stop__": True}
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
            else:
                reply = {"__error__": "RuntimeError", "type": "RuntimeError",
                         "message": f"unknown request {op!r}"}
        except CellTimeout:
            reply = {"__timeout__": True}
        except _TooLarge:
            reply = TOO_LARGE
        except BaseException as err:  # noqa: BLE001 - student code may raise anything
            reply, error = None, err
        conn.send_bytes(_reply_bytes(reply, error))
        if time.monotonic() - started >= TRIM_AFTER_S:
            heap.give_back()


def main(fd_in: int, fd_out: int) -> None:
    from multiprocessing.connection import Connection

    # One duplex connection would do, but two one-way pipes keep the fds simple to pass.
    reader = Connection(fd_in, writable=False)
    writer = Connection(fd_out, readable=False)
    setup = json.loads(reader.recv_bytes(LIMITS.reply_bytes))
    # Output the student writes to the real stdout/stderr descriptors goes nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    os.chdir(setup["workdir"])
    _preload(setup)
    policy = lockdown.Policy(workdir=setup["workdir"], private=setup.get("private", []),
                             inbox=setup.get("inbox"),
                             uid=setup.get("uid"), gpu=setup.get("gpu", False))
    layers, missing = lockdown.lock_down(policy, want=setup.get("layers", lockdown.LAYERS))
    if setup.get("gpu") and "torch" in sys.modules:
        # CUDA's first use starts threads and reads the driver: done once, under the
        # kernel layers, before any student code (and before the audit hook).
        try:
            sys.modules["torch"].cuda.init()
        except Exception:  # noqa: BLE001 - the checks then run on the CPU
            pass

    # A sandbox never outlives its grader: killed when the process that started it dies
    # (set after the uid change, which clears it; and the grader may already be gone).
    lockdown.die_with_parent(setup["grader_pid"])

    class Duplex:
        recv_bytes = reader.recv_bytes
        send_bytes = writer.send_bytes

    serve(Duplex, setup, {"layers": layers, "missing": missing})


# --- the warm parent ------------------------------------------------------------------------

def warm_parent_main(control_fd: int) -> None:
    """A warm parent of sandboxes (autograder/sandbox.py, WarmParent): imports what a
    sandbox imports before its lock-down, once, then forks one fresh sandbox per request
    on the control socket and reports each one's exit. It never runs student code, keeps
    nothing of one request for the next, and its sandboxes cannot reach it: each closes the
    control socket before anything else. Requests are JSON {"env", "cwd", "memory_mb",
    "file_mb"} with the sandbox's two pipe ends as SCM_RIGHTS; replies
    ["forked", pid] and ["exited", pid, returncode] (returncode as subprocess gives it)."""
    import select
    import socket

    control = socket.socket(fileno=control_fd)
    setup = json.loads(control.recv(65536))
    _preload(setup)
    # What the imports made moves to the collector's permanent generation: a sandbox's
    # collections then never walk it (and so never write its pages, which the fork shares).
    gc.freeze()
    lockdown.die_with_parent(setup["grader_pid"])
    control.sendall(json.dumps(["ready", os.getpid()]).encode())
    # A pidfd per live sandbox wakes the loop the moment one ends, so the grader waiting on
    # a killed sandbox hears of it at once, not at the next poll (which cost each
    # submission ~25 ms); the short poll stays for a kernel without pidfds.
    exit_fds: dict[int, int] = {}
    while True:
        readable, _, _ = select.select([control, *exit_fds], [], [], 0.05)
        while True:  # report the sandboxes that ended
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            for exit_fd in [fd for fd, child in exit_fds.items() if child == pid]:
                os.close(exit_fd)
                del exit_fds[exit_fd]
            control.sendall(json.dumps(["exited", pid, os.waitstatus_to_exitcode(status)]).encode())
        if control not in readable:
            continue
        message, fds, _, _ = socket.recv_fds(control, 65536, 2)
        if not message:
            os._exit(0)  # the grader is gone
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            _forked_sandbox(control, fds, request)
        for fd in fds:
            os.close(fd)
        try:
            exit_fds[os.pidfd_open(pid)] = pid
        except (AttributeError, OSError):
            pass  # the poll reports it
        control.sendall(json.dumps(["forked", pid]).encode())


def _forked_sandbox(control, fds: list[int], request: dict) -> None:
    """The child of a fork: made what a fresh `python -I` sandbox is at its start (its own
    session, rlimits, environment and folder, no descriptor but its pipes and /dev/null),
    then main(). Never returns to the parent's loop."""
    try:
        control.close()
        fd_in, fd_out = fds
        for entry in os.listdir("/proc/self/fd"):
            if int(entry) > 2 and int(entry) not in (fd_in, fd_out):
                try:
                    os.close(int(entry))
                except OSError:
                    pass
        memory_mb = request.get("memory_mb")
        lockdown.own_session_and_limits(None if memory_mb is None else int(memory_mb),
                                        int(request["file_mb"]), LIMITS.open_files)
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        os.chdir(request["cwd"])
        # What the parent's imports worked out from its own environment: asked again here.
        import tempfile
        tempfile.tempdir = None
        main(fd_in, fd_out)
    finally:
        os._exit(0)
