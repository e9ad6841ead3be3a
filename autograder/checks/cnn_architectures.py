"""Hidden checks for `cnn_architectures`: AlexNet, VGG and ResNet built to torchvision's layout.

Three kinds of evidence, for every network:
- structure: state_dict keys and shapes and the parameter count equal the reference's
  (the big models are built on the meta device, which allocates nothing);
- function: the reference's weights, randomized together with BatchNorm's running
  statistics, load strictly into the student's model, and eval-mode outputs agree at more
  than one input size. Random BatchNorm statistics matter: with the default ones (mean 0,
  variance 1) a ReLU moved across a BatchNorm changes nothing, and such mistakes would pass;
- training: a few SGD steps of resnet18 (the student's own initialisation) and vgg11_bn
  (the reference's randomized weights loaded) lower the loss.
When outputs differ, the feedback names the first submodule whose output differs.

What depends only on the reference is computed once per process (a grading worker grades
many submissions): its structures, its randomized weights (kept as files, not in memory:
see _save_weights and _weights_for_use) and its outputs and traces for the checks' inputs.
"""
from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
from collections import OrderedDict

import torch

from autograder.checks import disk_cache
from autograder.checks.common import exact_int
from autograder.records import NOTES_LOG
from autograder.checks.determinism import pick_device
from autograder.checks.model_probes import forward_all, structure
from autograder.checks.model_specs import ENV_REF, build_on_meta, describe
from autograder.checks.probes import run_probe
from autograder.checks.reference_weights import (materialize, materialize_, reference_model,
                                                 traced_names)
from autograder.checks.tensor_compare import max_rel_error, shape_str
from solutions import cnn_architectures as reference

REFERENCE = vars(reference)
SEED = 2024
RTOL = {torch.float64: 1e-7, torch.float32: 1e-4}


def spec(builder: str, *args, **kwargs) -> dict:
    return {"builder": builder, "args": list(args), "kwargs": kwargs}


def default_spec(builder: str, *args, defaults: str) -> dict:
    """A build that leaves arguments to their defaults (`defaults` says which, as the
    contract writes them), for the feedback."""
    return {**spec(builder, *args), "defaults": defaults}


# The submodules the contract names (shared/contract.md), parameters or not.
ALEXNET_NAMES = VGG_NAMES = ("features", "avgpool", "classifier")
RESNET_NAMES = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
                "avgpool", "fc")


def env_name(name: str) -> dict:
    return {ENV_REF: name}


# --- structure ---------------------------------------------------------------------------------

_STRUCTURES: dict[str, dict] = {}


def reference_structure(s: dict) -> dict:
    key = repr(s)
    if key not in _STRUCTURES:
        _STRUCTURES[key] = disk_cache.lookup("structure", key,
                                             lambda: structure(build_on_meta(REFERENCE, s)))
    return _STRUCTURES[key]


_LAYOUT_HINTS = {
    "features.": "`features` numbers its layers as torchvision does: for each number in the "
                 "configuration a 3x3 conv (padding 1), [BatchNorm,] ReLU; for each 'M' a "
                 "2x2 max pool",
    "classifier.": "torchvision's classifier is Linear, ReLU, Dropout, Linear, ReLU, Dropout, "
                   "Linear for VGG and Dropout, Linear, ReLU, Dropout, Linear, ReLU, Linear "
                   "for AlexNet",
}


def _key_hint(key: str, missing: bool) -> str:
    if "downsample" in key:
        if not missing:
            return ("a projection shortcut (`downsample`) is needed only when the stride or "
                    "the number of channels changes; otherwise the shortcut is the identity")
        if key.startswith("downsample.1") or ".downsample.1" in key:
            return "the projection shortcut is a 1x1 conv (no bias) followed by BatchNorm"
        return ("the block needs a projection shortcut `downsample` (1x1 conv with the "
                "block's stride, then BatchNorm) when the stride or the channels change")
    if key.endswith(".bias") and missing is False and ("conv" in key or "downsample.0" in key):
        return "ResNet's convs have no bias (bias=False): BatchNorm's shift replaces it"
    for prefix, hint in _LAYOUT_HINTS.items():
        if key.startswith(prefix):
            return hint
    if "running_mean" in key or key.endswith("num_batches_tracked"):
        return "check where your BatchNorm layers are"
    return "module names and nesting must be torchvision's"


