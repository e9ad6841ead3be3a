"""The module-to-rows cost table: lecture-style cost rows read off a real nn.Module.

`cost_rows(model, input_shape)` builds the reference module with its weight initialisation
skipped, runs one forward pass with forward hooks on the layers the lecture counts, and turns
each hook call into a row. The forward runs on an empty batch, a (0, C, H, W) CPU tensor:
torch's C++ kernels check and infer every shape and do no arithmetic. (device="meta", a
(1, C, H, W) meta tensor, gives the same rows, but torch's Python meta kernels import sympy
and torch._dynamo on first use, about 1 s; see docs/bench/costs.md.) Shapes come from torch;
params and FLOPs come from the lecture's formulas in `solutions.cnn_costs` (written once):
each conv, pool and fc module is read as the lecture's layer (kernel, stride, padding, out
channels or features) and costed by `cnn_costs.layer_costs`, the rule the lecture's layer
lists are costed by. Two cross-checks run on every table: each formula's output shape must
equal torch's, and the rows' params must add up to `sum(p.numel())` of the module. The rows
come in the order torch runs the layers (the hooks fire as it does), so they follow whatever
the module's forward does, residual shortcuts included; tests/test_costs_cli.py checks this
against forward pre-hooks.

Counting choices the lecture does not make (`cnnlab costs` prints them under the table):
- Batch norm: params 2C (gamma and beta; running statistics are buffers, not params);
  FLOPs C*H*W, one multiply-add per element (in eval mode BN is y = a*x + b).
- AdaptiveAvgPool2d: when the input size is a multiple of the output size, torch's windows
  are those of an ordinary pool with stride = kernel = in // out, and pool_flops is used with
  that kernel. Otherwise the windows vary in size (and may overlap); FLOPs are then the
  exact sum of the window sizes times C, which is what pool_flops would give if it could
  describe them.
- torch.flatten called inside forward (AlexNet, VGG, ResNet) has no module to hook: a row
  named "flatten" is inserted where a Linear receives a 2-D input after a 4-D output.
- ReLU, dropout and the residual additions get no rows, so the memory total is the sum of
  the recorded layers' outputs, as in the lecture's tables.

Pure: no files are read or written. torch and the reference architectures are imported on
first use, so importing this module (and building the CLI's parser from MODELS) stays cheap.
`cnnlab costs` prints these rows (cnnlab/commands/costs.py) and draws them (cnnlab/plots.py).
"""
from __future__ import annotations

import difflib
import re

from solutions import cnn_costs, networks
from solutions.cnn_costs import _numel

# name -> (builder in solutions.cnn_architectures, its keyword arguments, default input).
# The VGG and ResNet rows are derived from the networks' tables (solutions/networks.py), so
# a new depth there is a model here with no second edit: each row of VGG_CONFIGS gives
# "<depth>" and "<depth>_bn", each row of RESNET_DEPTHS "<depth>", in the tables' order.
# Any other model is one row written here.
_IMAGENET_INPUT = (3, 224, 224)
MODELS: dict[str, tuple[str, dict, tuple[int, int, int]]] = {
    "lenet5": ("lenet5", {}, networks.LENET5_INPUT),
    "alexnet": ("AlexNet", {}, networks.ALEXNET_INPUT),  # 227, as in the lecture's table
    **{depth: ("vgg", {"depth": depth}, _IMAGENET_INPUT) for depth in networks.VGG_CONFIGS},
    **{f"{depth}_bn": ("vgg", {"depth": depth, "batch_norm": True}, _IMAGENET_INPUT)
       for depth in networks.VGG_CONFIGS},
    "googlenet_stem": ("googlenet_stem", {}, _IMAGENET_INPUT),
    **{depth: ("resnet", {"depth": depth}, _IMAGENET_INPUT) for depth in networks.RESNET_DEPTHS},
}

ROW_TYPES = ("conv", "batchnorm", "pool", "flatten", "fc")


class CostError(ValueError):
    """A model name or input shape that `cost_rows` cannot use; the message is one line."""


def accepted_models() -> str:
    return ", ".join(MODELS)


def _name_key(name: str) -> str:
    # "VGG-16", "vgg_16", "ResNet50" and "resnet 50" all mean the registered "vgg16"/"resnet50".
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_KEY = {_name_key(name): name for name in MODELS}
assert len(_BY_KEY) == len(MODELS), "two MODELS names differ only in case or '-'/'_'"


