"""The probes of a student's model (probes.py says what a probe is): its structure, its
eval-mode outputs with given weights, and a few training steps.
"""
from __future__ import annotations

import time

import torch
from torch import nn

from autograder.checks.common import attempt
from autograder.checks.determinism import deterministic, seeded
from autograder.checks.model_specs import build, build_on_meta, describe
from autograder.checks.reference_weights import drop_spares, materialize, share_frozen

FORWARD_TIMEOUT = 30.0  # seconds for one forward pass


def structure(model: nn.Module) -> dict:
    """What the checks compare without running the model: state_dict keys and shapes, the
    parameter count, and a few attributes used to name a mistake."""
    shapes = [(k, tuple(int(d) for d in v.shape)) for k, v in model.state_dict().items()]
    strides = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            strides[name] = tuple(int(s) for s in m.stride)
    return {
        "shapes": shapes,
        "num_params": int(sum(p.numel() for p in model.parameters())),
        "expansion": getattr(type(model), "expansion", None),
        # nn.Identity (no parameters) is an identity shortcut, not a projection
        "has_downsample": any(True for _ in getattr(model, "downsample", nn.Identity())
                              .parameters()) if isinstance(getattr(model, "downsample", None),
                                                           nn.Module) else False,
        "dropout": [(name, float(m.p)) for name, m in model.named_modules()
                    if isinstance(m, nn.Dropout)],
        "conv_strides": strides,
        # the submodules' own names: a part without parameters (a pool, a ReLU) is not in
        # the state_dict, but the contract names it all the same
        "children": [name for name, _ in model.named_children()],
        # eps and momentum change what BatchNorm computes (eval outputs, the running
        # statistics a training step leaves) without changing any shape
        "batchnorm": [(name, float(m.eps), None if m.momentum is None else float(m.momentum))
                      for name, m in model.named_modules()
                      if isinstance(m, nn.modules.batchnorm._BatchNorm)],
    }


def probe_structure(env, spec: dict) -> dict:
    return structure(build_on_meta(env, spec))


def probe_drop_spares(env) -> None:
    """Free the copies materialize keeps for the next model (reference_weights): the grader
    is about to build a reference model as big, and the two would add up."""
    drop_spares()


def load_shared(model: nn.Module, state: dict) -> None:
    """Load `state` strictly; a meta-built model takes the tensors themselves (no copy)."""
    on_meta = any(t.is_meta for t in model.state_dict().values())
    model.load_state_dict(state, strict=True, assign=on_meta)
    left = [n for n, t in list(model.named_parameters()) + list(model.named_buffers())
            if t.is_meta]
    if left:
        raise RuntimeError(f"tensors outside the state_dict: {left[:3]}")


def forward_all(model: nn.Module, inputs: list, what: str, trace: list | None,
                timeout: float) -> dict:
    """Eval-mode outputs for each input; with `trace`, the first output of each named
    submodule on the first input, and the order in which they ran."""
    model.eval()
    outputs, traced, order, handles = [], {}, [], []
    if trace:
        modules = dict(model.named_modules())

        def hook_for(name):
            def hook(module, args, output):
                if name not in traced and isinstance(output, torch.Tensor):
                    traced[name] = output.detach().clone()
                    order.append(name)
            return hook
        handles = [modules[n].register_forward_hook(hook_for(n)) for n in trace if n in modules]
    try:
        for i, x in enumerate(inputs):
            shown = "x".join(str(d) for d in x.shape)
            before = x.clone()
            with torch.no_grad():
                out = attempt(f"{what} on a {shown} input", lambda: model(x), timeout)
            for h in handles:
                h.remove()
            handles = []
            if not isinstance(out, torch.Tensor):
                raise AssertionError(f"{what} returned a {type(out).__name__}, not a tensor")
            unchanged = torch.equal(before, x)
            outputs.append(out.detach().clone())
            if not unchanged:
                raise AssertionError(f"{what} changed its input tensor in place (an in-place "
                                     "ReLU or += on the input): a layer must leave x as it is")
    finally:
        for h in handles:
            h.remove()
    return {"outputs": outputs, "trace": traced, "order": order}


def _fits(model: nn.Module, state: dict) -> bool:
    """Whether `state` has exactly `model`'s state_dict keys, each with its shape."""
    own = model.state_dict()
    return own.keys() == state.keys() and all(tuple(own[k].shape) == tuple(state[k].shape)
                                              for k in own)


