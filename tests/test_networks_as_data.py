"""The networks written once, as data (solutions/networks.py): a new VGG or ResNet depth is
one row in that one file, the real rows still give torchvision's published parameter counts
(the figures of tests/test_architectures.py), the lecture's layer lists derived from the
tables are the lecture's tables, and the modules, the quizzes' block rule and the
self-contained source agree with the tables."""
from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
from torch import nn

from autograder.reference_source import self_contained_source
from solutions import cnn_architectures as arch
from solutions import networks
from test_architectures import PUBLISHED_PARAMS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def copied_solutions(tmp_path):
    """(solutions/ copied to tmp_path, import) where import(module) imports the copy's
    module in place of the real one; the real modules are back after the test."""
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions",
                    ignore=shutil.ignore_patterns("__pycache__"))
    ours = [n for n in sys.modules if n == "solutions" or n.startswith("solutions.")]
    saved = {n: sys.modules.pop(n) for n in ours}
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    try:
        yield tmp_path / "solutions", lambda module: importlib.import_module(f"solutions.{module}")
    finally:
        sys.path.remove(str(tmp_path))
        for n in [n for n in sys.modules if n == "solutions" or n.startswith("solutions.")]:
            del sys.modules[n]
        sys.modules.update(saved)


def add_row(folder: Path, after: str, row: str) -> None:
    """`row` written into solutions/networks.py on the line after the one starting `after`."""
    path = folder / "networks.py"
    lines = path.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith(after))
    lines.insert(at + 1, row + "\n")
    path.write_text("".join(lines))


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def conv(cin, cout, k):
    return cout * cin * k * k + cout


def test_a_new_vgg_depth_is_one_row(copied_solutions):
    folder, load = copied_solutions
    add_row(folder, '"vgg11":', '    "vgg8": [64, "M", 128, "M", 256, "M", 512, "M", 512, "M"],')
    copy = load("cnn_architectures")
    assert copy.VGG_CONFIGS["vgg8"] == [64, "M", 128, "M", 256, "M", 512, "M", 512, "M"]
    with torch.device("meta"):
        net = copy.vgg("vgg8", num_classes=10)
        assert net(torch.empty(2, 3, 224, 224)).shape == (2, 10)
    convs = conv(3, 64, 3) + conv(64, 128, 3) + conv(128, 256, 3) + conv(256, 512, 3) \
        + conv(512, 512, 3)
    head = (512 * 7 * 7 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 10 + 10)
    assert param_count(net) == convs + head
    # and its lecture-style layer list, from the same row
    layers = load("networks").cost_layers(load("networks").vgg_features(
        copy.VGG_CONFIGS["vgg8"]), networks.IMAGENET_CLASSIFIER)
    assert [layer["name"] for layer in layers] == [
        "conv1_1", "pool1", "conv2_1", "pool2", "conv3_1", "pool3", "conv4_1", "pool4",
        "conv5_1", "pool5", "flatten", "fc6", "fc7", "fc8"]


def test_a_new_resnet_depth_is_one_row(copied_solutions):
    folder, load = copied_solutions
    add_row(folder, '"resnet18":', '    "resnet10": ("basic", [1, 1, 1, 1]),')
    copy = load("cnn_architectures")
    with torch.device("meta"):
        net = copy.resnet("resnet10")
        assert net(torch.empty(2, 3, 224, 224)).shape == (2, 1000)
    assert [len(getattr(net, f"layer{i}")) for i in range(1, 5)] == [1, 1, 1, 1]
    # ResNet-18 less the second (identity) BasicBlock of each stage: two 3x3 convs without
    # bias and two batch norms (2C each) per block.
    second_blocks = sum(2 * (c * c * 9) + 2 * (2 * c) for c in (64, 128, 256, 512))
    assert param_count(net) == PUBLISHED_PARAMS["resnet18"][2] - second_blocks


@pytest.mark.parametrize("name", PUBLISHED_PARAMS)
def test_the_real_rows_keep_torchvisions_counts_beside_a_new_row(copied_solutions, name):
    folder, load = copied_solutions
    add_row(folder, '"vgg11":', '    "vgg8": [64, "M", 128, "M", 256, "M", 512, "M", 512, "M"],')
    add_row(folder, '"resnet18":', '    "resnet10": ("basic", [1, 1, 1, 1]),')
    builder, kwargs, published = PUBLISHED_PARAMS[name]
    with torch.device("meta"):
        net = getattr(load("cnn_architectures"), builder.__name__)(**kwargs)
    assert param_count(net) == published


