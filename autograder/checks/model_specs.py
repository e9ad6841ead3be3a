"""Models built from a *builder spec*, `{"builder": "vgg11", "args": [...], "kwargs": {...}}`,
out of a namespace (the student's env or the reference's names): on the CPU, or on the meta
device, which allocates nothing (a VGG's structure costs no 0.5 GB). Runs where the student's
code lives (probes.py): nothing here reads the reference.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from autograder.checks.common import StudentTimeout, attempt

ENV_REF = "env"  # {"env": "BasicBlock"} in a builder spec names an object of the namespace
BUILD_TIMEOUT = 30.0    # seconds for a student's constructor (a VGG allocates ~0.5 GB)


def describe(spec: dict) -> str:
    """`vgg11(num_classes=10, batch_norm=True)` for a builder spec."""
    def show(v):
        return v[ENV_REF] if isinstance(v, dict) and set(v) == {ENV_REF} else repr(v)
    parts = [show(a) for a in spec.get("args", [])]
    parts += [f"{k}={show(v)}" for k, v in spec.get("kwargs", {}).items()]
    return f"{spec['builder']}({', '.join(parts)})"


def _resolve(namespace, value):
    if isinstance(value, dict) and set(value) == {ENV_REF}:
        return _lookup(namespace, value[ENV_REF])
    if isinstance(value, list):
        return [_resolve(namespace, v) for v in value]
    return value


def _lookup(namespace, name: str):
    getter = namespace.get if hasattr(namespace, "get") else lambda n: getattr(namespace, n, None)
    obj = getter(name)
    if obj is None:
        raise AssertionError(f"`{name}` is not defined: run its cell first")
    return obj


def build(namespace, spec: dict, timeout: float | None = None) -> nn.Module:
    """Build `spec` from `namespace` (the student's env or the reference's names)."""
    builder = _lookup(namespace, spec["builder"])
    if not callable(builder):
        raise AssertionError(f"`{spec['builder']}` is not a function or class")
    args = _resolve(namespace, list(spec.get("args", [])))
    kwargs = {k: _resolve(namespace, v) for k, v in spec.get("kwargs", {}).items()}
    what = f"`{describe(spec)}`"
    model = attempt(what, lambda: builder(*args, **kwargs), timeout or BUILD_TIMEOUT)
    if model is None or model is Ellipsis:
        raise AssertionError(f"{what} returned {model!r}, not a model: not implemented yet?")
    if not isinstance(model, nn.Module):
        raise AssertionError(f"{what} returned a {type(model).__name__}, not a torch.nn.Module")
    return model


# In-place random fills whose meta kernels are Python reference implementations: the first
# call imports sympy and torch._dynamo (1-2 s), each later one costs far more than the C++
# kernels of the others (uniform_, fill_, zero_). nn.init.normal_ reaches a mode as itself.
_SLOW_META_FILLS = frozenset({
    torch.Tensor.normal_, torch.Tensor.log_normal_, torch.Tensor.cauchy_,
    torch.Tensor.exponential_, torch.Tensor.geometric_, torch.nn.init.normal_})


# The random fills of the common initialisations, as a mode sees them: nn.init's uniform_,
# normal_ and kaiming_uniform_ (nn.Linear's and nn.Conv2d's own) as themselves, the others
# (kaiming_normal_, xavier_*, trunc_normal_) through Tensor.normal_ and uniform_. On the CPU
# each costs its draws.
_RANDOM_FILLS = _SLOW_META_FILLS | {torch.Tensor.uniform_, torch.nn.init.uniform_,
                                    torch.nn.init.kaiming_uniform_}


class _SkipMetaFills(torch.overrides.TorchFunctionMode):
    """While a model is built on the meta device: the slow random fills of meta tensors,
    which have no values to fill, return at once. Each call is first made on a one-element
    CPU stand-in of the same dtype (the RNG states restored), so that arguments the fill
    would refuse (a negative std, an integer tensor) still raise; everything else, a fill
    of a tensor on another device included, runs as it would without the mode. With
    `zero_others`, a random fill of any other tensor is checked the same way and then
    zeroes it instead of drawing (see skip_random_init)."""

    def __init__(self, zero_others: bool = False):
        super().__init__()
        self.skipped = _RANDOM_FILLS if zero_others else _SLOW_META_FILLS
        self.zero_others = zero_others

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.skipped:
            in_kwargs = not args
            t = kwargs.get("tensor") if in_kwargs else args[0]
            if isinstance(t, torch.Tensor) and (t.is_meta or self.zero_others):
                # kaiming_uniform_ reads the fans off the shape: its stand-in has that
                # shape, on the meta device (whose uniform_ is C++ and draws nothing)
                stand_in = torch.empty(t.shape, dtype=t.dtype, device="meta") \
                    if func is torch.nn.init.kaiming_uniform_ else \
                    torch.empty(min(1, t.numel()), dtype=t.dtype, device="cpu")
                generator = kwargs.get("generator")
                state = generator.get_state() if isinstance(generator, torch.Generator) \
                    else None
                try:
                    with torch.random.fork_rng(devices=[]):
                        if in_kwargs:
                            func(**{**kwargs, "tensor": stand_in})
                        else:
                            func(stand_in, *args[1:], **kwargs)
                finally:
                    if state is not None:
                        generator.set_state(state)
                if not t.is_meta:
                    with torch.no_grad():
                        t.zero_()
                return t
        return func(*args, **kwargs)


@contextmanager
def skip_meta_init():
    """Weight initialisation of meta tensors skipped (see _SkipMetaFills): on the meta device
    it computes nothing, and torch's Python meta kernels make it the slowest part of a
    build. Values are never affected: meta tensors have none, and other tensors are
    filled as usual."""
    with _SkipMetaFills():
        yield


@contextmanager
def skip_random_init():
    """skip_meta_init, and every other tensor's random fill (Tensor.normal_ and uniform_,
    nn.init's normal_ and uniform_, so kaiming_ and xavier_ too) zeroes it instead: for code
    whose results do not depend on the weights' values (a public test's output shape, or
    which parameters get a gradient), where drawing them is most of a model's build."""
    with _SkipMetaFills(zero_others=True):
        yield


def build_on_meta(namespace, spec: dict, timeout: float | None = None) -> nn.Module:
    """Build on the meta device (no memory, no init cost); fall back to the CPU for code that
    cannot run there. A NotImplementedError is reported at once."""
    try:
        with torch.device("meta"), skip_meta_init():
            return build(namespace, spec, timeout)
    except StudentTimeout:
        raise
    except AssertionError as err:
        if "not implemented" in str(err) or "not defined" in str(err):
            raise
    with torch.device("cpu"):
        return build(namespace, spec, timeout)