def resolve_model(name: str) -> str:
    """The registered name for `name`, in any case and with or without '-', '_' or spaces
    ('VGG-16' -> 'vgg16', 'vgg16-bn' -> 'vgg16_bn'); an unknown name is a one-line CostError
    that suggests the nearest registered ones."""
    if name in MODELS:
        return name
    key = _name_key(name)
    if key in _BY_KEY:
        return _BY_KEY[key]
    # difflib's ratio; the names as good as the best one (resnet9: resnet18, 34 and 50 alike).
    score = {k: difflib.SequenceMatcher(None, key, k).ratio() for k in _BY_KEY}
    best = max(score.values())
    near = sorted((_BY_KEY[k] for k in _BY_KEY if score[k] >= max(0.6, best - 0.05)),
                  key=lambda m: -score[_name_key(m)])[:3]
    hint = (f"did you mean {', '.join(near[:-1]) + ' or ' if len(near) > 1 else ''}"
            f"{near[-1]}? " if near else "")
    raise CostError(f"unknown model {name!r}; {hint}accepted (any case, '-' or '_' "
                    f"optional): {accepted_models()}")


def build_model(model: str):
    """The reference nn.Module for a registered name (any case, see resolve_model), built on
    whatever device is current."""
    model = resolve_model(model)
    from solutions import cnn_architectures
    builder, kwargs, _ = MODELS[model]
    return getattr(cnn_architectures, builder)(**kwargs)


def _square(value, what: str, module_name: str) -> int:
    # The lecture's formulas take one K, S, P for both spatial dimensions.
    if isinstance(value, int):
        return value
    if len(set(value)) != 1:
        raise NotImplementedError(f"{module_name}: non-square {what} {value}")
    return int(value[0])


