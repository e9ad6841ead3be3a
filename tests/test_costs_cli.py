"""`cnnlab costs`: the cost table against independent truth.

Shapes are checked against a real forward pass on the CPU (torch's own kernels, batch 2,
hooks on every counted layer); params against sum(p.numel()) and torchvision's published
counts; the AlexNet rows against the lecture's worked example in solutions.networks. Every
registered model is tested by being registered (parametrized over
solutions.module_costs.MODELS).
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from cli_asserts import one_line_error
from cnnlab.cli import main
from solutions import cnn_costs, module_costs, networks

ROOT = Path(__file__).resolve().parent.parent

# A small input per model where the network allows one, so the real forward stays cheap.
# LeNet-5's fc1 fixes its input at 28x28; AlexNet needs at least 63x63.
SMALL_INPUT = {"lenet5": (1, 28, 28), "alexnet": (3, 67, 67), "googlenet_stem": (3, 64, 64)}
SMALL_INPUT.update({name: (3, 32, 32) for name in module_costs.MODELS
                    if name.startswith("vgg")})
SMALL_INPUT.update({name: (3, 64, 64) for name in module_costs.MODELS
                    if name.startswith("resnet")})

COUNTED = (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
           nn.Flatten, nn.Linear)

PUBLISHED_PARAMS = {"alexnet": 61_100_840, "vgg16": 138_357_544, "resnet18": 11_689_512,
                    "resnet50": 25_557_032}


def real_forward(model: str, shape: tuple) -> tuple[list, list, int]:
    """(name, output shape) per counted layer and (name, input shape) per Linear, from a real
    CPU forward at batch 2, plus the module's parameter count. The module is allocated with
    torch's own meta -> to_empty, so building VGG does not draw 100M random numbers; the
    values are garbage, the shapes are torch's."""
    with torch.device("meta"):
        net = module_costs.build_model(model)
    net = net.to_empty(device="cpu").eval()
    outputs, linear_inputs = [], []
    for name, module in net.named_modules():
        if isinstance(module, COUNTED):
            def hook(m, i, o, name=name):
                outputs.append((name, tuple(o.shape)))
                if isinstance(m, nn.Linear):
                    linear_inputs.append((name, tuple(i[0].shape)))
            module.register_forward_hook(hook)
    with torch.no_grad():
        net(torch.zeros((2, *shape)))
    return outputs, linear_inputs, sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("model", list(module_costs.MODELS))
def test_rows_match_a_real_forward_pass(model):
    shape = SMALL_INPUT[model]
    outputs, linear_inputs, numel = real_forward(model, shape)
    rows = module_costs.cost_rows(model, shape)

    hooked = {name for name, _ in outputs}
    # Every row but the one for the functional torch.flatten is a module torch ran.
    assert [(n, s[1:]) for n, s in outputs] == [(r["name"], r["output_shape"]) for r in rows
                                                 if r["name"] in hooked]
    assert [r["type"] for r in rows if r["name"] not in hooked] in ([], ["flatten"])
    assert sum(r["params"] for r in rows) == numel

    # The functional torch.flatten gets a row right before the first Linear, with the shape
    # that Linear really receives.
    if linear_inputs:
        first_fc = linear_inputs[0][0]
        index = [r["name"] for r in rows].index(first_fc)
        assert rows[index - 1]["type"] == "flatten"
        assert rows[index - 1]["output_shape"] == linear_inputs[0][1][1:]
        assert rows[index - 1]["params"] == rows[index - 1]["flops"] == 0
        assert sum(r["type"] == "flatten" for r in rows) == 1


