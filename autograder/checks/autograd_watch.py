"""Whether a student's code used autograd: every entry point into it noted while a body runs
(the softmax_backprop assignment asks for gradients by hand).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

_AUTOGRAD_ENTRY_POINTS = [
    (torch.Tensor, "backward"), (torch.Tensor, "requires_grad_"), (torch.Tensor, "retain_grad"),
    (torch.autograd, "backward"), (torch.autograd, "grad"),
    (torch.autograd, "_engine_run_backward"),
]


class _AutogradWatch(torch.overrides.TorchFunctionMode):
    """Notes every torch call that asks autograd for anything, and every tensor that comes
    out needing a gradient (requires_grad=True on a factory, `.requires_grad = True`)."""

    def __init__(self, used: list):
        super().__init__()
        self.used = used

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__qualname__", getattr(func, "__name__", str(func)))
        if name in ("Tensor.backward", "backward", "grad", "Tensor.requires_grad_",
                    "Tensor.retain_grad") or "requires_grad.__set__" in repr(func) \
                or kwargs.get("requires_grad"):
            self.used.append(name)
        out = func(*args, **kwargs)
        if isinstance(out, torch.Tensor) and out.requires_grad:
            self.used.append(f"a tensor with requires_grad (from {name})")
        return out


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

    def noting(owner, attr, original):
        def wrapper(*args, **kwargs):
            used.append(f"{getattr(owner, '__name__', owner)}.{attr}")
            return original(*args, **kwargs)
        return wrapper

    try:
        for owner, attr in _AUTOGRAD_ENTRY_POINTS:
            original = getattr(owner, attr, None)
            if original is not None:
                saved.append((owner, attr, original))
                setattr(owner, attr, noting(owner, attr, original))
        with _AutogradWatch(used):
            yield
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)
