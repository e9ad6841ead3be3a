"""What this machine gives the grader: the torch build, and the sandbox's layers, each one
really tried in a sandbox process (`cnnlab doctor`, `cnnlab grade --strict`).

A layer counts only when the sandbox applied it *and* it holds: the probe, run inside a
sandbox like a student's cell, reads the kernel's own account (`/proc/self/status`) and
tries what each layer must refuse.
"""
from __future__ import annotations

import os
import shutil

from autograder import lockdown

# Runs in the sandbox, after the lock-down, as a student's cell would.
PROBE = r'''
import os
def _probe(outside):
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    seen = {"seccomp_mode": status.get("Seccomp", "").strip(),
            "no_new_privs": status.get("NoNewPrivs", "").strip(),
            "uid": os.getuid()}
    try:
        open(outside).close()
        seen["outside_read"] = "allowed"
    except PermissionError:
        seen["outside_read"] = "EACCES"
    except OSError as err:
        seen["outside_read"] = type(err).__name__
    try:
        os.kill(os.getppid(), 0)
        seen["signal_grader"] = "allowed"
    except PermissionError:
        seen["signal_grader"] = "EPERM"
    except OSError as err:
        seen["signal_grader"] = type(err).__name__
    return seen
'''


def _held(layer: str, seen: dict) -> str | None:
    """Why an applied layer does not hold (None when it does)."""
    if layer == "seccomp" and seen.get("seccomp_mode") != "2":
        return f"Seccomp is {seen.get('seccomp_mode')!r}, not 2 (filter)"
    if layer == "landlock" and seen.get("outside_read") == "allowed":
        return "a private file could be read"
    if layer == "uid" and seen.get("uid") == 0:
        return "the sandbox still runs as root"
    return None


def sandbox_report() -> dict:
    """{"layers": [...], "missing": {layer: why}, "seen": what the probe saw, "expected":
    the layers this machine should give (uid only when running as root)}."""
    from autograder.sandbox import Sandbox, temp_folders

    tmp, work, _ = temp_folders(prefix="cnnlab-doctor-")
    secret = os.path.join(tmp, "private.txt")  # beside the sandbox's folder, not in it
    with open(secret, "w") as f:
        f.write("private")
    sandbox = Sandbox(work, [secret], private=[])
    try:
        sandbox.start()
        sandbox.exec_cell(PROBE, 30)
        from autograder.sandbox import RemoteEnv

        seen = dict(RemoteEnv(sandbox)["_probe"](secret))
        layers, missing = list(sandbox.layers), dict(sandbox.missing)
    finally:
        sandbox.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    for layer in list(layers):
        why = _held(layer, seen)
        if why:
            layers.remove(layer)
            missing[layer] = why
    return {"layers": layers, "missing": missing, "seen": seen,
            "expected": lockdown.expected_layers()}


def missing_layers(report: dict) -> dict[str, str]:
    return {k: v for k, v in report["missing"].items() if k in report["expected"]}