def compare_structure(got: dict, want: dict, what: str, names: tuple = ()) -> None:
    """`names`: the submodules the contract names, which `got` must have (by name)."""
    have = dict((k, tuple(v)) for k, v in got["shapes"])
    need = dict((k, tuple(v)) for k, v in want["shapes"])
    missing = [k for k in need if k not in have]
    extra = [k for k in have if k not in need]
    if missing or extra:
        parts = []
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            parts.append(f"it lacks the key `{missing[0]}`{more}")
        if extra:
            more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
            parts.append(f"it has an unexpected key `{extra[0]}`{more}")
        first, is_missing = (missing[0], True) if missing else (extra[0], False)
        raise AssertionError(f"{what}: the state_dict does not match torchvision's: "
                             f"{'; '.join(parts)}. Hint: {_key_hint(first, is_missing)}")
    for k in need:
        if have[k] != need[k]:
            check = ("its in_features and out_features" if len(need[k]) == 2 else
                     "its channels and kernel size" if len(need[k]) == 4 else "its channels")
            raise AssertionError(
                f"{what}: `{k}` has shape {shape_str(have[k])}, which is not torchvision's "
                f"shape for it: check {check}")
    missing_names = [n for n in names if n not in got.get("children", [])]
    if missing_names:
        raise AssertionError(
            f"{what} has no submodule `{missing_names[0]}`: the contract names its parts "
            f"{', '.join(names)}, as torchvision does. A part without parameters (a pool, a "
            "ReLU) is not in the state_dict, but it is a named submodule all the same "
            "(`self.avgpool = nn.AdaptiveAvgPool2d(...)`, not a function call in forward)")
    if sorted(p for _, p in got["dropout"]) != sorted(p for _, p in want["dropout"]):
        raise AssertionError(f"{what}: its nn.Dropout layers differ from torchvision's: the "
                             "classifier has two, each with p=0.5 (they act only in train())")
    want_bn = {name: (eps, momentum) for name, eps, momentum in want.get("batchnorm", [])}
    for name, eps, momentum in got.get("batchnorm", []):
        if name not in want_bn:
            continue  # a BatchNorm torchvision does not have shows in the keys above
        want_eps, want_momentum = want_bn[name]
        if momentum != want_momentum:
            raise AssertionError(
                f"{what}: BatchNorm `{name}` has momentum {momentum}, torchvision's has "
                f"{want_momentum} (PyTorch's momentum weighs the new batch: its 0.1 is "
                f"Keras's 0.9); leave nn.BatchNorm2d's default")
        if eps != want_eps:
            raise AssertionError(f"{what}: BatchNorm `{name}` has eps {eps:g}, torchvision's "
                                 f"has {want_eps:g}; leave nn.BatchNorm2d's default")
    n, m = got["num_params"], want["num_params"]
    if not exact_int(n) or n != m:
        raise AssertionError(f"{what} has {n:,} parameters, {'more' if n > m else 'fewer'} "
                             "than torchvision's (a parameter outside the state_dict?)")


def check_structure(env, specs: list[dict], names: tuple = ()) -> None:
    for s in specs:
        got = run_probe(env, "probe_structure", s)
        try:
            compare_structure(got, reference_structure(s), f"`{describe(s)}`", names)
        except AssertionError as err:
            if "defaults" not in s:
                raise
            raise AssertionError(f"{err} (built with its defaults: {s['defaults']})") \
                from None


# --- outputs with the reference's weights -------------------------------------------------------

