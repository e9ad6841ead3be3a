"""Handing freed heap memory back to the kernel: glibc keeps the pages of freed blocks
(tensors freed by one check, left in the heap where glibc's growing mmap threshold put
them), and the next check's peak comes on top of them. Used by the grader between checks
(runner.py) and by the sandbox after each long request (sandbox_child.py), which looks
the function up before its lock-down: the audit hook refuses dlopen later. Standard library
only."""
from __future__ import annotations

_trim = None
_looked_up = False


def look_up() -> None:
    """Find glibc's malloc_trim (once); nothing where the C library is not glibc."""
    global _trim, _looked_up
    if _looked_up:
        return
    _looked_up = True
    try:
        import ctypes

        trim = ctypes.CDLL(None).malloc_trim
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
        _trim = trim
    except (OSError, AttributeError):
        _trim = None


def give_back() -> None:
    """Return the heap's free pages to the kernel (malloc_trim(0)), where glibc can."""
    look_up()
    if _trim is not None:
        _trim(0)
