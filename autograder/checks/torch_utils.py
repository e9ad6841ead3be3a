"""Torch helpers for the hidden checks: where student code runs, and how its results are
compared with the reference's.

Student objects are touched only by *probes*: module-level functions `probe_*(env, ...)`
that take the student's namespace and plain data (ints, strings, lists, dicts, tensors) and
return plain data. A check computes the reference's answer itself and compares it with what
the probe returned. In Otter's kernel the probe runs in-process; an env that runs the student
in another process (a sandbox) provides `env.run_probe(name, *args)`, which runs
`autograder.checks.torch_utils.<name>(student_env, *args)` there and returns its plain
result, re-raising an AssertionError with the same message. `run_probe` below dispatches.

Nothing here imports `solutions`, and without `autograder.checks.common` the module still
works (its source can be exec'd in a sandbox that may not import the autograder): probes may
run where the reference must not be readable.
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager

import torch
from torch import nn

try:
    from autograder.checks.common import StudentTimeout, time_limit
except ImportError:  # exec'd as source inside a sandbox that may not import the autograder
    import signal
    import threading

    class StudentTimeout(AssertionError):
        pass

    @contextmanager
    def time_limit(seconds, what):
        if threading.current_thread() is not threading.main_thread() or seconds is None:
            yield
            return

        def on_alarm(signum, frame):
            raise StudentTimeout(f"{what} did not return within {seconds:g} s")
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

ENV_REF = "env"  # {"env": "BasicBlock"} in a builder spec names an object of the namespace
BUILD_TIMEOUT = 30.0    # seconds for a student's constructor (a VGG allocates ~0.5 GB)
FORWARD_TIMEOUT = 30.0  # seconds for one forward pass


def run_probe(env, name: str, *args):
    """Run the probe `name` where the student's code lives; see the module docstring."""
    if hasattr(env, "run_probe"):
        return env.run_probe(name, *args)
    if hasattr(env, "run_in_sandbox"):
        # autograder.sandbox.RemoteEnv: install the probe in the student's process (afresh
        # each time, so a student's own `__cnnlab_probe__` is overwritten) and call there.
        env.run_in_sandbox(_installer_source(name), timeout=60)
        return env.get("__cnnlab_probe__")(name, *args)
    return globals()[name](env, *args)


_INSTALLERS: dict = {}


def _installer_source(name: str | None = None) -> str:
    """The source that installs the probe `name` (all probes: None) in a namespace: this
    module's statements other than definitions, and the definitions the probe reaches.
    Compiling the whole module there for every call cost 7 ms, 0.5 s a submission."""
    if name not in _INSTALLERS:
        source = _probe_source(name)
        _INSTALLERS[name] = (
            "__cnnlab_probes__ = {'__name__': 'cnnlab_probes'}\n"
            f"exec(compile({source!r}, '<cnnlab probes>', 'exec'), __cnnlab_probes__)\n"
            "def __cnnlab_probe__(name, *args, _probes=__cnnlab_probes__, _env=globals()):\n"
            "    return _probes[name](_env, *args)\n")
    return _INSTALLERS[name]


def _probe_source(name: str | None) -> str:
    import ast
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    lines = source.splitlines()
    tree = ast.parse(source)
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    defs = {node.name: node for node in tree.body if isinstance(node, kinds)}

    def names(node) -> set:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}

    todo = [n for n in defs if n.startswith("probe_")] if name is None else [name]
    for node in tree.body:
        if not isinstance(node, kinds):
            todo += names(node)
    needed: set = set()
    while todo:
        n = todo.pop()
        if n in defs and n not in needed:
            needed.add(n)
            todo += names(defs[n])
    parts = []
    for node in tree.body:
        if isinstance(node, kinds) and node.name not in needed:
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        parts.append("\n".join(lines[start - 1:node.end_lineno]))
    return "\n\n\n".join(parts) + "\n"


# --- calling student code -------------------------------------------------------------------

def attempt(what: str, thunk, timeout: float = 20.0):
    """`thunk()` under a time limit; its exceptions become feedback that names `what`."""
    with time_limit(timeout, what):
        try:
            return thunk()
        except StudentTimeout:
            raise
        except NotImplementedError:
            raise AssertionError(f"{what}: not implemented yet") from None
        except AssertionError as err:
            raise AssertionError(f"{what} failed an assertion: {err}") from None
        except Exception as err:  # noqa: BLE001 - any student exception is feedback
            hint = ""
            if "Double" in str(err) or "dtype" in str(err):
                hint = (" (the grader runs your model in float64: create any new tensor with "
                        "the input's dtype and device, e.g. torch.zeros_like(x))")
            raise AssertionError(f"{what} raised {type(err).__name__}: {err}{hint}") from None


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


class _SkipMetaFills(torch.overrides.TorchFunctionMode):
    """While a model is built on the meta device: the slow random fills of meta tensors,
    which have no values to fill, return at once. Each call is first made on a one-element
    CPU stand-in of the same dtype (the RNG states restored), so that arguments the fill
    would refuse (a negative std, an integer tensor) still raise; everything else, a fill
    of a tensor on another device included, runs as it would without the mode."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _SLOW_META_FILLS:
            in_kwargs = not args
            t = kwargs.get("tensor") if in_kwargs else args[0]
            if isinstance(t, torch.Tensor) and t.is_meta:
                stand_in = torch.empty(min(1, t.numel()), dtype=t.dtype, device="cpu")
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


# --- probes: plain data in, plain data out ----------------------------------------------------

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


def probe_forward(env, spec: dict, state: dict, inputs: list, trace: list | None = None,
                  timeout: float | None = None) -> dict:
    """Build the student's `spec`, load `state` (strict), run eval-mode forwards. `state` is
    a state_dict, or the path of one staged by the grader (memory-mapped, not copied)."""
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
        model = build(env, spec)  # built normally: the error, if any, is the student's own
        try:
            if dtype is not None:
                model = model.to(dtype)
            model.load_state_dict(state, strict=True)
        except Exception as load_err:  # noqa: BLE001
            raise AssertionError(f"the reference weights do not load into {what}: "
                                 f"{str(load_err).splitlines()[0]}") from None
    return forward_all(model, inputs, what, trace, timeout or FORWARD_TIMEOUT)


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
                lr: float, device: str, seed: int, frozen: list | None = None,
                timeout: float = 120.0) -> dict:
    """A few plain SGD steps of the student's model (train mode, its own init) on one
    batch. Parameters named in `frozen` get no update and no gradient: VGG's 103M-weight
    first classifier layer, whose gradient alone would double the memory."""
    what = f"`{describe(spec)}`"
    with seeded(seed), deterministic():
        model = build(env, spec)
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


# --- the reference side ----------------------------------------------------------------------

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


# --- comparisons -----------------------------------------------------------------------------

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


# --- determinism ------------------------------------------------------------------------------

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


# --- no autograd in student code --------------------------------------------------------------

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


def _needs_grad(value, depth: int = 0) -> bool:
    if depth > 5:
        return False
    if isinstance(value, torch.Tensor):
        return bool(value.requires_grad or value.grad_fn is not None)
    if isinstance(value, (list, tuple)):
        return any(_needs_grad(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_needs_grad(v, depth + 1) for v in value.values())
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
    if "value" in reply and _needs_grad(reply["value"]):
        used.append("returned tensors that carry an autograd graph")
    reply["autograd"] = used[0] if used else None
    reply["mutated"] = changed_arguments(saved)
    return reply
