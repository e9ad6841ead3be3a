"""The trusted side of a grading run: starts the sandbox process that executes a student's
notebook (autograder/sandbox_child.py) and talks to the objects it defined through proxies.

The checks in autograder/checks/ run here, in the grader's process, against a reference
imported here. Student code never runs in this process: calling a proxy sends a request to
the sandbox and brings back plain data only (decoded with torch's restricted unpickler,
`weights_only=True`, which builds nothing but tensors and builtin containers). Whatever the
student patches, replaces or fakes, it is inside the sandbox, where no expected value is.
The sandbox locks itself down with the kernel's help (autograder/lockdown.py) before any
student code runs; autograder/protocol.py states the protocol and its limits.
"""
from __future__ import annotations

import builtins
import functools
import importlib
import itertools
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from autograder import lockdown, torch_build
from autograder.forkserver import child_environment, forking_asked_for, warm_parent
from autograder.protocol import (LIMITS, Ref, SandboxLost, SandboxUnavailable,  # noqa: F401
                                 CellTimedOut, ReplyTooLarge, StudentCodeError, decode,
                                 read_message)

ROOT = Path(__file__).resolve().parent.parent
# Classes the grader may treat a student object as, for isinstance(): their own library
# classes only, never a class the student defined.
_TRUSTED_MODULES = ("builtins", "torch", "collections", "numpy")
# When the grader runs as root, each sandbox gets a uid (and gid) of its own from this range,
# so that two sandboxes are as foreign to each other as to the grader.
SANDBOX_UID_BASE, SANDBOX_UIDS = 200_000, 800_000
_sandbox_serial = itertools.count()


def layers_asked_for() -> tuple[str, ...]:
    """The layers to apply: all of them, unless the instructor's CNNLAB_SANDBOX_LAYERS
    (e.g. "landlock,audit") names fewer, to try how grading degrades."""
    asked = os.environ.get("CNNLAB_SANDBOX_LAYERS")
    if not asked:
        return lockdown.LAYERS
    return tuple(x for x in lockdown.LAYERS if x in {a.strip() for a in asked.split(",")})


def _sandbox_uid() -> int:
    return SANDBOX_UID_BASE + (os.getpid() * 64 + next(_sandbox_serial)) % SANDBOX_UIDS


def temp_folders(prefix: str = "cnnlab-grade-") -> tuple[str, str, str]:
    """(tmp, work, inbox) for one sandbox: tmp/work is its own folder (read-write there,
    capped), tmp/inbox the grader's files for it (read-only there, not counted); tmp itself
    may only be passed through. The caller removes tmp."""
    tmp = os.path.realpath(tempfile.mkdtemp(prefix=prefix))
    work, inbox = os.path.join(tmp, "work"), os.path.join(tmp, "inbox")
    os.mkdir(work, 0o700)
    os.mkdir(inbox, 0o755)
    os.chmod(tmp, 0o711)
    return tmp, work, inbox


def _folder_usage(path: str, cap_files: int) -> tuple[int, int]:
    """(bytes, entries) under `path`; stops counting past `cap_files` entries."""
    size, count, stack = 0, 0, [path]
    while stack and count <= cap_files:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    count += 1
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    size += st.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            continue
    return size, count


def _watch(sandbox: "Sandbox", process: subprocess.Popen, every: float = 0.2) -> None:
    """Ends the sandbox when its temp folder passes its caps, or (on CUDA, where RLIMIT_AS
    cannot be used) when its resident memory passes the limit; says why in lost_reason."""
    page = os.sysconf("SC_PAGE_SIZE")
    memory = sandbox.memory_mb * 1024 * 1024 if sandbox.watch_memory else None
    while process.poll() is None:
        reason = None
        size, count = _folder_usage(sandbox.workdir, LIMITS.workdir_files)
        if size > LIMITS.workdir_mb * 2**20 or count > LIMITS.workdir_files:
            reason = (f"your notebook wrote more than its folder may hold "
                      f"({LIMITS.workdir_mb} MB in at most {LIMITS.workdir_files} files)")
        elif memory is not None:
            try:
                with open(f"/proc/{process.pid}/statm") as f:
                    if int(f.read().split()[1]) * page > memory:
                        reason = "your notebook's process used far too much memory"
            except (OSError, ValueError, IndexError):
                pass
        if reason:
            sandbox.lost_reason = reason
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            return
        time.sleep(every)