def _divergence(got: dict, want: dict, names: list[str], rtol: float, block: bool) -> str:
    """Where the student's forward first departs from the reference's."""
    previous = None
    ref_order = [n for n in want["order"] if n in names]
    for name in ref_order:
        if name not in got["trace"]:
            return (f"`{name}` is never called in your forward, or its output is not a tensor")
        if max_rel_error(got["trace"][name], want["trace"][name]) > rtol:
            children = [n for n in ref_order if n.startswith(name + ".")]
            if children and all(max_rel_error(got["trace"][c], want["trace"][c]) <= rtol
                                for c in children if c in got["trace"]) \
                    and all(c in got["trace"] for c in children):
                return (f"the layers inside `{name}` compute the right values, but `{name}`'s "
                        "output differs: check how its forward combines them (the residual "
                        "add, the shortcut, the ReLU after the add, pooling)")
            where = f"between `{previous}` and `{name}`" if previous else f"before `{name}`"
            return (f"the first layer whose output differs is `{name}`; everything before it "
                    f"matches, so look {where} (a ReLU, a pool, the order of operations, "
                    "a stride or padding)")
        previous = name
    if block:
        return ("every layer inside the block computes the right values, but the block's "
                "output differs: check how forward combines them (the shortcut, the residual "
                "add, and the ReLU after the add)")
    return ("every layer's output matches, but the final output differs: check the end of "
            "forward (pooling, flatten, the classifier)")


# --- the reference's side, once per process ------------------------------------------------------

_CACHE_DIR: str | None = None
_WEIGHTS: dict[str, dict] = {}        # weights key -> {"path", "stat", "compact", "uses"}
_OUTPUTS: dict[str, list] = {}        # run key -> the reference's outputs
_TRACES: OrderedDict[str, dict] = OrderedDict()  # (run key, input) -> the reference's trace
TRACE_CACHE_BYTES = 64 << 20
_NAMES = itertools.count()


def _cache_dir() -> str:
    """This process's folder for the reference's weight files (mode 0700), removed when the
    process ends (a multiprocessing finalizer runs in pool workers too, atexit does not)."""
    global _CACHE_DIR
    if _CACHE_DIR is None or not os.path.isdir(_CACHE_DIR):
        import multiprocessing.util

        _CACHE_DIR = tempfile.mkdtemp(prefix="cnnlab-reference-")
        multiprocessing.util.Finalize(None, shutil.rmtree, args=(_CACHE_DIR,),
                                      kwargs={"ignore_errors": True}, exitpriority=0)
    return _CACHE_DIR


def _stat(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode, st.st_uid)


def _weights_key(s: dict, dtype, running_var) -> str:
    return repr((s, SEED, str(dtype), tuple(running_var)))


def _cached_weights(key: str) -> dict | None:
    """The weight file of `key`, if it is still the one written (a sandbox that lacks its
    uid and Landlock layers runs as the grader's user and could change a file it can
    read: it is then written afresh)."""
    entry = _WEIGHTS.get(key)
    if entry is not None and _stat(entry["path"]) == entry["stat"]:
        return entry
    return None


def _save_weights(key: str, state: dict) -> dict:
    """torch.save `state` into this process's cache folder, read-only (0644), for probes to
    torch.load(path, mmap=True): large weights cross through the page cache. Saved
    without the zip records' CRC-32, which nothing reads back."""
    from torch.utils.serialization import config

    old = _WEIGHTS.get(key)
    path = os.path.join(_cache_dir(), f"weights-{next(_NAMES)}.pt")
    crc = config.save.compute_crc32
    config.save.compute_crc32 = False
    try:
        torch.save(state, path)
    finally:
        config.save.compute_crc32 = crc
    os.chmod(path, 0o644)
    _WEIGHTS[key] = {"path": path, "stat": _stat(path), "uses": old["uses"] if old else 0,
                     "compact": any(not t.is_contiguous() for t in state.values())}
    if old is not None and old["path"] != path:
        try:
            os.remove(old["path"])  # inboxes that link it keep their own name for it
        except OSError:
            pass
    return _WEIGHTS[key]


# From this use of a weights file on (this process grades its n-th submission), the file
# is the same values written out in full, which each probe maps from the page cache instead
# of copying: 0.7 s less a later cnn_architectures submission, for about 3 s of writing
# them (1.4 GB) once, so it pays from the fifth submission of a process on, not at the
# second (which made `cnnlab demo`'s second sample of a worker 3 s slower, for nothing).
FULL_WEIGHTS_FROM_USE = 5


def _weights_for_use(key: str) -> str:
    """The file to hand a probe: the compact file (_compact_uniform: a few MB, which the
    probe copies out to VGG's 400 MB) until its FULL_WEIGHTS_FROM_USE-th use, then the
    same values written out in full once."""
    entry = _WEIGHTS[key]
    entry["uses"] += 1
    if entry["compact"] and entry["uses"] >= FULL_WEIGHTS_FROM_USE:
        state = torch.load(entry["path"], mmap=True, weights_only=True)
        entry = _save_weights(key, materialize(state, reuse=False))
        del state
    return entry["path"]


