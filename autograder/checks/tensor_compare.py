"""Tensors compared as the checks compare them: a student's tensor read as a plain float64
copy, the largest error relative to the expected tensor's scale, and shapes shown.
"""
from __future__ import annotations

import math

import torch

def plain_tensor(value, what: str) -> torch.Tensor:
    """A detached float64 CPU copy of a student's tensor, stripped of any subclass and its
    overrides; anything that is not a tensor is refused."""
    if not isinstance(value, torch.Tensor):
        raise AssertionError(f"{what} must be a torch.Tensor, not {type(value).__name__}")
    with torch._C.DisableTorchFunction():
        t = torch.Tensor.detach(value)
        if t.is_complex():
            raise AssertionError(f"{what} must be a real tensor")
        t = torch.Tensor.clone(torch.Tensor.to(t, device="cpu", dtype=torch.float64))
        return t.as_subclass(torch.Tensor)


def max_rel_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max |a - e| relative to the size of e's largest entry (inf if shapes differ)."""
    if actual.shape != expected.shape:
        return math.inf
    a, e = actual.double(), expected.double()
    if not torch.isfinite(a).all():
        return math.inf
    scale = float(e.abs().max()) if e.numel() else 1.0
    return float((a - e).abs().max()) / max(scale, 1e-12) if e.numel() else 0.0


def shape_str(shape) -> str:
    return str(tuple(int(d) for d in shape))
