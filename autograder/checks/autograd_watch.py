"""Whether a student's code used autograd: every entry point into it noted while a body runs
(the softmax_backprop assignment asks for gradients by hand).

Two nets: the entry points that run a backward pass (patched for the body), and a
saved-tensors hook, which autograd calls whenever it records an operation for a backward
pass (on a tensor with requires_grad, however it got it). The hook costs nothing while no
graph is recorded; a torch function mode that saw every call cost the student's training
loop twice its own time (200 SGD steps on the digits: 0.045 s, 0.09 s watched).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

_AUTOGRAD_ENTRY_POINTS = [
    (torch.Tensor, "backward"), (torch.Tensor, "requires_grad_"), (torch.Tensor, "retain_grad"),
    (torch.autograd, "backward"), (torch.autograd, "grad"),
    (torch.autograd, "_engine_run_backward"),
    # torch.func's grad and vjp refuse to run beside a saved-tensors hook, and say so
    # through this function (called at each use, so patched here like the others).
    (torch.autograd.graph, "disable_saved_tensors_hooks", "torch.func.grad or torch.func.vjp"),
]


def needs_grad(value, depth: int = 0) -> bool:
    if depth > 5:
        return False
    if isinstance(value, torch.Tensor):
        return bool(value.requires_grad or value.grad_fn is not None)
    if isinstance(value, (list, tuple)):
        return any(needs_grad(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(needs_grad(v, depth + 1) for v in value.values())
    return False


@contextmanager
def watch_autograd(used: list):
    """Record in `used` any use of autograd in the body; every patch is undone on exit."""
    saved = []

    def noting(label, original):
        def wrapper(*args, **kwargs):
            used.append(label)
            return original(*args, **kwargs)
        return wrapper

    recording: list = []

    def recorded(tensor):  # autograd saves a tensor for a backward pass
        if not recording:
            recording.append(True)
            used.append("operations on tensors with requires_grad, recorded for a backward "
                        "pass")
        return tensor

    try:
        for owner, attr, *label in _AUTOGRAD_ENTRY_POINTS:
            original = getattr(owner, attr, None)
            if original is not None:
                saved.append((owner, attr, original))
                name = f"{getattr(owner, '__name__', owner).split('.')[-1]}.{attr}"
                setattr(owner, attr, noting(label[0] if label else name, original))
        with torch.autograd.graph.saved_tensors_hooks(recorded, lambda tensor: tensor):
            yield
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)
