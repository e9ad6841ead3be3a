"""Where the checks run torch (a GPU when there is one), and torch made reproducible for a
body: its global RNGs seeded and restored, cuDNN's deterministic kernels.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

def pick_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@contextmanager
def seeded(seed: int):
    """torch's global RNGs seeded for the body, and restored afterwards."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextmanager
def deterministic():
    """cuDNN's deterministic kernels for the body (a no-op on the CPU)."""
    old = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = old