def cnnlab_in(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`cnnlab ARGS` run with the copied solutions/ in `folder` ahead of the real one (the
    CLI itself is the installed, real one)."""
    env = {**os.environ, "PYTHONPATH": str(folder)}
    return subprocess.run([sys.executable, "-m", "cnnlab", *args], env=env, cwd=folder,
                          capture_output=True, text=True, timeout=120)


def test_a_new_depth_reaches_cnnlab_costs(copied_solutions):
    """A row in networks.py is a model of `cnnlab costs` (its help, its name and its _bn
    variant), costed as the row says, with no edit of solutions/module_costs.py."""
    folder, _ = copied_solutions
    add_row(folder, '"vgg11":', '    "vgg8": [64, "M", 128, "M", 256, "M", 512, "M", 512, "M"],')
    add_row(folder, '"resnet18":', '    "resnet10": ("basic", [1, 1, 1, 1]),')
    help_text = " ".join(cnnlab_in(folder.parent, "costs", "--help").stdout.split())
    assert "vgg11, vgg8, vgg13," in help_text and "vgg11_bn, vgg8_bn, vgg13_bn" in help_text
    assert "googlenet_stem, resnet18, resnet10, resnet34" in help_text

    def report(*args):
        done = cnnlab_in(folder.parent, "costs", *args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    vgg8 = report("VGG-8", "--input", "3,32,32")
    assert vgg8["model"] == "vgg8" and vgg8["input_shape"] == [3, 32, 32]
    convs = [r for r in vgg8["rows"] if r["type"] == "conv"]
    assert [r["output_shape"] for r in convs] == [
        [64, 32, 32], [128, 16, 16], [256, 8, 8], [512, 4, 4], [512, 2, 2]]
    assert [r["params"] for r in convs] == [conv(3, 64, 3), conv(64, 128, 3),
                                            conv(128, 256, 3), conv(256, 512, 3),
                                            conv(512, 512, 3)]
    head = (512 * 7 * 7 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert vgg8["totals"]["params"] == sum(r["params"] for r in convs) + head
    bn = report("vgg8_bn", "--input", "3,32,32")
    # five batch norms of 2C each
    assert bn["totals"]["params"] - vgg8["totals"]["params"] == 2 * (64 + 128 + 256 + 512 + 512)
    second_blocks = sum(2 * (c * c * 9) + 2 * (2 * c) for c in (64, 128, 256, 512))
    assert report("resnet10", "--input", "3,64,64")["totals"]["params"] == \
        PUBLISHED_PARAMS["resnet18"][2] - second_blocks


# The lecture's tables, written out here as independent truth (the lecture's slides: AlexNet
# conv1 64 filters 11x11 stride 4 pad 2, max pools 3x3 stride 2, ...).
LENET5_LECTURE = [
    {"type": "conv", "name": "conv1", "out_channels": 20, "kernel": 5, "padding": 2},
    {"type": "pool", "name": "pool1", "kernel": 2, "stride": 2},
    {"type": "conv", "name": "conv2", "out_channels": 50, "kernel": 5, "padding": 2},
    {"type": "pool", "name": "pool2", "kernel": 2, "stride": 2},
    {"type": "flatten", "name": "flatten"},
    {"type": "fc", "name": "fc1", "out_features": 500},
    {"type": "fc", "name": "fc2", "out_features": 10},
]
ALEXNET_LECTURE = [
    {"type": "conv", "name": "conv1", "out_channels": 64, "kernel": 11, "stride": 4, "padding": 2},
    {"type": "pool", "name": "pool1", "kernel": 3, "stride": 2},
    {"type": "conv", "name": "conv2", "out_channels": 192, "kernel": 5, "padding": 2},
    {"type": "pool", "name": "pool2", "kernel": 3, "stride": 2},
    {"type": "conv", "name": "conv3", "out_channels": 384, "kernel": 3, "padding": 1},
    {"type": "conv", "name": "conv4", "out_channels": 256, "kernel": 3, "padding": 1},
    {"type": "conv", "name": "conv5", "out_channels": 256, "kernel": 3, "padding": 1},
    {"type": "pool", "name": "pool5", "kernel": 3, "stride": 2},
    {"type": "flatten", "name": "flatten"},
    {"type": "fc", "name": "fc6", "out_features": 4096},
    {"type": "fc", "name": "fc7", "out_features": 4096},
    {"type": "fc", "name": "fc8", "out_features": 1000},
]
# VGG-16: 3x3 convs with padding 1 (conv<stage>_<i>: width), a 2x2 max pool of stride 2
# closing each of the five stages, then fc6-fc8.
VGG16_STAGES = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]
VGG16_LECTURE = [
    layer for stage, (width, convs) in enumerate(VGG16_STAGES, 1) for layer in [
        *({"type": "conv", "name": f"conv{stage}_{i}", "out_channels": width, "kernel": 3,
           "padding": 1} for i in range(1, convs + 1)),
        {"type": "pool", "name": f"pool{stage}", "kernel": 2, "stride": 2}]
] + ALEXNET_LECTURE[-4:]


@pytest.mark.parametrize("net, lecture, input_shape", [
    ("LENET5", LENET5_LECTURE, (1, 28, 28)),
    ("ALEXNET", ALEXNET_LECTURE, (3, 227, 227)),
    ("VGG16", VGG16_LECTURE, (3, 224, 224)),
])
def test_the_derived_layer_lists_are_the_lectures(net, lecture, input_shape):
    derived = getattr(networks, f"{net}_LAYERS")
    # The keys in the lecture's order too: the lists are printed (feedback, docs).
    assert [list(layer.items()) for layer in derived] == [list(layer.items()) for layer in lecture]
    assert getattr(networks, f"{net}_INPUT") == input_shape


def linear_widths(module: nn.Module) -> list[int]:
    return [m.out_features for m in module.modules() if isinstance(m, nn.Linear)]


def test_the_modules_heads_are_the_tables_classifiers():
    """torchvision's heads stay literal nn.Sequentials in the modules (their dropouts and
    ReLUs beside them); their widths are the classifiers the lecture's tables name."""
    with torch.device("meta"):
        assert linear_widths(arch.AlexNet()) == [w for _, w in networks.IMAGENET_CLASSIFIER]
        assert linear_widths(arch.vgg16()) == [w for _, w in networks.IMAGENET_CLASSIFIER]
        assert linear_widths(arch.lenet5()) == [w for _, w in networks.LENET5_CLASSIFIER]