class Sandbox:
    """One sandbox process. `request` raises StudentCodeError for anything the student's
    code did (an exception, a timeout, ending the process)."""

    def __init__(self, workdir: str, forbidden_paths: list[str], *, memory_mb: int = LIMITS.memory_mb,
                 file_mb: int = LIMITS.file_mb, rpc_timeout: float = 120.0, threads: int = 1,
                 preload: list[str] | None = None, private: list[str] | None = None,
                 strict: bool = False, layers=None, inbox: str | None = None,
                 fork: bool | None = None):
        self.workdir = os.path.realpath(workdir)
        # The grader's files for the sandbox (staged weights): readable there, not writable,
        # and not counted against the temp folder's cap.
        self.inbox = os.path.realpath(inbox) if inbox else None
        self.forbidden_paths = [str(p) for p in forbidden_paths]
        # Covered by the uid layer: the private folders, and every folder holding one.
        self.private = [str(p) for p in (private if private is not None else forbidden_paths)]
        self.memory_mb, self.file_mb = memory_mb, file_mb
        self.rpc_timeout = rpc_timeout
        self.threads = threads
        self.preload = list(preload or [])
        self.strict, self.layers_wanted = strict, tuple(layers or layers_asked_for())
        # Forked from a warm parent (WarmParent), or started fresh.
        self.fork = forking_asked_for() if fork is None else fork
        self.process: subprocess.Popen | None = None
        self.generation = 0
        self.layers: list[str] = []
        self.missing: dict[str, str] = {}
        self.lost_reason: str | None = None
        # (torch asked about only for a sandbox that imports it: its grader has imported
        # it too)
        self.gpu = "torch" in self.preload and _cuda_available()
        # The CUDA build reserves far more address space than it uses (3.2 GB on import,
        # GPU or not), so RLIMIT_AS would break it: there the watchdog measures the
        # resident memory instead.
        self.watch_memory = torch_build.is_cuda_build()

    # -- life cycle --------------------------------------------------------------------
    def start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        setup = {
            "workdir": self.workdir,
            "forbidden_paths": self.forbidden_paths,
            "forbidden_modules": ["solutions", "autograder", "otter", "cnnlab", "quizzes"],
            "private": self.private,
            "inbox": self.inbox,
            "threads": self.threads,
            "preload": self.preload,
            "uid": _sandbox_uid() if os.geteuid() == 0 else None,
            "gpu": self.gpu,
            "layers": list(self.layers_wanted),
            "grader_pid": os.getpid(),
        }
        bootstrap = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                     "from autograder.sandbox_child import main; "
                     f"sys.path.remove({str(ROOT)!r}); main({to_child_r}, {from_child_w})")
        self.lost_reason = None
        memory_mb = None if self.watch_memory else self.memory_mb
        env = child_environment(self.workdir, self.threads)
        self.process = None
        if self.fork:
            try:
                parent = warm_parent(tuple(self.preload), self.threads)
                self.process = parent.spawn((to_child_r, from_child_w), env, self.workdir,
                                            memory_mb, self.file_mb)
                setup["grader_pid"] = parent.pid  # its parent, which dies with the grader
            except (SandboxLost, OSError):
                self.process = None  # started fresh below
        if self.process is None:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-c", bootstrap],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.workdir,
                env=env, close_fds=True, preexec_fn=functools.partial(
                    lockdown.own_session_and_limits, memory_mb, self.file_mb,
                    LIMITS.open_files),
            )
        threading.Thread(target=_watch, args=(self, self.process), daemon=True).start()
        os.close(to_child_r)
        os.close(from_child_w)
        self._send = Connection(to_child_w, readable=False)
        self._recv_fd = from_child_r
        self.generation += 1
        self._send.send_bytes(json.dumps(setup).encode())
        hello = self._reply(LIMITS.start_s, "your notebook's process did not start")
        hello = hello.get("value") if type(hello) is dict else None
        if type(hello) is not dict or type(hello.get("layers")) is not list:
            self.kill()
            raise SandboxLost("the sandbox did not start")
        self.layers = [str(x) for x in hello["layers"]]
        self.missing = {str(k): str(v) for k, v in dict(hello.get("missing") or {}).items()}
        lacking = self.missing_required()
        if self.strict and lacking:
            self.kill()
            raise SandboxUnavailable("--strict: this machine cannot give the sandbox "
                                     + lockdown.status_line([], lacking))

    def missing_required(self) -> dict[str, str]:
        """The layers this machine should give and this sandbox lacks."""
        expected = lockdown.expected_layers()
        return {k: v for k, v in self.missing.items() if k in expected}

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
        _reap_session(self.process.pid)
        self._send.close()
        os.close(self._recv_fd)
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
        except OSError:  # BrokenPipeError, ConnectionResetError among them
            self._lost()
        return self._decode_reply(self._reply(timeout, f"your code did not finish within "
                                                       f"{timeout:g} s"))

    def _reply(self, timeout: float, late: str):
        """The next reply, decoded as plain data; at most LIMITS.reply_bytes, read only
        after its length is known."""
        try:
            data = read_message(self._recv_fd, time.monotonic() + timeout, LIMITS.reply_bytes)
        except TimeoutError:
            self.kill()
            raise SandboxLost(self.lost_reason or late) from None
        except ReplyTooLarge:
            self.kill()
            raise SandboxLost("your code returned a value too large to grade (over "
                              f"{LIMITS.reply_bytes // 2**20} MB)") from None
        except (OSError, EOFError):
            self._lost()
        except BaseException:
            # Interrupted (e.g. by a check's time limit): the sandbox is mid-call, so end it.
            self.kill()
            raise
        try:
            return decode(data)
        except Exception:
            self.kill()
            raise SandboxLost("your notebook's process sent back something unreadable") from None

    def _lost(self):
        try:
            code = self.process.wait(timeout=2) if self.process else None
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        raise SandboxLost(self.lost_reason or _ended(code)) from None

    def _decode_reply(self, reply):
        if not isinstance(reply, dict):
            raise SandboxLost("your notebook's process sent back something unreadable")
        if reply.get("__timeout__"):
            raise CellTimedOut("the cell did not finish in time")
        if "__refused__" in reply:
            raise StudentCodeError(str(reply["__refused__"]))
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

    def call_many(self, target: int, calls: list, per_call: float, budget: float,
                  stop_on: list[str]) -> list[tuple]:
        """The object `target` called on each (args, kwargs) of `calls`, asked in one
        request and answered one reply per call as each returns:
        [("returned", value) | ("raised", exception) | ("timeout", None)], in order. A call
        that ends the process, or sends nothing in its time, is the last outcome, as it
        would be asked alone: a SandboxLost raised, or a timeout (and the sandbox ended)."""
        if not self.alive:
            raise SandboxLost("your notebook's process had already ended")
        batch = [(list(a), dict(k)) for a, k in calls]
        try:
            self._send.send_bytes(pickle.dumps(
                ("call_many", (Ref(target), batch, per_call, budget, list(stop_on))),
                protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            self._lost()
        outcomes: list[tuple] = []
        late = "your code did not answer in time"
        while len(outcomes) <= len(calls):
            try:
                reply = self._reply(per_call + LIMITS.encode_s + 1, late)
            except SandboxLost as err:
                outcomes.append(("timeout", None) if str(err) == late else ("raised", err))
                break
            try:
                outcomes.append(("returned", self._decode_reply(reply)))
            except StopIteration:  # the batch's end
                break
            except CellTimedOut:
                outcomes.append(("timeout", None))
            except SandboxLost:
                self.kill()
                raise
            except Exception as err:  # noqa: BLE001 - the student's error, an answer
                outcomes.append(("raised", err))
        if len(outcomes) > len(calls):
            self.kill()
            raise SandboxLost("your notebook's process sent back something unreadable")
        return outcomes

    # -- conveniences ------------------------------------------------------------------
    def exec_cell(self, source: str, timeout: float) -> None:
        self.request("exec", (source, timeout), timeout=timeout + 10)

    def autograd_calls(self) -> int:
        return self.request("autograd_calls")


def _reap_session(sid: int) -> None:
    """Kill whatever is left of a sandbox's session (where no seccomp layer stopped it from
    starting processes), so that nothing of a submission outlives it."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getsid(int(entry)) == sid:
                os.kill(int(entry), signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass


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

    __slots__ = ("_sandbox", "_id", "_mro", "_generation", "_name")

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

    def _call_many(self, calls: list, per_call: float, budget: float,
                   stop_on: list[str]) -> list[tuple]:
        """This object called on each (args, kwargs) of `calls` (common.call_many)."""
        if self._generation != self._sandbox.generation or not self._sandbox.alive:
            raise SandboxLost("an earlier call ended your notebook's process; "
                              "this object is gone")
        return self._sandbox.call_many(self._id, calls, per_call, budget, stop_on)

    def __getattr__(self, name):
        if name.startswith("__") and name not in ("__name__", "__qualname__", "__doc__"):
            raise AttributeError(name)
        if name == "__name__":
            # Asked before every call, for the feedback: one round trip per object.
            try:
                return object.__getattribute__(self, "_name")
            except AttributeError:
                value = self._request("getattr", (self._id, name))
                object.__setattr__(self, "_name", value)
                return value
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
        folder = self._sandbox.inbox or self._sandbox.workdir
        path = os.path.join(folder, f"staged-{os.getpid()}-{id(self)}-{self._staged}.pt")
        import torch

        torch.save(tensors, path)
        os.chmod(path, 0o644)
        return path

    def run_in_sandbox(self, source: str, timeout: float = 60.0) -> None:
        """Execute the grader's own helper code (probes that return plain data) in the
        student's process, next to the objects it inspects. Nothing it computes there is
        trusted more than any other reply."""
        self._sandbox.exec_cell(source, timeout)


_MISSING = object()


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