@pytest.mark.parametrize("model", ["resnet18", "resnet50", "vgg11_bn", "alexnet"])
def test_rows_follow_the_order_torch_runs_the_layers(model):
    # Forward pre-hooks record the order in which torch starts each counted layer (a
    # different hook from the rows' own); the rows must list the layers in that order. For
    # ResNet this is the reference's forward, shortcut and main branch as it runs them.
    shape = SMALL_INPUT[model]
    with torch.device("meta"):
        net = module_costs.build_model(model)
    net = net.to_empty(device="cpu").eval()
    started = []
    for name, module in net.named_modules():
        if isinstance(module, COUNTED):
            module.register_forward_pre_hook(lambda m, i, name=name: started.append(name))
    with torch.no_grad():
        net(torch.zeros((1, *shape)))
    rows = [r["name"] for r in module_costs.cost_rows(model, shape) if r["type"] != "flatten"]
    assert rows == started
    if model.startswith("resnet"):
        # Every block's layers come together, block after block, as torch runs them.
        blocks = [n.rsplit(".", 2)[0] if ".downsample." in n else n.rsplit(".", 1)[0]
                  for n in rows if n.startswith("layer")]
        assert blocks == sorted(blocks, key=lambda b: tuple(map(int, b[5:].split("."))))
        # torchvision's BasicBlock/Bottleneck.forward run the main branch, then the
        # downsample (torchinfo lists them so): a block's shortcut rows come last.
        for block in sorted(set(blocks)):
            mine = [n[len(block) + 1:] for n in rows if n.startswith(block + ".")]
            if any(n.startswith("downsample") for n in mine):
                last_bn = "bn3" if "bn3" in mine else "bn2"
                assert mine.index("downsample.0") == mine.index(last_bn) + 1, (block, mine)


@pytest.mark.parametrize("given, registered", [
    ("VGG16", "vgg16"), ("vgg-16", "vgg16"), ("Vgg_16", "vgg16"), ("ResNet50", "resnet50"),
    ("resnet_18", "resnet18"), ("VGG16_BN", "vgg16_bn"), ("vgg16-bn", "vgg16_bn"),
    ("LeNet-5", "lenet5"), ("GoogLeNet-Stem", "googlenet_stem"), ("AlexNet", "alexnet")])
