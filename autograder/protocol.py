"""The sandbox protocol: how the grader (autograder/sandbox.py) and the sandbox process that
runs one student notebook (autograder/sandbox_child.py) talk, and the limits of a run.

A grading run, in order:

1. The grader starts the sandbox as `python -I -c ...` with two inherited pipes (requests
   in, replies out), its stdin, stdout and stderr on /dev/null, a fresh session, and the
   rlimits below; or (the default) has a warm parent fork it in that state, its imports
   done (autograder/forkserver.py). It writes the *setup* (a JSON object: workdir, private
   paths, modules to import before the lock-down, the sandbox uid, whether a GPU is used,
   threads) as the first request.
2. The sandbox imports what it must (torch, when the notebook uses it), locks itself down
   (autograder/lockdown.py: uid, Landlock, seccomp; then the audit hook), and sends the
   *hello* reply: `{"value": {"layers": [...], "missing": {layer: why}}}`. Nothing of the
   student's has run yet, so this reply is the only one the grader believes about the
   sandbox itself.
3. Requests follow, one at a time, each `(op, args)` pickled by the grader (the sandbox
   trusts the grader). Each op in OPS; `Ref(id)` stands for an object that lives in the
   sandbox.
4. Every reply is *plain data* and nothing else: `J` + JSON, or `T` + a torch.save archive
   read back with `weights_only=True` (tensors, numbers, strings, builtin containers). A
   reply is at most LIMITS.reply_bytes long, checked from its length header before a byte
   of it is read; anything longer, unreadable or late ends the sandbox. Reply shapes:

       {"value": v}                    the result; an object that is not plain data comes
                                       as {"__handle__": id, "__mro__": [qualified names]}
       {"__error__": builtin base, "type": the student's class name, "message": str}
       {"__timeout__": true}           the cell or call ran past its time
       {"__refused__": message}        the sandbox will not send the value (too large)
       {"__stop__": true}              StopIteration, for "next"

   A missing global is `{"value": {"__missing__": true}}`; a tuple inside JSON is
   `{"__tuple__": [...]}`.

The grader never evaluates anything that comes back: it compares plain data with the
reference it computed itself.
"""
from __future__ import annotations

import io
import json
import os
import select
import struct
import time
from dataclasses import dataclass

# op -> what it does, and its args
OPS = {
    "exec": "run a cell: (source, seconds); value None",
    "get": "a global of the notebook: name; value, or {'__missing__': True}",
    "call": "call an object: (Ref, args, kwargs); Refs inside args are resolved",
    "call_many": "call an object on many arguments: (Ref, [(args, kwargs)], seconds per "
                 "call, seconds before the last call starts, names of builtin exceptions "
                 "that end the batch); value a list of replies, one per call made, the "
                 "last a __timeout__ where a call ran past its time",
    "getattr": "an attribute: (id, name)",
    "iter": "iter(obj): id; a handle",
    "next": "next(iterator): id; a value or __stop__",
    "len": "len(obj): id",
    "getitem": "obj[key]: (id, key)",
    "autograd_calls": "how often backward()/autograd.grad ran since last asked (and reset)",
}


@dataclass(frozen=True)
class Limits:
    """Every limit of a grading run, in one place. Why each value:"""

    # A whole submission, wall clock: `cnnlab grade` and the Gradescope entry alike. A
    # correct cnn_architectures submission takes ~15 s on a busy 2-core machine.
    submission_s: float = 300.0
    # One cell, wall clock; the cells of a notebook share half the submission's time.
    cell_s: float = 60.0
    # Address space of the sandbox (RLIMIT_AS; on CUDA the resident-memory watchdog).
    memory_mb: int = 4096
    # One file the student writes (RLIMIT_FSIZE).
    file_mb: int = 64
    # The whole temp folder: bytes and number of entries (the grader's watchdog).
    workdir_mb: int = 512
    workdir_files: int = 2000
    # One reply: plain results are a few KB; the largest real reply (a model's output
    # batch) well under 1 MB. A 40-million-element list ends the sandbox instead.
    reply_bytes: int = 8 * 1024 * 1024
    # Values in one reply (list items, dict entries, nested, all counted).
    reply_items: int = 200_000
    # Making one reply (building an error's message, encoding): seconds.
    encode_s: float = 2.0
    # A string in a reply.
    string_chars: int = 10_000
    # Open files of the sandbox (RLIMIT_NOFILE).
    open_files: int = 256
    # How long the sandbox may take to start and lock itself down.
    start_s: float = 60.0
    # The grader's own address space (its reference models and staged weights reach ~2 GB
    # for cnn_architectures); not applied where CUDA is used, which reserves far more.
    grader_memory_mb: int = 16384


