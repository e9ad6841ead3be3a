"""probe_call: a student's function called where the student's code runs (probes.py), with
autograd watched, its tensor arguments compared with copies taken before the call (a change
in place is a mistake), and, on request, another student function spied on for the devices
of the tensors it is handed.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

from autograder.checks.autograd_watch import needs_grad, watch_autograd
from autograder.checks.common import attempt

def _argument_names(fn, args: list, kwargs: dict) -> list[tuple[str, object]]:
    """(name, value) of each argument of a call: the parameter's name where the signature
    tells it, else `argument 2` (or the keyword)."""
    import inspect
    try:
        signature = inspect.signature(fn)
        bound = signature.bind(*args, **kwargs)
        named = []
        for param, value in bound.arguments.items():
            kind = signature.parameters[param].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                named += [(f"{param}[{i}]", v) for i, v in enumerate(value)]
            elif kind is inspect.Parameter.VAR_KEYWORD:
                named += list(value.items())
            else:
                named.append((param, value))
        return named
    except Exception:  # noqa: BLE001 - an odd signature: fall back to positions
        return [(f"argument {i + 1}", v) for i, v in enumerate(args)] + list(kwargs.items())


def _same_tensor(before: torch.Tensor, now) -> bool:
    with torch._C.DisableTorchFunction():
        if not isinstance(now, torch.Tensor):
            return False
        now = torch.Tensor.detach(now)
        return (now.dtype == before.dtype and tuple(now.shape) == tuple(before.shape)
                and bool(torch.equal(torch.Tensor.to(now, device="cpu"), before)))


def snapshot_arguments(fn, args: list, kwargs: dict) -> list:
    """Copies of the call's tensors, and of the tensors in its dict arguments (params), to
    tell afterwards whether the student changed what the caller handed over. Taken where
    the student's code runs: in a sandbox the grader's own tensors are copies anyway."""
    saved = []
    with torch._C.DisableTorchFunction():
        for label, value in _argument_names(fn, args, kwargs):
            if isinstance(value, torch.Tensor):
                saved.append((label, value, None, torch.Tensor.to(
                    torch.Tensor.detach(value), device="cpu", copy=True)))
            elif type(value) is dict:
                entries = {k: torch.Tensor.to(torch.Tensor.detach(v), device="cpu", copy=True)
                           for k, v in value.items() if isinstance(v, torch.Tensor)}
                saved.append((label, value, dict(value), entries))
    return saved


def changed_arguments(saved: list) -> list[str]:
    """The arguments (`scores`, `params['W1']`) whose tensors differ from their snapshot, or
    whose dict got entries replaced, added or removed."""
    changed = []
    for label, value, entries_before, copy in saved:
        if entries_before is None:
            if not _same_tensor(copy, value):
                changed.append(label)
            continue
        for key in list(entries_before) + [k for k in value if k not in entries_before]:
            if key not in value or key not in entries_before or \
                    value[key] is not entries_before[key] or \
                    (key in copy and not _same_tensor(copy[key], value[key])):
                changed.append(f"{label}[{key!r}]")
    return changed


@contextmanager
def spying(env, name: str | None, devices: set):
    """For the body, the namespace's function `name` replaced by a wrapper that notes the
    devices of the tensors it is handed (in dicts too), so that a call of another student
    function that calls it by its global name shows where that work runs. Restored on exit;
    a name that is not a function there, or a namespace that cannot be written, is left."""
    original = env.get(name) if name and hasattr(env, "get") else None
    if not callable(original) or not hasattr(env, "__setitem__"):
        yield
        return

    def spy(*args, **kwargs):
        for value in list(args) + list(kwargs.values()):
            for t in (value.values() if type(value) is dict else (value,)):
                if isinstance(t, torch.Tensor):
                    devices.add(str(torch.Tensor.__getattribute__(t, "device")))
        return original(*args, **kwargs)
    env[name] = spy
    try:
        yield
    finally:
        env[name] = original


def probe_call(env, name: str, args: list, kwargs: dict | None = None,
               timeout: float = 10.0, spy: str | None = None) -> dict:
    """Call the student's `name` with autograd watched. Returns {"value": result} or
    {"error": feedback}, "autograd": what was used (None if nothing), "mutated": the
    arguments the call changed in place (`scores`, `params['W1']`) and, with `spy` (another
    function of the namespace), "devices": those of the tensors that function was handed."""
    fn = env.get(name) if hasattr(env, "get") else None
    if not callable(fn):
        raise AssertionError(f"`{name}` is not defined as a function: run its cell first")
    kwargs = kwargs or {}
    saved = snapshot_arguments(fn, args, kwargs)
    used: list = []
    devices: set = set()
    reply: dict = {}
    try:
        with watch_autograd(used), spying(env, spy, devices):
            reply["value"] = attempt(f"`{name}`", lambda: fn(*args, **kwargs), timeout)
    except AssertionError as err:
        reply["error"] = str(err)
    reply["devices"] = sorted(devices)
    if "value" in reply and needs_grad(reply["value"]):
        used.append("returned tensors that carry an autograd graph")
    reply["autograd"] = used[0] if used else None
    reply["mutated"] = changed_arguments(saved)
    return reply
