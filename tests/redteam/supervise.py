"""Run one command for the red-team harness and report what it left running.

    python supervise.py CONFIG.json

CONFIG names the command, its cwd, env, stdout/stderr files, a timeout and a grace period.
This process makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so a process the
command starts that detaches (setsid, a double fork) is re-parented here instead of to init:
after the command ends, every live descendant of this process is one the run left behind.
Those are listed, given `grace` seconds to end by themselves (a late write lands in the
output files meanwhile), then killed by pid and reaped. On timeout the command's session and
every descendant are killed. The report (JSON) goes to CONFIG["report"].

Standard library only: it runs before and apart from the project's code.
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36
SETTLE_S = 2.0


def _copy(pipe, file) -> None:
    while True:
        chunk = pipe.read1(1 << 16)
        if not chunk:
            return
        file.write(chunk)
        file.flush()


def _processes() -> dict[int, tuple[int, str]]:
    """{pid: (ppid, state)} of every process."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[int(name)] = (int(rest[1]), rest[0])
    return found


def descendants(root: int, live_only: bool = True) -> list[int]:
    procs = _processes()
    children: dict[int, list[int]] = {}
    for pid, (ppid, state) in procs.items():
        if live_only and state in ("Z", "X"):
            continue
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def describe(pid: int) -> dict:
    info = {"pid": pid}
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            info["cmdline"] = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        info["cmdline"] = "?"
    try:
        info["cwd"] = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        info["cwd"] = "?"
    return info


def _reap_orphans(keep: int) -> None:
    """Reap exited processes re-parented here (not `keep`, which Popen waits for)."""
    me = os.getpid()
    for pid, (ppid, state) in _processes().items():
        if ppid == me and pid != keep and state in ("Z", "X"):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _kill(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def main(config_path: str) -> int:
    with open(config_path) as f:
        config = json.load(f)
    libc = ctypes.CDLL(None, use_errno=True)
    subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    me = os.getpid()
    escaped: dict[int, dict] = {}  # processes re-parented here while the run went on
    with open(config["stdout"], "wb") as out, open(config["stderr"], "wb") as err:
        start = time.monotonic()
        # Pipes, as when a script reads the CLI: every write by anyone lands, in order (a
        # file would let the CLI's own later writes overwrite a forged line).
        proc = subprocess.Popen(config["command"], cwd=config["cwd"], env=config["env"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        copiers = [threading.Thread(target=_copy, args=(pipe, file), daemon=True)
                   for pipe, file in ((proc.stdout, out), (proc.stderr, err))]
        for copier in copiers:
            copier.start()
        timed_out = False
        while True:
            try:
                returncode = proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                pass
            for pid, (ppid, state) in _processes().items():
                if ppid == me and pid != proc.pid and state not in ("Z", "X") \
                        and pid not in escaped and len(escaped) < 200:
                    escaped[pid] = describe(pid)
            _reap_orphans(proc.pid)
            if time.monotonic() - start > config["timeout"]:
                timed_out = True
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                _kill(descendants(me))
                returncode = proc.wait()
                break
        wall = time.monotonic() - start
        # The grader's own helpers (multiprocessing's resource tracker) end just after it.
        settle = time.monotonic() + SETTLE_S
        while time.monotonic() < settle and descendants(me):
            _reap_orphans(-1)
            time.sleep(0.1)
        left = [describe(pid) for pid in descendants(me)]
        deadline = time.monotonic() + (config["grace"] if left else 0)
        while time.monotonic() < deadline and descendants(me):
            _reap_orphans(-1)
            time.sleep(0.2)
        still = [describe(pid) for pid in descendants(me)]
        _kill(p["pid"] for p in still)
        time.sleep(0.2)
        _reap_orphans(-1)
        # The pipes end when the last process holding them is gone.
        for copier in copiers:
            copier.join(10)
        unfinished = [c for c in copiers if c.is_alive()]
    report = {"returncode": returncode, "timed_out": timed_out, "wall_s": round(wall, 2),
              "subreaper": subreaper, "left_running": left, "killed_after_grace": still,
              "escaped_during_run": list(escaped.values()),
              "output_still_open": bool(unfinished)}
    with open(config["report"], "w") as f:
        json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
