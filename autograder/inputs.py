"""The check made on an input file before it is read (a notebook to grade, a gradebook, a
CSV or JSON file a command is given): a device such as /dev/zero, a folder or a huge file is
refused with a reason, before it can fill memory or block a read.

The grader calls it on every submission; the CLI on every input path it is given
(cnnlab/paths.py), for its one-line errors."""
from __future__ import annotations

import os
from pathlib import Path

# Inputs larger than this are refused before they are read (a notebook, a CSV, a key): the
# biggest real ones are a few MB; /dev/zero or a mistaken video file should not fill memory.
MAX_INPUT_BYTES = 200 * 1024 * 1024


def input_problem(path: str | os.PathLike) -> str | None:
    """Why `path` cannot be read as an input file, or None: missing, a folder, not a regular
    file (a device, a pipe), unreadable, or too large."""
    p = Path(path)
    if not p.exists():
        return "no such file"
    if p.is_dir():
        return "is a folder, not a file"
    if not p.is_file():
        return "not a regular file (a device or a pipe?)"
    if not os.access(p, os.R_OK):
        return "not readable (permission denied)"
    size = p.stat().st_size
    if size > MAX_INPUT_BYTES:
        return f"too large ({size / 2**20:,.0f} MiB; the limit is {MAX_INPUT_BYTES // 2**20} MiB)"
    return None