def _inputs(sizes, channels: int, batch: int, dtype) -> list[torch.Tensor]:
    """The checks' inputs, drawn afresh for each check (a model may not change them, and
    in this process a mistaken one could)."""
    g = torch.Generator().manual_seed(SEED + 1)
    return [torch.randn(batch, channels, h, w, generator=g, dtype=dtype) for h, w in sizes]


def _reference_weights(s: dict, dtype, running_var, model: torch.nn.Module | None = None) -> str:
    """The file of the reference's randomized weights (written from `model`, the reference
    built for them, if given and they are not yet written)."""
    w_key = _weights_key(s, dtype, running_var)
    if _cached_weights(w_key) is None:
        if model is None:
            model = reference_model(REFERENCE, s, SEED, dtype, running_var)
        _save_weights(w_key, model.state_dict())
    return _weights_for_use(w_key)


def _reference_run(s: dict, dtype, running_var, run_key: str, inputs: list,
                   before_build=None) -> tuple[str, list]:
    """(the file of the reference's randomized weights, its eval outputs for `inputs`);
    `before_build()` is called first where the reference model must be built and run."""
    if run_key not in _OUTPUTS:
        stored = disk_cache.get("outputs", run_key)
        if stored is not disk_cache.MISSING:
            _OUTPUTS[run_key] = stored
    if run_key in _OUTPUTS:
        return _reference_weights(s, dtype, running_var), _OUTPUTS[run_key]
    if before_build is not None:
        before_build()
    ref_model = reference_model(REFERENCE, s, SEED, dtype, running_var)
    path = _reference_weights(s, dtype, running_var, ref_model)  # compact, before materialize_
    materialize_(ref_model)
    _OUTPUTS[run_key] = forward_all(ref_model, inputs, "the reference", None, 60)["outputs"]
    del ref_model  # freed here (a module holds no cycles), before the student's is built
    disk_cache.put("outputs", run_key, _OUTPUTS[run_key])
    return path, _OUTPUTS[run_key]


def _reference_trace(s: dict, dtype, running_var, trace_key: str, x: torch.Tensor,
                     before_build=None) -> dict:
    """The reference's trace on `x` (forward_all with every submodule that owns
    parameters), and the names traced; the latest kept up to TRACE_CACHE_BYTES.
    `before_build()` is called first where the reference model must be built."""
    if trace_key in _TRACES:
        _TRACES.move_to_end(trace_key)
        return _TRACES[trace_key]
    if before_build is not None:
        before_build()
    ref_model = materialize_(reference_model(REFERENCE, s, SEED, dtype, running_var))
    names = traced_names(ref_model)
    want = forward_all(ref_model, [x], "the reference", names, 60)
    want["names"] = names
    del ref_model
    want["bytes"] = sum(t.numel() * t.element_size()
                        for t in list(want["trace"].values()) + want["outputs"])
    _TRACES[trace_key] = want
    while sum(t["bytes"] for t in _TRACES.values()) > TRACE_CACHE_BYTES and len(_TRACES) > 1:
        _TRACES.popitem(last=False)
    return want


def _stage(env, path: str):
    """What a probe gets for the weights in `path`. In this process: the path itself (the
    probe maps the file; each call gets tensors of its own). For a sandbox: the file
    hard-linked into its inbox (the grader's read-only folder for it, removed with the
    sandbox), or else staged by the env itself."""
    if not hasattr(env, "stage"):
        return path
    inbox = getattr(getattr(env, "_sandbox", None), "inbox", None)
    if inbox and os.path.isdir(inbox):
        target = os.path.join(inbox, f"reference-{os.getpid()}-{next(_NAMES)}.pt")
        try:
            os.link(path, target)
            return target
        except OSError:
            pass
    return env.stage(torch.load(path, mmap=True, weights_only=True))