def test_the_features_are_the_tables_rows():
    for net, table in ((arch.AlexNet().features, networks.ALEXNET_FEATURES),
                       (arch.lenet5(), networks.LENET5_FEATURES)):
        layers = [m for m in net if isinstance(m, (nn.Conv2d, nn.MaxPool2d))]
        assert len(layers) == len(table)
        for module, (name, spec) in zip(layers, table):
            if isinstance(spec, networks.Pool):
                assert (module.kernel_size, module.stride) == (spec.kernel, spec.stride), name
            else:
                assert (module.out_channels, module.kernel_size, module.stride,
                        module.padding) == (spec.out_channels, (spec.kernel,) * 2,
                                            (spec.stride,) * 2, (spec.padding,) * 2), name


@pytest.mark.parametrize("kind, block", [("basic", arch.BasicBlock),
                                         ("bottleneck", arch.Bottleneck)])
@pytest.mark.parametrize("in_channels, width, stride", [
    (64, 64, 1), (64, 128, 2), (256, 64, 1), (64, 64, 2), (512, 128, 1), (32, 64, 1)])
def test_the_quizzes_block_rule_is_the_modules(kind, block, in_channels, width, stride):
    """residual_block_convs (what the quizzes draw) conv by conv against the real block."""
    main, shortcut = networks.residual_block_convs(kind, in_channels, width, stride)
    with torch.device("meta"):
        real = block(in_channels, width, stride)

    def described(m: nn.Conv2d, name: str) -> dict:
        return {"type": "conv", "name": name, "out_channels": m.out_channels,
                "kernel": m.kernel_size[0], "stride": m.stride[0], "padding": m.padding[0],
                "bias": m.bias is not None}
    assert main == [described(getattr(real, c["name"]), c["name"]) for c in main]
    assert block.expansion == networks.EXPANSION[kind]
    if real.downsample is None:
        assert shortcut == []
    else:
        assert shortcut == [described(real.downsample[0], "downsample")]


def test_the_reference_source_is_self_contained():
    """What a notebook cell (and a source mutant) gets: the networks' rows inlined, no
    import of solutions, the same modules."""
    source = self_contained_source("cnn_architectures")
    assert "from solutions" not in source and "import solutions" not in source
    assert '"vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",' \
        in source
    module = types.ModuleType("student_cnn_architectures")
    exec(compile(source, "<cell>", "exec"), module.__dict__)
    with torch.device("meta"):
        for name in ("AlexNet", "vgg16", "resnet50", "lenet5"):
            got, want = getattr(module, name)(), getattr(arch, name)()
            assert {k: v.shape for k, v in got.state_dict().items()} == \
                {k: v.shape for k, v in want.state_dict().items()}
    # cnn_costs runs as a notebook cell in a sandbox (hostile catalogue): nothing to inline
    assert self_contained_source("cnn_costs") == (ROOT / "solutions" / "cnn_costs.py").read_text()


@pytest.mark.parametrize("kind, depth", [("basic", "resnet18"), ("bottleneck", "resnet50")])
def test_the_quizzes_resnet_stages_are_the_modules(kind, depth):
    """quizzes.templates.STAGES (what stage_shape draws): the first block of each of the
    real ResNet's four stages, as (in_channels, width, stride)."""
    from quizzes.templates import STAGES
    with torch.device("meta"):
        net = arch.resnet(depth)
    first = [getattr(net, f"layer{i}")[0] for i in range(1, 5)]
    assert STAGES[kind] == [(b.conv1.in_channels, b.conv1.out_channels,
                             (b.conv1 if kind == "basic" else b.conv2).stride[0])
                            for b in first]