LIMITS = Limits()


class StudentCodeError(AssertionError):
    """Student code failed in a way that is feedback for the student (an AssertionError, so
    the checks report it like any failed expectation)."""


class CellTimedOut(StudentCodeError):
    """A cell or call ran past its time."""


class SandboxLost(StudentCodeError):
    """The sandbox process ended or stopped answering; it will be restarted."""


class SandboxUnavailable(RuntimeError):
    """The sandbox could not be started with the layers asked for (`--strict`)."""


class Ref:
    """A reference to an object that lives in the sandbox, as the grader sends it back."""

    __slots__ = ("id",)

    def __init__(self, id: int):
        self.id = id


class NeedsTorch(Exception):
    """A reply that JSON cannot carry (a tensor, a dtype)."""


def jsonable(value):
    """JSON for replies of plain values (most of them: numbers, shapes, rows), which is much
    faster to write and to read safely than torch.save; tensors need torch.save."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is tuple:
        return {"__tuple__": [jsonable(v) for v in value]}
    if kind is list:
        return [jsonable(v) for v in value]
    if kind is dict and all(type(k) is str and not k.startswith("__tuple__") for k in value):
        return {k: jsonable(v) for k, v in value.items()}
    raise NeedsTorch


def encode(reply, error=None) -> bytes:
    """A reply as bytes (the sandbox's side). `error(exc)` turns an unencodable reply into
    an error reply."""
    try:
        return b"J" + json.dumps(jsonable(reply)).encode()
    except (NeedsTorch, ValueError, RecursionError):
        pass
    import torch

    buffer = io.BytesIO()
    try:
        torch.save(reply, buffer)
    except BaseException as err:  # noqa: BLE001
        buffer = io.BytesIO()
        torch.save(error(err) if error else {"__error__": "RuntimeError", "type": "RuntimeError",
                                             "message": "unencodable reply"}, buffer)
    return b"T" + buffer.getvalue()


def _as_tuple(obj: dict):
    if len(obj) == 1 and "__tuple__" in obj and type(obj["__tuple__"]) is list:
        return tuple(obj["__tuple__"])
    return obj


def decode(data: bytes):
    """A reply as plain data (the grader's side): JSON, or torch's restricted unpickler."""
    if data[:1] == b"J":
        return json.loads(data[1:], object_hook=_as_tuple)
    if data[:1] == b"T":
        import torch

        return torch.load(io.BytesIO(data[1:]), weights_only=True)
    raise ValueError("unknown encoding")


class ReplyTooLarge(Exception):
    pass


def _read_exactly(fd: int, n: int, deadline: float) -> bytes:
    chunks, left = [], n
    while left:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([fd], [], [], wait)[0]:
            raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int, deadline: float, cap: int) -> bytes:
    """One message in multiprocessing.connection's framing (a 4-byte big-endian length,
    or -1 and an 8-byte one, then the bytes), read by `deadline` (time.monotonic()) and at
    most `cap` bytes long: a length header with nothing after it, or a huge one, cannot
    hold the grader."""
    size, = struct.unpack("!i", _read_exactly(fd, 4, deadline))
    if size == -1:
        size, = struct.unpack("!Q", _read_exactly(fd, 8, deadline))
    if size < 0 or size > cap:
        raise ReplyTooLarge
    return _read_exactly(fd, size, deadline)