def check_outputs(env, s: dict, sizes: list[tuple[int, int]], dtype=torch.float64,
                  channels: int = 3, batch: int = 2, block: bool = False,
                  running_var: tuple[float, float] = (0.5, 1.5)) -> None:
    what = f"`{describe(s)}`"
    inputs = _inputs(sizes, channels, batch, dtype)
    rtol = RTOL[dtype]
    run_key = repr((_weights_key(s, dtype, running_var), sizes, channels, batch))
    # Where this process builds the reference model, the sandbox first lets go of the copies
    # it keeps of the last one's big weights: VGG's would be 480 MB held twice.
    def drop_spares():
        run_probe(env, "probe_drop_spares")
    path, want_outputs = _reference_run(s, dtype, running_var, run_key, inputs, drop_spares)
    # The weights cross as a file the probe memory-maps (for a sandbox, hard-linked into its
    # inbox): no copy of VGG's 400 MB classifier is pickled, and none stays in this process.
    state = _stage(env, path)
    got = run_probe(env, "probe_forward", s, state, inputs)
    for index, (x, out, ref_out) in enumerate(zip(inputs, got["outputs"], want_outputs)):
        shown = "x".join(str(d) for d in x.shape)
        if tuple(out.shape) != tuple(ref_out.shape):
            raise AssertionError(f"{what} maps a {shown} input to shape {shape_str(out.shape)}, "
                                 "which is not the reference's output shape")
        err = max_rel_error(out, ref_out)
        if err > rtol:
            # Trace the input that failed: another size may pass (a ceil_mode pool differs
            # only where a window overhangs).
            want_t = _reference_trace(s, dtype, running_var, repr((run_key, index)), x,
                                      drop_spares)
            names = want_t["names"]
            try:
                got_t = run_probe(env, "probe_forward", s, state, [x], names)
                where = _divergence(got_t, want_t, names, rtol, block)
            except AssertionError:
                raise
            except Exception:  # noqa: BLE001 - locating the difference is a bonus
                where = "check the order of operations in forward"
            if block and bool((ref_out >= 0).all()) and bool((out < 0).any()):
                where += ("; your output has negative entries, so the ReLU after adding the "
                          "shortcut is missing")
            raise AssertionError(
                f"{what} with torchvision-layout weights loaded computes different outputs "
                f"(eval mode, a {shown} input; largest difference {err:.3g} of the output's "
                f"scale): {where}")


def check_block_outputs(env, s: dict, in_channels: int, stride: int) -> None:
    what = f"`{describe(s)}`"
    size = (9, 11)
    check_outputs(env, s, [size], channels=in_channels, block=True)
    got = run_probe(env, "probe_structure", s)
    want = reference_structure(s)
    if got["has_downsample"] != want["has_downsample"]:
        need = "needs" if want["has_downsample"] else "must not have"
        raise AssertionError(f"{what} {need} a projection shortcut `downsample`: it is used "
                             "exactly when the stride or the number of channels changes")


# --- the questions ------------------------------------------------------------------------------

def check_alexnet_structure(env):
    check_structure(env, [default_spec("AlexNet", defaults="num_classes=1000"),
                          spec("AlexNet", num_classes=10)], ALEXNET_NAMES)


def check_alexnet_dropout(env):
    s = spec("AlexNet", num_classes=10)
    got = run_probe(env, "probe_structure", s)["dropout"]
    want = reference_structure(s)["dropout"]
    if sorted(p for _, p in got) != sorted(p for _, p in want):
        raise AssertionError("`AlexNet`'s classifier uses two nn.Dropout(p=0.5) layers, one "
                             "before each of its first two Linear layers, as torchvision's")


def check_alexnet_outputs(env):
    check_outputs(env, spec("AlexNet", num_classes=10), [(224, 224), (131, 163)],
                  dtype=torch.float32)


