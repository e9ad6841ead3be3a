"""The reference's side of a model check: the reference model with seeded random weights
(BatchNorm's statistics included), its big weights drawn compactly, and the copy a probe
makes of a compact weight before a student's model sees it (materialize).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from autograder.checks.model_specs import build, skip_meta_init

# Weights of at least this many elements are drawn compactly, see _compact_uniform: the big
# Linear layers of AlexNet's and VGG's classifiers (17M to 103M), and the convs of the
# deeper stages (ResNet-50's 512x512x3x3 and 2048x512 among them: drawing and writing its
# 25M float64 weights in full was 1 s of the grader's time for one submission).
COMPACT_MIN = 1 << 18


def _compact_step(columns: int) -> int:
    """About a 64th of a row, and sharing no factor with 2, 3, 5 or 7: no alignment with
    the 7x7 and 6x6 grids a classifier's input repeats."""
    step = max(1, columns // 64)
    while math.gcd(step, 210) != 1:
        step += 1
    return step


def _compact_uniform(shape, dtype, low: float, high: float, g: torch.Generator):
    """A tensor of `shape` (rows, ...) whose row i, flattened, is the window
    [i * step, i * step + columns) of one uniform random sequence: every row (every unit's
    or output channel's weights) is as random as a fully drawn one, rows differ, and
    neither the matrix nor a square one's transpose repeats itself, yet it takes about 1/64
    of the draws, the memory and the bytes to stage. (A conv's rows are shifted by a step
    that is no multiple of 3 or 7: no filter is another's filter moved by whole kernel
    rows.) It is a strided view of that sequence (torch.save keeps the sequence only); a
    probe copies it into an ordinary tensor (materialize) before a student's model sees
    it."""
    rows, inner = shape[0], tuple(shape[1:])
    columns = math.prod(inner)
    step = _compact_step(columns)
    base = torch.empty(step * (rows - 1) + columns, dtype=dtype)
    base.uniform_(low, high, generator=g)
    strides = [1]
    for size in reversed(inner[1:]):
        strides.insert(0, strides[0] * size)
    return base.as_strided(tuple(shape), (step, *strides))


# The copies materialize made last, by shape, dtype and device, reused by the next
# materialize where nothing else holds them any more: VGG's 400 MB classifier weight is
# materialized three times in one grading, and filling fresh memory costs its page faults
# (0.17 s for that weight, 6x the copy into a reused one). In a sandbox the probes are
# installed afresh for each call, and the installer hands each installation the same dict
# (SPARE_COPIES, from the sandbox's namespace): a student's code that changes it changes only
# the weights of its own models.
_SPARE: dict = globals().get("SPARE_COPIES", {})
if type(_SPARE) is not dict:  # the sandbox's name, which a student's code could rebind
    _SPARE = {}


def _unused(t: torch.Tensor) -> bool:
    """Whether the storage of `t` is held by `t` alone (no model, view or other tensor)."""
    use_count = getattr(torch._C, "_storage_Use_Count", None)
    if use_count is None:
        return False
    storage = t.untyped_storage()
    return use_count(storage._cdata) <= 2  # the spare alias `t` and `storage` here


def _spare_key(t: torch.Tensor) -> tuple:
    return tuple(t.shape), t.dtype, t.device


def _contiguous_copies(tensors: dict) -> dict:
    """A contiguous copy of each tensor of `tensors`, into a spare of its shape where one is
    unused; the spares are these copies afterwards (one set: no memory held for shapes
    the last model did not have)."""
    # The spares this model has no use for go first: kept until after its copies, AlexNet's
    # float64 classifier (440 MB) was still held while VGG's (480 MB) was made.
    wanted = {_spare_key(t) for t in tensors.values()}
    reusable = {key: spare for key, spare in _SPARE.items() if key in wanted}
    drop_spares()
    copies = {}
    for k, t in tensors.items():
        spare = reusable.pop(_spare_key(t), None)
        # (checked again: in a sandbox the student's code can reach the dict)
        if type(spare) is torch.Tensor and _spare_key(spare) == _spare_key(t) \
                and spare.is_contiguous() and _unused(spare):
            copies[k] = spare.copy_(t)
        else:
            copies[k] = t.contiguous()
    reusable.clear()
    for t in copies.values():
        # kept as an alias of its own: whoever holds the copy handed out (the tensor itself
        # or a Parameter made of it) then counts as a second holder of the storage
        _SPARE[_spare_key(t)] = t.detach()
    return copies


def drop_spares() -> None:
    """Let go of the copies kept for reuse (before this process needs the memory)."""
    _SPARE.clear()


def materialize(state, reuse: bool = True):
    """`state` with every tensor that is not laid out as an ordinary contiguous tensor (a
    compact reference weight) replaced by a contiguous copy (with `reuse`, into the spares
    of the last call, which then holds these copies); the mapping itself (and its
    state_dict metadata) is copied, never changed."""
    import copy

    compact = {k: t for k, t in state.items()
               if isinstance(t, torch.Tensor) and not t.is_contiguous()}
    if not compact:
        if reuse:
            drop_spares()  # a model without big weights: the spares wait for none
        return state
    state = copy.copy(state)
    state.update(_contiguous_copies(compact) if reuse else
                 {k: t.contiguous() for k, t in compact.items()})
    return state


def share_frozen(state, names) -> dict:
    """`state` with the weights named in `names` in one buffer: the largest copied out as
    materialize copies it, each other one (of its dtype and no larger) a view of that copy's
    first elements instead of a copy of its own. Only for weights a probe freezes (no
    gradient, no update) and no check compares: their values are then the largest's draws,
    at its scale. VGG's classifier weights: the 4096x4096 one's own copy was 64 MB of a
    cnn_architectures grading's peak."""
    import copy

    names = [n for n in names if isinstance(state.get(n), torch.Tensor)
             and state[n].is_floating_point()]
    if len(names) < 2:
        return state
    largest = max(names, key=lambda n: state[n].numel())
    big = state[largest]
    views = {n: state[n] for n in names if n != largest and state[n].dtype == big.dtype
             and state[n].device == big.device and state[n].numel() <= big.numel()}
    state = copy.copy(state)
    for n in views:
        del state[n]
    state = materialize(state)
    flat = state[largest].view(-1)
    state.update({n: flat[:t.numel()].view(t.shape) for n, t in views.items()})
    return state


def randomize_(model: nn.Module, seed: int,
               running_var: tuple[float, float] = (0.5, 1.5)) -> nn.Module:
    """Fill every parameter and buffer with seeded random values, BatchNorm's running
    statistics, scale and shift included, so that a mistake that changes no parameter (a
    misplaced ReLU, a missing add, a wrong pool) changes the outputs. Small `running_var`
    values make BatchNorm's eps matter (shallow networks only: each BatchNorm then scales
    its input up). A weight of COMPACT_MIN elements or more is replaced by a compact one
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
                    if t.numel() >= COMPACT_MIN \
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
