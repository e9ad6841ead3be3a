"""What the checks work out without the student, kept on disk between runs: the examples
Hypothesis draws, the reference's structures and outputs. Each is computed once per
machine, not once per grading process (a fresh `cnnlab grade` of one cnn_architectures
notebook spent about 1.3 s of its 10 rebuilding the same reference structures and outputs).

A value is found under its kind and key in a folder named by a digest of everything that
could change it: the source of autograder/ and solutions/, and the versions of Python,
torch and Hypothesis. A new checkout, an edited check or another torch gets a folder of its
own, so a value read back is the one this code computes (a test checks this by computing
it again).

Only the sandbox engine's grader uses it (`active`), and only for a sandbox that had a
kernel layer (Landlock or its own uid) keeping student code out of the folder: code
running as the grader's user could otherwise plant values there for every later
submission. Values are read as JSON or with torch's weights-only unpickler (no code
runs), written atomically, and any unreadable, unwritable or damaged file is computed afresh.

CNNLAB_CACHE: `off` turns it off; a folder puts it there (default
$XDG_CACHE_HOME/cnnlab, else ~/.cache/cnnlab).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from pathlib import Path

from autograder.protocol import decode, encode

ROOT = Path(__file__).resolve().parent.parent.parent
_SOURCES = ("autograder", "solutions")
_active = 0
_digest: str | None = None


def folder() -> Path | None:
    """This code's folder of the cache, or None when CNNLAB_CACHE is off."""
    setting = os.environ.get("CNNLAB_CACHE", "")
    if setting.lower() in ("off", "0", "no", "false"):
        return None
    base = Path(setting) if setting else Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cnnlab"
    return base / code_digest()


def code_digest() -> str:
    global _digest
    if _digest is None:
        # Versions from the installed metadata, not from importing the two: a cnn_costs
        # grading (and its Otter kernel) needs neither torch (1 to 2 s) nor Hypothesis.
        from importlib.metadata import version

        h = hashlib.sha256()
        for part in (sys.version, version("torch"), version("hypothesis")):
            h.update(part.encode() + b"\0")
        for name in _SOURCES:
            for path in sorted((ROOT / name).rglob("*.py")):
                h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
        _digest = h.hexdigest()[:24]
    return _digest


@contextlib.contextmanager
def active(enabled: bool = True):
    """The cache is used inside this block (when `enabled`), and nowhere else."""
    global _active
    _active += bool(enabled)
    try:
        yield
    finally:
        _active -= bool(enabled)


def _path(kind: str, key: str) -> Path | None:
    if not _active:
        return None
    try:
        base = folder()
    except (OSError, RuntimeError):  # no home folder to be found, an unreadable source
        return None
    if base is None:
        return None
    return base / kind / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".bin")


MISSING = object()


def get(kind: str, key: str):
    """The value stored for (kind, key), or MISSING."""
    path = _path(kind, key)
    if path is None:
        return MISSING
    try:
        stored = decode(path.read_bytes())
    except Exception:  # noqa: BLE001 - missing, damaged or unreadable: computed again
        return MISSING
    if type(stored) is dict and stored.get("key") == key and "value" in stored:
        return stored["value"]
    return MISSING


def put(kind: str, key: str, value) -> None:
    """Keep `value` for (kind, key): plain data and tensors, in the encoding of the
    sandbox's replies (protocol.encode: JSON that keeps tuples, or torch.save where there
    are tensors, which only a weights-only torch.load reads back)."""
    path = _path(kind, key)
    if path is not None:
        store(path, {"key": key, "value": value})


def lookup(kind: str, key: str, compute):
    """The value of `compute()` for (kind, key): read back when stored, else computed and
    stored."""
    value = get(kind, key)
    if value is MISSING:
        value = compute()
        put(kind, key, value)
    return value


def store(path: Path, payload) -> None:
    """Written to a temporary file beside `path`, then renamed over it: a reader never sees
    half a file, and two graders writing the same value at once both succeed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(encode(payload))
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception:  # noqa: BLE001 - a full disk or read-only home: just not kept
        pass
