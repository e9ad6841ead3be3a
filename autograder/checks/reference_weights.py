"""The reference's side of a model check: the reference model with seeded random weights
(BatchNorm's statistics included), its big weights drawn compactly, and the copy a probe
makes of a compact weight before a student's model sees it (materialize).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from autograder.checks.model_specs import build, skip_meta_init

# Weights of at least this many elements (the big Linear layers of AlexNet's and VGG's
# classifiers: 17M to 103M) are drawn compactly, see _compact_uniform.
COMPACT_MIN = 1 << 22


def _compact_step(columns: int) -> int:
    """About a 64th of a row, and sharing no factor with 2, 3, 5 or 7: no alignment with
    the 7x7 and 6x6 grids a classifier's input repeats."""
    step = max(1, columns // 64)
    while math.gcd(step, 210) != 1:
        step += 1
    return step


def _compact_uniform(shape, dtype, low: float, high: float, g: torch.Generator):
    """A (rows, columns) tensor whose row i is the window [i * step, i * step + columns) of
    one uniform random sequence: every row (every unit's weight vector) is as random as a
    fully drawn one, rows differ, and neither the matrix nor a square one's transpose
    repeats itself, yet it takes about 1/64 of the draws, the memory and the bytes to
    stage. It is a strided view of that sequence (torch.save keeps the sequence only);
    a probe copies it into an ordinary tensor (materialize) before a student's model sees
    it."""
    rows, columns = shape
    step = _compact_step(columns)
    base = torch.empty(step * (rows - 1) + columns, dtype=dtype)
    base.uniform_(low, high, generator=g)
    return base.as_strided((rows, columns), (step, 1))


def materialize(state):
    """`state` with every tensor that is not laid out as an ordinary contiguous tensor (a
    compact reference weight) replaced by a contiguous copy; the mapping itself (and its
    state_dict metadata) is copied, never changed."""
    import copy

    if not any(isinstance(t, torch.Tensor) and not t.is_contiguous() for t in state.values()):
        return state
    state = copy.copy(state)
    for k, t in state.items():
        if isinstance(t, torch.Tensor) and not t.is_contiguous():
            state[k] = t.contiguous()
    return state


def randomize_(model: nn.Module, seed: int,
               running_var: tuple[float, float] = (0.5, 1.5)) -> nn.Module:
    """Fill every parameter and buffer with seeded random values, BatchNorm's running
    statistics, scale and shift included, so that a mistake that changes no parameter (a
    misplaced ReLU, a missing add, a wrong pool) changes the outputs. Small `running_var`
    values make BatchNorm's eps matter (shallow networks only: each BatchNorm then scales
    its input up). A 2-D weight of COMPACT_MIN elements or more is replaced by a compact one
    (_compact_uniform) from the same distribution."""
    g = torch.Generator().manual_seed(seed)

    def uniform_(t, low, high):
        t.uniform_(low, high, generator=g)

    with torch.no_grad():
        for mod_name, module in model.named_modules():
            is_norm = isinstance(module, nn.modules.batchnorm._NormBase)
            for name, t in list(module.named_parameters(recurse=False)) + \
                    list(module.named_buffers(recurse=False)):
                if not t.is_floating_point():
                    t.zero_()
                elif name == "running_var":
                    uniform_(t, *running_var)
                elif is_norm and name == "weight":
                    uniform_(t, 0.5, 1.5)
                elif name == "running_mean" or (is_norm and name == "bias"):
                    uniform_(t, -0.3, 0.3)
                elif t.dim() >= 2:  # He-scaled: activations keep their size through depth
                    bound = math.sqrt(6.0 / t[0].numel())
                    if t.dim() == 2 and t.numel() >= COMPACT_MIN \
                            and module._parameters.get(name) is t:
                        module._parameters[name] = nn.Parameter(
                            _compact_uniform(t.shape, t.dtype, -bound, bound, g),
                            requires_grad=False)
                    else:
                        uniform_(t, -bound, bound)
                else:
                    uniform_(t, -0.1, 0.1)
    return model


def materialize_(model: nn.Module) -> nn.Module:
    """`model` with each parameter that is a compact view (_compact_uniform) replaced by an
    ordinary copy: a matmul copies such a weight into a contiguous one on every call."""
    for module in model.modules():
        for name, p in list(module._parameters.items()):
            if p is not None and not p.is_contiguous():
                module._parameters[name] = nn.Parameter(p.detach().contiguous(),
                                                        requires_grad=p.requires_grad)
    return model


def reference_model(namespace, spec: dict, seed: int, dtype=torch.float64,
                    running_var: tuple[float, float] = (0.5, 1.5)) -> nn.Module:
    """The reference's `spec`, materialised on the CPU with randomized weights (the
    reference's own initialisation, overwritten anyway, is skipped)."""
    with torch.device("meta"), skip_meta_init():
        model = build(namespace, spec)
    # Module.to(dtype).to_empty(device="cpu"), but with torch.empty: empty_like of a meta
    # tensor runs torch's Python reference, whose first call imports sympy (0.3 s).
    for module in model.modules():
        for table in (module._parameters, module._buffers):
            for name, t in table.items():
                if t is None:
                    continue
                new = torch.empty(t.shape, device="cpu",
                                  dtype=dtype if t.is_floating_point() else t.dtype)
                table[name] = nn.Parameter(new, t.requires_grad) if table is \
                    module._parameters else new
    return randomize_(model, seed, running_var).eval()


def traced_names(model: nn.Module) -> list[str]:
    """Submodules that own parameters: their outputs locate where two models diverge."""
    return [n for n, m in model.named_modules() if n and any(True for _ in m.parameters())]