def test_model_names_in_any_case(given, registered, capsys):
    shape = SMALL_INPUT[registered]
    assert main(["costs", given, "--input", ",".join(map(str, shape)), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == registered
    assert report["totals"]["params"] == real_forward(registered, shape)[2]


@pytest.mark.parametrize("typo, nearest", [
    ("resnt50", "resnet50"), ("alexnett", "alexnet"), ("lenet", "lenet5"),
    ("googlenet", "googlenet_stem"), ("vgg16bnn", "vgg16_bn"), ("ResNet-151", "resnet152"),
    ("resnet9", "resnet18")])
def test_unknown_model_suggests_the_nearest(typo, nearest, capsys):
    assert main(["costs", typo]) == 2
    captured = one_line_error(capsys, "cnnlab costs: error:", f"unknown model {typo!r}",
                              "did you mean")
    suggested = captured.err.split("did you mean", 1)[1].split("?", 1)[0]
    assert nearest in suggested.replace(",", " ").split()


def test_unknown_model_far_from_all_has_no_suggestion(capsys):
    assert main(["costs", "inception_v3"]) == 2
    captured = one_line_error(capsys, "unknown model 'inception_v3'", "accepted")
    assert "did you mean" not in captured.err


def test_module_rows_follow_a_hand_changed_network():
    # ResNet-50 with the original paper's stride placement (stride 2 on a bottleneck's first
    # 1x1 conv), as docs_tools/lecture_errata.py builds it: the rows must follow the changed
    # module, checked against the input shapes a real forward gives each conv.
    from solutions import cnn_architectures

    net = cnn_architectures.resnet50()
    moved = []
    for name, block in net.named_modules():
        if isinstance(block, cnn_architectures.Bottleneck) and block.conv2.stride == (2, 2):
            block.conv1.stride, block.conv2.stride = (2, 2), (1, 1)
            moved.append(f"{name}.conv1")
    assert len(moved) == 3
    conv_inputs = {}
    handles = [m.register_forward_hook(
                   lambda m, i, o, name=name: conv_inputs.update({name: tuple(i[0].shape[1:])}))
               for name, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        net.eval()(torch.zeros((1, 3, 64, 64)))
    for handle in handles:
        handle.remove()

    rows = {r["name"]: r for r in module_costs.module_rows(net, (3, 64, 64))}
    assert not any(m._forward_hooks for m in net.modules()), "module_rows left hooks behind"
    for name in moved:
        c, h, w = conv_inputs[name]
        conv = net.get_submodule(name)
        assert rows[name]["flops"] == cnn_costs.conv_flops(c, h, w, conv.out_channels, 1, 2, 0)
        assert rows[name]["output_shape"] == (conv.out_channels, h // 2, w // 2)
    assert sum(r["params"] for r in rows.values()) == sum(p.numel() for p in net.parameters())
    assert (sum(r["flops"] for r in rows.values())
            < sum(r["flops"] for r in module_costs.cost_rows("resnet50", (3, 64, 64))))


@pytest.mark.parametrize("model", list(module_costs.MODELS))
def test_row_costs_follow_the_formulas(model):
    shape = SMALL_INPUT[model]
    rows = module_costs.cost_rows(model, shape)
    assert {r["type"] for r in rows} <= set(module_costs.ROW_TYPES)
    for r in rows:
        n = 1
        for d in r["output_shape"]:
            n *= d
        assert r["memory_kb"] == cnn_costs.memory_kb(n)
        if r["type"] == "batchnorm":
            assert r["params"] == 2 * r["output_shape"][0]
            assert r["flops"] == n
        if r["type"] in ("pool", "flatten"):
            assert r["params"] == 0


@pytest.mark.parametrize("model, count", sorted(PUBLISHED_PARAMS.items()))
def test_total_params_match_torchvision(model, count):
    assert module_costs.cost_report(model)["totals"]["params"] == count


def test_alexnet_rows_equal_the_lecture_worked_example():
    report = module_costs.cost_report("alexnet")
    assert report["input_shape"] == [3, 227, 227]
    by_name = {r["name"]: r for r in report["rows"]}
    lecture = {r["name"]: r for r in cnn_costs.cost_table(networks.ALEXNET_INPUT,
                                                           networks.ALEXNET_LAYERS)}
    module_path = {"conv1": "features.0", "pool1": "features.2", "conv2": "features.3",
                   "pool2": "features.5", "conv3": "features.6", "conv4": "features.8",
                   "conv5": "features.10", "pool5": "features.12", "flatten": "flatten",
                   "fc6": "classifier.1", "fc7": "classifier.4", "fc8": "classifier.6"}
    assert by_name["features.0"]["output_shape"] == [64, 56, 56]
    for name, path in module_path.items():
        mine, theirs = by_name[path], lecture[name]
        assert mine["type"] == theirs["type"], name
        assert tuple(mine["output_shape"]) == theirs["output_shape"], name
        for field in ("memory_kb", "params", "flops"):
            assert mine[field] == theirs[field], (name, field)
    # The only row the lecture's table lacks: torchvision's adaptive pool, 6x6 -> 6x6.
    assert set(by_name) - set(module_path.values()) == {"avgpool"}


def test_adaptive_pool_flops():
    # Divisible: an ordinary pool with kernel = stride = in // out.
    rows = {r["name"]: r for r in module_costs.cost_rows("resnet50", (3, 64, 64))}
    assert rows["avgpool"]["flops"] == cnn_costs.pool_flops(2048, 2, 2, 2)
    # 1x1 -> 7x7 (VGG at 32x32): 49 windows of one element each.
    rows = {r["name"]: r for r in module_costs.cost_rows("vgg11", (3, 32, 32))}
    assert rows["avgpool"]["output_shape"] == (512, 7, 7)
    assert rows["avgpool"]["flops"] == 512 * 49
    # Not divisible, 5 -> 3: windows [0,2), [1,4), [3,5) read 2 + 3 + 2 = 7 per dimension.
    assert module_costs._adaptive_pool_flops(4, (5, 5), (3, 3)) == 4 * 7 * 7


@pytest.mark.parametrize("model, shape", [("lenet5", None), ("alexnet", None),
                                          ("resnet18", (3, 64, 64)),
                                          ("vgg11_bn", (3, 32, 32))])
def test_meta_device_gives_the_same_rows(model, shape):
    assert (module_costs.cost_rows(model, shape, device="meta")
            == module_costs.cost_rows(model, shape))


def test_json_output_follows_the_contract(capsys):
    assert main(["costs", "resnet18", "--input", "3,64,64", "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    assert set(report) == {"model", "input_shape", "rows", "totals"}
    assert report["model"] == "resnet18"
    assert report["input_shape"] == [3, 64, 64]
    assert report["rows"][0]["name"] == "conv1"
    assert "layer1.0.conv1" in [r["name"] for r in report["rows"]]
    assert "layer2.0.downsample.0" in [r["name"] for r in report["rows"]]
    for row in report["rows"]:
        assert set(row) == {"name", "type", "output_shape", "memory_kb", "params", "flops"}
        assert isinstance(row["name"], str) and row["type"] in module_costs.ROW_TYPES
        assert all(isinstance(d, int) and d > 0 for d in row["output_shape"])
        assert isinstance(row["memory_kb"], float)
        assert isinstance(row["params"], int) and isinstance(row["flops"], int)
    totals = report["totals"]
    assert set(totals) == {"params", "flops", "memory_kb"}
    assert totals["params"] == sum(r["params"] for r in report["rows"]) == 11_689_512
    assert totals["flops"] == sum(r["flops"] for r in report["rows"])
    assert totals["memory_kb"] == pytest.approx(sum(r["memory_kb"] for r in report["rows"]))


def test_table_output(capsys):
    assert main(["costs", "alexnet"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("Layer"))
    assert header.split() == ["Layer", "Type", "Output", "shape", "Memory", "KB", "Params",
                              "FLOPs"]
    assert "features.0" in out and "64x56x56" in out and "23,296" in out
    assert "61,100,840" in out and " MB" in out and "total" in out


@pytest.mark.parametrize("argv", [
    ["costs", "resnet9"],
    ["costs", "alexnet", "--input", "3,224"],
    ["costs", "alexnet", "--input", "a,b,c"],
    ["costs", "alexnet", "--input", "3,0,224"],
    ["costs", "alexnet", "--input", "3,-5,224"],
    ["costs", "alexnet", "--input", "3,2.5,224"],
    ["costs", "vgg16", "--input", "3,8,8"],           # too small for five 2x2 pools
    ["costs", "alexnet", "--input", "3,32,32"],       # too small for AlexNet's pools
    ["costs", "lenet5", "--input", "1,32,32"],        # fc1 needs exactly 50x7x7
    ["costs", "resnet18", "--input", "1,224,224"],    # wrong channels
    ["costs", "lenet5", "--plot", "/no/such/folder/x.png"],
    ["costs", "vgg16", "--per-layer"],                # only changes a --plot figure
    ["costs", "vgg16", "--group", "stage"],
])
def test_bad_input_is_one_line_and_exit_code_2(argv, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("cnnlab costs: error: ")
    assert "Traceback" not in captured.err


def test_unknown_model_lists_the_accepted_ones(capsys):
    assert main(["costs", "resnet9"]) == 2
    err = capsys.readouterr().err
    for name in module_costs.MODELS:
        assert name in err


def test_plot_writes_a_png(tmp_path, capsys):
    path = tmp_path / "costs.png"
    assert main(["costs", "lenet5", "--json", "--plot", str(path)]) == 0
    json.loads(capsys.readouterr().out)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000


def test_costs_path_imports_nothing_heavy():
    code = ("import sys\nfrom cnnlab.cli import main\nmain(['costs', 'lenet5', '--json'])\n"
            "heavy = [m for m in ('matplotlib', 'otter', 'hypothesis', 'torchvision') "
            "if m in sys.modules]\nassert not heavy, heavy\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_lecture_errata_doc_is_up_to_date():
    spec = importlib.util.spec_from_file_location("lecture_errata",
                                                  ROOT / "docs_tools" / "lecture_errata.py")
    errata = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(errata)
    doc = ROOT / "docs" / "lecture_errata.md"
    assert doc.read_text() == errata.render(), (
        "docs/lecture_errata.md is stale: run .venv/bin/python docs_tools/lecture_errata.py")