def _adaptive_pool_flops(channels: int, size_in: tuple, size_out: tuple) -> int:
    if all(i % o == 0 for i, o in zip(size_in, size_out)):
        k = [i // o for i, o in zip(size_in, size_out)]
        if k[0] == k[1]:
            return cnn_costs.pool_flops(channels, size_in[0], size_in[1], k[0])
    # torch's adaptive windows: [floor(j*in/out), ceil((j+1)*in/out)) along each dimension.
    reads = 1
    for i, o in zip(size_in, size_out):
        reads *= sum(-(-(j + 1) * i // o) - (j * i // o) for j in range(o))
    return channels * reads


class _RowRecorder:
    """Forward-hook target: appends one row per counted layer, in forward order."""

    def __init__(self):
        self.rows: list[dict] = []
        self.last_ndim = 0

    def row(self, name: str, kind: str, label: str, shape: tuple, params: int, flops: int):
        self.rows.append({"name": name, "type": kind, "label": label,
                          "output_shape": tuple(shape),
                          "memory_kb": cnn_costs.memory_kb(_numel(shape)),
                          "params": params, "flops": flops})

    def lecture_layer(self, name: str, layer: dict, in_shape: tuple, out_shape: tuple):
        """(params, flops) of `layer` (the lecture's layer format) by the lecture's rule,
        after checking that its formula's output shape is torch's."""
        formula_shape, params, flops = cnn_costs.layer_costs(in_shape, layer)
        _require_torch_shape(name, formula_shape, out_shape)
        return params, flops

    def hook(self, name: str, module, inputs, output) -> None:
        from torch import nn

        x = inputs[0]
        in_shape = tuple(x.shape[1:])
        out_shape = tuple(output.shape[1:])
        if isinstance(module, nn.Linear):
            if x.dim() == 2 and self.last_ndim == 4:
                # torch.flatten in forward: no module, so no hook; the lecture has a row.
                self.row("flatten", "flatten", "flatten", in_shape, 0, 0)
            layer = {"type": "fc", "out_features": module.out_features,
                     "bias": module.bias is not None}
            self.row(name, "fc", "fc", out_shape,
                     *self.lecture_layer(name, layer, (module.in_features,), out_shape))
        elif isinstance(module, nn.Conv2d):
            if module.groups != 1 or _square(module.dilation, "dilation", name) != 1:
                raise NotImplementedError(f"{name}: grouped or dilated conv")
            k = _square(module.kernel_size, "kernel", name)
            s = _square(module.stride, "stride", name)
            p = _square(module.padding, "padding", name)
            layer = {"type": "conv", "out_channels": module.out_channels, "kernel": k,
                     "stride": s, "padding": p, "bias": module.bias is not None}
            self.row(name, "conv", f"conv {k}x{k}" + (f" s{s}" if s != 1 else "")
                     + (f" p{p}" if p else ""), out_shape,
                     *self.lecture_layer(name, layer, in_shape, out_shape))
        elif isinstance(module, nn.BatchNorm2d):
            params = sum(t.numel() for t in module.parameters(recurse=False))
            assert params == 2 * module.num_features, f"{name}: BN params {params}"
            self.row(name, "batchnorm", "batchnorm", out_shape, params, _numel(out_shape))
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            dilation = getattr(module, "dilation", 1)  # AvgPool2d has none
            if module.ceil_mode or _square(dilation, "dilation", name) != 1:
                raise NotImplementedError(f"{name}: ceil_mode or dilated pooling")
            k = _square(module.kernel_size, "kernel", name)
            s = _square(module.stride if module.stride is not None else k, "stride", name)
            p = _square(module.padding, "padding", name)
            layer = {"type": "pool", "kernel": k, "stride": s, "padding": p}
            kind = "maxpool" if isinstance(module, nn.MaxPool2d) else "avgpool"
            self.row(name, "pool", f"{kind} {k}x{k}" + (f" s{s}" if s != k else "")
                     + (f" p{p}" if p else ""), out_shape,
                     *self.lecture_layer(name, layer, in_shape, out_shape))
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            c = in_shape[0]
            self.row(name, "pool", f"avgpool adaptive {out_shape[1]}x{out_shape[2]}",
                     out_shape, 0, _adaptive_pool_flops(c, in_shape[1:], out_shape[1:]))
        elif isinstance(module, nn.Flatten):
            self.row(name, "flatten", "flatten", out_shape, 0, 0)
        self.last_ndim = output.dim()


def _require_torch_shape(name: str, formula: tuple, torch_shape: tuple) -> None:
    if tuple(formula) != tuple(torch_shape):
        raise AssertionError(f"{name}: the lecture's formula gives {formula}, "
                             f"torch gives {torch_shape}")


def _counted_types():
    from torch import nn
    return (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
            nn.Flatten, nn.Linear)


def build_without_init(model: str, device: str):
    """The module with uninitialised weights: its shapes are all a cost table needs.

    Weight initialisation is skipped by a TorchFunctionMode that turns nn.init's functions
    and the in-place fills modules call directly into no-ops. On the meta device those fills
    run torch's Python reference implementations, whose first call imports sympy and
    torch._dynamo (about 1 s); on the CPU they would draw 60M random numbers for resnet152.
    Either way they are wasted work: a cost table needs shapes only.
    """
    import torch
    from torch.overrides import TorchFunctionMode

    fills = {torch.Tensor.normal_, torch.Tensor.uniform_, torch.Tensor.fill_,
             torch.Tensor.zero_}

    class SkipInit(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            # nn.init's functions reach a mode as themselves (and the mode is off while it
            # handles one, so their inner fills would not reach it): skip them whole.
            if func in fills or getattr(func, "__module__", None) == "torch.nn.init":
                return args[0] if args else kwargs["tensor"]
            return func(*args, **(kwargs or {}))

    with torch.device(device), SkipInit():
        return build_model(model)


def cost_rows(model: str, input_shape: tuple[int, int, int] | None = None,
              device: str = "cpu") -> list[dict]:
    """One row per conv, batch norm, pool, flatten and fc layer of `model`, in forward order.

    Each row: name (module path), type (one of ROW_TYPES), label (kernel/stride/padding for
    people), output_shape (tuple), memory_kb, params, flops.

    device="cpu" (the default) runs the forward on an empty batch, a (0, C, H, W) tensor:
    torch's C++ kernels check and infer every shape and do no arithmetic, in milliseconds.
    device="meta" runs it on a (1, C, H, W) meta tensor instead; the rows are the same, but
    torch's Python meta kernels cost about 1 s of imports on first use (see bench/).
    """
    model = resolve_model(model)
    shape = tuple(input_shape or MODELS[model][2])
    if len(shape) != 3 or any(isinstance(d, bool) or not isinstance(d, int) or d < 1
                              for d in shape):
        raise CostError(f"input shape must be three positive ints C,H,W; got {shape!r}")
    net = build_without_init(model, device)
    try:
        return module_rows(net, shape, device)
    except (RuntimeError, ValueError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        default = ",".join(map(str, MODELS[model][2]))
        raise CostError(f"input {','.join(map(str, shape))} does not fit {model} (accepted: "
                        f"C,H,W with the model's channels and a size its layers allow; "
                        f"default {default}): {reason}") from err


def module_rows(net, input_shape: tuple[int, int, int], device: str = "cpu") -> list[dict]:
    """`cost_rows` for any module built from the counted layer types (e.g. a reference
    network changed by hand, as docs_tools/lecture_errata.py does for ResNet v1).

    torch's RuntimeError or ValueError from the forward (an input the module cannot take)
    propagates; an AssertionError means a layer with parameters got no row.
    """
    import torch

    net = net.eval()
    recorder = _RowRecorder()
    counted = _counted_types()
    handles = [module.register_forward_hook(
                   lambda m, i, o, name=name: recorder.hook(name, m, i, o))
               for name, module in net.named_modules() if isinstance(module, counted)]
    batch = 1 if device == "meta" else 0
    try:
        with torch.no_grad():
            net(torch.empty((batch, *input_shape), device=device))
    finally:
        for handle in handles:
            handle.remove()
    total = sum(p.numel() for p in net.parameters())
    counted_params = sum(r["params"] for r in recorder.rows)
    if counted_params != total:
        raise AssertionError(f"{type(net).__name__}: rows count {counted_params} params, the "
                             f"module has {total}; a layer with parameters has no row")
    return recorder.rows


def cost_report(model: str, input_shape: tuple[int, int, int] | None = None) -> dict:
    """The contract's JSON object for `cnnlab costs MODEL --json`."""
    model = resolve_model(model)
    rows = cost_rows(model, input_shape)
    return report_from_rows(model, tuple(input_shape or MODELS[model][2]), rows)


def report_from_rows(model: str, input_shape: tuple, rows: list[dict]) -> dict:
    return {
        "model": model,
        "input_shape": list(input_shape),
        "rows": [{"name": r["name"], "type": r["type"], "output_shape": list(r["output_shape"]),
                  "memory_kb": r["memory_kb"], "params": r["params"], "flops": r["flops"]}
                 for r in rows],
        "totals": {"params": sum(r["params"] for r in rows),
                   "flops": sum(r["flops"] for r in rows),
                   "memory_kb": sum(r["memory_kb"] for r in rows)},
    }


# --- Rows grouped as the lecture presents a network (for the figure) -------------------------

# Levels from finest to coarsest. "auto" picks the finest with at most MAX_GROUPS rows, so a
# figure stays readable on a slide: VGG per layer, ResNet-50 per block, ResNet-152 per stage.
GROUP_LEVELS = ("layer", "block", "stage")
MAX_GROUPS = 30

_RESNET_PATH = re.compile(r"^layer(\d+)\.(\d+)\.")


def _family(model: str) -> str:
    # How the lecture names the layers: VGG by stage (conv3_2, pool3), ResNet by stage
    # (conv1, conv2_x ... conv5_x, fc), everything else one number per conv (AlexNet's conv1
    # ... conv5, pool5, fc6 ... fc8).
    for prefix in ("vgg", "resnet"):
        if model.startswith(prefix):
            return prefix
    return "sequential"


def lecture_labels(model: str, rows: list[dict]) -> list[dict]:
    """Per row, the lecture's name for it and the block and stage it belongs to:
    {"label", "block": (key, label, path), "stage": (key, label, path)}. Rows whose module
    path has no dot (LeNet's fc1, ResNet's conv1, avgpool, fc) already carry their name."""
    family = _family(_BY_KEY.get(_name_key(model), model))
    out: list[dict] = []
    stage, in_stage, convs, fcs = 1, 0, 0, 0
    stage_start = None
    for r in rows:
        name, kind = r["name"], r["type"]
        own = (name, name, name)
        if "." not in name:
            label = name
            block = stage_ = own
            if family == "resnet" and name == "bn1" and out and out[-1]["label"] == "conv1":
                block = stage_ = ("conv1", "conv1", "conv1 + bn1")  # the lecture's conv1 row
        elif family == "resnet" and _RESNET_PATH.match(name):
            n, b = map(int, _RESNET_PATH.match(name).groups())
            label = f"conv{n + 1}_x"
            block = (f"layer{n}.{b}", f"conv{n + 1}_x, block {b + 1}", f"layer{n}.{b}")
            stage_ = (f"layer{n}", f"conv{n + 1}_x", f"layer{n}")
        elif family == "vgg" and name.startswith("features."):
            if stage_start is None:
                stage_start = name
            if kind == "conv":
                in_stage += 1
                label = f"conv{stage}_{in_stage}"
                block = (name, label, name)
            elif kind == "batchnorm":
                label = f"bn{stage}_{in_stage}"
                conv = out[-1]["block"] if out else own
                block = (conv[0], conv[1], f"{conv[2]}-{name.rsplit('.', 1)[1]}")
            else:
                label = f"pool{stage}"
                block = (name, label, name)
            stage_ = (f"conv{stage}", f"conv{stage}", f"{stage_start}-{name.rsplit('.', 1)[1]}")
            if kind == "pool":
                stage, in_stage, stage_start = stage + 1, 0, None
        else:
            if kind == "conv":
                convs += 1
                label = f"conv{convs}"
            elif kind == "pool":
                label = f"pool{convs}"
            elif kind == "fc":
                fcs += 1
                label = f"fc{(convs if family != 'vgg' else stage - 1) + fcs}"
            elif kind == "batchnorm":
                label = f"bn{convs}"
            else:
                label = kind
            block = stage_ = (name, label, name)
            if kind == "batchnorm" and out and rows[len(out) - 1]["type"] == "conv":
                prev = out[-1]["block"]  # a conv and its batch norm: one block
                block = stage_ = (prev[0], prev[1], f"{prev[2]} + {name}")
        out.append({"label": label, "block": block, "stage": stage_})
    # A group's path covers all its rows: the last one written wins (VGG's spans grow as the
    # rows come), and a ResNet stage says how many blocks it has.
    final: dict[tuple, tuple] = {}
    for lab in out:
        for level in ("block", "stage"):
            final[(level, lab[level][0])] = lab[level]
    if family == "resnet":
        blocks: dict[str, set] = {}
        for lab in out:
            blocks.setdefault(lab["stage"][0], set()).add(lab["block"][0])
        for (level, key), (k, label, path) in list(final.items()):
            if level == "stage" and len(blocks.get(key, ())) > 1:
                final[(level, key)] = (k, f"{label}, {len(blocks[key])} blocks", path)
    for lab in out:
        for level in ("block", "stage"):
            lab[level] = final[(level, lab[level][0])]
    return out


def group_rows(model: str, rows: list[dict], level: str = "auto") -> tuple[str, list[dict]]:
    """(the level used, the groups): consecutive rows of one layer, block or stage merged,
    each {"label", "path", "names", "types", "count", "memory_kb", "params", "flops"}; the
    sums over groups equal the table's totals. level "auto": the finest level with at most
    MAX_GROUPS groups (the coarsest if none is that small)."""
    if level != "auto" and level not in GROUP_LEVELS:
        raise CostError(f"unknown grouping {level!r}; use auto, {', '.join(GROUP_LEVELS)}")
    labels = lecture_labels(model, rows)
    candidates = GROUP_LEVELS if level == "auto" else (level,)
    for candidate in candidates:
        groups: list[dict] = []
        for r, lab in zip(rows, labels):
            key, label, path = ((r["name"], lab["label"], r["name"]) if candidate == "layer"
                                else lab[candidate])
            if not groups or groups[-1]["key"] != key:
                groups.append({"key": key, "label": label, "path": path, "names": [],
                               "types": [], "memory_kb": 0.0, "params": 0, "flops": 0})
            g = groups[-1]
            g["names"].append(r["name"])
            if r["type"] not in g["types"]:
                g["types"].append(r["type"])
            for field in ("memory_kb", "params", "flops"):
                g[field] += r[field]
        if len(groups) <= MAX_GROUPS:
            break
    for g in groups:
        g["count"] = len(g["names"])
        del g["key"]
    return candidate, groups