def check_vgg_configs(env):
    got = env.get("VGG_CONFIGS")
    if got is None or got is Ellipsis:
        raise AssertionError("`VGG_CONFIGS` is not implemented yet: a dict from 'vgg11', "
                             "'vgg13', 'vgg16', 'vgg19' to lists of ints and 'M'")
    if type(got) is not dict:
        raise AssertionError("`VGG_CONFIGS` must be a dict from 'vgg11', 'vgg13', 'vgg16', "
                             "'vgg19' to lists of ints and 'M'")
    for name, want in reference.VGG_CONFIGS.items():
        row = got.get(name)
        if type(row) is not list:
            raise AssertionError(f"`VGG_CONFIGS[{name!r}]` must be a list of ints and 'M'")
        same = len(row) == len(want) and all(
            (type(a) is int and type(b) is int and a == b) or (type(a) is str and a == b == "M")
            for a, b in zip(row, want))
        if not same:
            convs = sum(1 for v in row if type(v) is int)
            raise AssertionError(
                f"`VGG_CONFIGS[{name!r}]` is not the lecture's configuration ({convs} convs "
                f"listed; {name} has {int(name[3:]) - 3} convs and 3 fully connected layers, "
                "in 5 stages of 64, 128, 256, 512, 512 channels, each ending in 'M')")


VGG_SMALL = [64, "M", 128, "M", 512, "M"]


def check_vgg_structure(env):
    both = "num_classes=1000, batch_norm=False"
    specs = [default_spec(f"vgg{d}", defaults=both) for d in (11, 13, 16, 19)]
    specs += [spec(f"vgg{d}", batch_norm=True) for d in (11, 13, 16, 19)]
    # Every builder passes num_classes (and batch_norm) on; built on the meta device: cheap.
    specs += [spec(f"vgg{d}", num_classes=10, batch_norm=d % 2 == 0) for d in (11, 13, 16, 19)]
    specs.append(spec("VGG", VGG_SMALL, num_classes=10, batch_norm=True))
    specs.append(default_spec("VGG", VGG_SMALL, defaults=both))
    check_structure(env, specs, VGG_NAMES)


def check_vgg_outputs(env):
    check_outputs(env, spec("vgg11", num_classes=10), [(32, 32), (64, 48)], dtype=torch.float32)
    # Small running variances for the batch-norm net: with variances near 1 a BatchNorm eps
    # of 1e-4 instead of torchvision's 1e-5 hides under float32's tolerance; near 0.03 it
    # shows plainly. (float64 would show it too, but VGG's float64 classifier alone is
    # 800 MB, past the grading's memory budget.)
    check_outputs(env, spec("VGG", VGG_SMALL, num_classes=10, batch_norm=True), [(40, 56)],
                  dtype=torch.float32, running_var=(0.01, 0.05))


def _check_expansion(env, cls: str, want: int) -> None:
    block = env.get(cls)
    value = getattr(block, "expansion", None)
    if not exact_int(value) or value != want:
        raise AssertionError(f"`{cls}.expansion` must be a class attribute equal to the ratio "
                             f"of the block's output channels to its width (here {want})")


BASIC_CASES = [(8, 8, 1), (8, 16, 2), (8, 16, 1), (8, 8, 2)]
BOTTLENECK_CASES = [(16, 4, 1), (8, 4, 1), (16, 8, 2), (32, 8, 2)]


def check_basic_block_structure(env):
    _check_expansion(env, "BasicBlock", 1)
    check_structure(env, [spec("BasicBlock", i, o, stride=st) for i, o, st in BASIC_CASES]
                    + [default_spec("BasicBlock", 8, 8, defaults="stride=1")])


def check_basic_block_outputs(env):
    for i, o, st in BASIC_CASES:
        check_block_outputs(env, spec("BasicBlock", i, o, stride=st), i, st)


def check_bottleneck_structure(env):
    _check_expansion(env, "Bottleneck", 4)
    check_structure(env, [spec("Bottleneck", i, w, stride=st) for i, w, st in BOTTLENECK_CASES]
                    + [default_spec("Bottleneck", 16, 4, defaults="stride=1")])
    s = spec("Bottleneck", 16, 8, stride=2)
    strides = run_probe(env, "probe_structure", s)["conv_strides"]
    if strides.get("conv2") != (2, 2) or strides.get("conv1") != (1, 1):
        raise AssertionError("`Bottleneck(16, 8, stride=2)`: the stride belongs on the 3x3 conv "
                             "(`conv2`), as in torchvision; `conv1` and `conv3` keep stride 1")


def check_bottleneck_outputs(env):
    for i, w, st in BOTTLENECK_CASES:
        check_block_outputs(env, spec("Bottleneck", i, w, stride=st), i, st)