def with_weights(env, spec: dict, state, or_own_init: bool = False) -> nn.Module:
    """The student's `spec` with `state` loaded (strict). `state` is a state_dict, or the
    path of one staged by the grader (memory-mapped, not copied). Built on the meta device
    where it can be (no initialisation of weights that are replaced anyway), else built
    normally, so that the error, if any, is the student's own. Where `state` does not load
    (a structure the structure check has already marked down), `or_own_init` keeps the
    model as the student's code initialised it instead of raising."""
    what = f"`{describe(spec)}`"
    if isinstance(state, str):
        state = torch.load(state, mmap=True, weights_only=True)
    state = materialize(state)
    dtype = next((t.dtype for t in state.values() if t.is_floating_point()), None)
    try:
        model = build_on_meta(env, spec)
        if dtype is not None:
            model = model.to(dtype)
        load_shared(model, state)
    except (AssertionError, RuntimeError) as err:
        if isinstance(err, AssertionError) and "not implemented" in str(err):
            raise
        model = build(env, spec)
        if or_own_init and not _fits(model, state):
            return model  # checked first: a failed load_state_dict may have copied some
        try:
            if dtype is not None:
                model = model.to(dtype)
            model.load_state_dict(state, strict=True)
        except Exception as load_err:  # noqa: BLE001
            raise AssertionError(f"the reference weights do not load into {what}: "
                                 f"{str(load_err).splitlines()[0]}") from None
    return model


def probe_forward(env, spec: dict, state: dict, inputs: list, trace: list | None = None,
                  timeout: float | None = None) -> dict:
    """Build the student's `spec` with `state` loaded (with_weights), run eval-mode
    forwards."""
    model = with_weights(env, spec, state)
    return forward_all(model, inputs, f"`{describe(spec)}`", trace, timeout or FORWARD_TIMEOUT)


def sgd_step(params: list, lr: float) -> None:
    """torch.optim.SGD(params, lr).step() (no momentum, no weight decay), computed as SGD
    computes it: its per-tensor loop on the CPU, its foreach kernel per device and dtype on
    CUDA. The same operations, so the same numbers, without the import of torch._dynamo that
    torch.optim's first use costs (over 1 s)."""
    with torch.no_grad():
        with_grad = [p for p in params if p.grad is not None]
        if with_grad and all(p.is_cuda for p in with_grad):
            groups: dict = {}
            for p in with_grad:
                groups.setdefault((p.device, p.dtype), []).append(p)
            for group in groups.values():
                torch._foreach_add_(group, [p.grad for p in group], alpha=-lr)
            return
        for p in with_grad:
            p.add_(p.grad, alpha=-lr)


def probe_train(env, spec: dict, images: torch.Tensor, labels: torch.Tensor, steps: int,
                lr: float, device: str, seed: int, frozen: list | None = None, state=None,
                timeout: float = 120.0) -> dict:
    """A few plain SGD steps of the student's model (train mode) on one batch: with its own
    initialisation, or with `state` loaded (with_weights) where that initialisation would
    cost more than the steps (its own still, where `state` does not fit the model).
    Parameters named in `frozen` get no update and no gradient, and share one buffer
    (share_frozen): the weights of VGG's first two classifier layers (103M and 17M), whose
    gradients alone would double the memory."""
    what = f"`{describe(spec)}`"
    if isinstance(state, str):
        state = torch.load(state, mmap=True, weights_only=True)
    if state is not None and frozen:
        state = share_frozen(state, frozen)
    with seeded(seed), deterministic():
        model = build(env, spec) if state is None else with_weights(env, spec, state, True)
        model = model.to(device).train()
        x, y = images.to(device), labels.to(device)
        for name, p in model.named_parameters():
            if name in (frozen or []):
                p.requires_grad_(False)
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise AssertionError(f"{what} has no trainable parameters")
        if any(not p.is_leaf for p in params):
            raise ValueError("can't optimize a non-leaf Tensor")  # torch.optim's refusal
        losses, finite = [], True

        def run():
            nonlocal finite
            for _ in range(steps):
                for p in params:  # zero_grad(set_to_none=True)
                    p.grad = None
                out = model(x)
                if not isinstance(out, torch.Tensor) or out.dim() != 2 \
                        or out.shape[0] != x.shape[0]:
                    raise AssertionError("the model must return a (N, num_classes) tensor")
                finite = finite and bool(torch.isfinite(out).all())
                loss = nn.functional.cross_entropy(out, y)
                loss.backward()
                sgd_step(params, lr)
                losses.append(float(loss.detach()))
        start = time.perf_counter()
        attempt(f"training {what}", run, timeout)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return {"losses": losses, "finite": finite, "seconds": seconds}