RESNET_SMALL = spec("ResNet", env_name("BasicBlock"), [1, 2, 1, 1], num_classes=7)


def check_resnet_structure(env):
    specs = [default_spec(f"resnet{d}", defaults="num_classes=1000")
             for d in (18, 34, 50, 101, 152)]
    specs += [spec(f"resnet{d}", num_classes=10) for d in (18, 34, 50, 101, 152)]
    specs.append(RESNET_SMALL)
    specs.append(default_spec("ResNet", env_name("BasicBlock"), [1, 1, 1, 1],
                              defaults="num_classes=1000"))
    check_structure(env, specs, RESNET_NAMES)


def check_resnet_outputs(env):
    check_outputs(env, spec("resnet18", num_classes=10), [(64, 64), (45, 71)], batch=1)
    check_outputs(env, RESNET_SMALL, [(40, 40)])
    check_outputs(env, spec("resnet50", num_classes=10), [(64, 64)], batch=1)


def _check_training(env, s: dict, size: int, steps: int, lr: float,
                    frozen: list | None = None, own_init: bool = True) -> None:
    what = f"`{describe(s)}`"
    g = torch.Generator().manual_seed(SEED)
    images = torch.randn(8, 3, size, size, generator=g)
    labels = torch.arange(8) % 10
    device = pick_device()
    state = None if own_init else _stage(env, _reference_weights(s, torch.float32,
                                                                  (0.5, 1.5)))
    result = run_probe(env, "probe_train", s, images, labels, steps, lr, device, SEED,
                       frozen, state)
    losses = [float(v) for v in result["losses"]]
    # A note on the submission's record (autograder/runner.py collects this logger's
    # messages), so a log of many submissions says whose smoke test this was.
    logging.getLogger(NOTES_LOG).info(
        f"training smoke test: {what}, {steps} SGD steps on {device} in "
        f"{float(result['seconds']):.1f} s, loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    if not result["finite"] or not all(v == v and abs(v) != float("inf") for v in losses):
        raise AssertionError(f"training {what}: the outputs or the loss became inf or nan")
    if len(losses) != steps:
        raise AssertionError(f"training {what}: expected {steps} losses")
    if not losses[-1] < 0.95 * losses[0]:
        raise AssertionError(
            f"training {what} on one small batch for {steps} SGD steps did not lower the loss "
            f"({losses[0]:.3f} -> {losses[-1]:.3f}): are all layers registered as submodules "
            "and used in forward, with nothing detached or computed under torch.no_grad()?")


def check_training_resnet18(env):
    _check_training(env, spec("resnet18", num_classes=10), 32, steps=5, lr=0.02)


def check_training_vgg11_bn(env):
    # 32x32 is enough: five 2x2 pools leave 1x1, which the adaptive pool spreads to 7x7.
    # The reference's randomized weights, not the student's initialisation: drawing 129M
    # weights took two thirds of this check (2 of 3 s, one thread); ResNet-18's smoke test
    # still trains the student's own initialisation.
    # The classifier's two big weights (103M and 17M) are frozen: their gradients and updates
    # were half of this check's time and 130 MB, and everything else still trains. They share
    # one buffer (reference_weights.share_frozen: 64 MB less at the grading's peak), so the
    # 4096x4096 one has the 25088-wide one's smaller scale: the loss starts at 2.6 to 4, and
    # lr 0.005 took it down for every seed tried (at most 0.81 of its start over 10 seeds,
    # as 0.001 did with separate weights; 0.001 left 2 of 10 above 0.95 of it).
    _check_training(env, spec("vgg11", num_classes=10, batch_norm=True), 32, steps=3, lr=0.005,
                    frozen=["classifier.0.weight", "classifier.3.weight"], own_init=False)


QUESTIONS = {
    "alexnet": [check_alexnet_structure, check_alexnet_dropout, check_alexnet_outputs],
    "vgg": [check_vgg_configs, check_vgg_structure, check_vgg_outputs],
    "basic_block": [check_basic_block_structure, check_basic_block_outputs],
    "bottleneck": [check_bottleneck_structure, check_bottleneck_outputs],
    "resnet": [check_resnet_structure, check_resnet_outputs],
    "training": [check_training_resnet18, check_training_vgg11_bn],
}
