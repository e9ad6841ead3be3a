"""solutions.cnn_architectures against torchvision's published figures and layout: parameter
counts, state_dict keys and shapes, output shapes, and the ResNet blocks' wiring. The big
models are built on the meta device, which allocates nothing."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from solutions import cnn_architectures as arch

# torchvision's published parameter counts at 1000 classes (its model docs / weights meta).
# A new builder gets its test by getting a row here.
PUBLISHED_PARAMS = {
    "alexnet": (arch.AlexNet, {}, 61_100_840),
    "vgg11": (arch.vgg11, {}, 132_863_336),
    "vgg11_bn": (arch.vgg11, {"batch_norm": True}, 132_868_840),
    "vgg13": (arch.vgg13, {}, 133_047_848),
    "vgg13_bn": (arch.vgg13, {"batch_norm": True}, 133_053_736),
    "vgg16": (arch.vgg16, {}, 138_357_544),
    "vgg16_bn": (arch.vgg16, {"batch_norm": True}, 138_365_992),
    "vgg19": (arch.vgg19, {}, 143_667_240),
    "vgg19_bn": (arch.vgg19, {"batch_norm": True}, 143_678_248),
    "resnet18": (arch.resnet18, {}, 11_689_512),
    "resnet34": (arch.resnet34, {}, 21_797_672),
    "resnet50": (arch.resnet50, {}, 25_557_032),
    "resnet101": (arch.resnet101, {}, 44_549_160),
    "resnet152": (arch.resnet152, {}, 60_192_808),
}


def on_meta(name, **kwargs):
    builder, defaults, _ = PUBLISHED_PARAMS[name]
    with torch.device("meta"):
        return builder(**{**defaults, **kwargs})


def shapes(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", PUBLISHED_PARAMS)
def test_parameter_count_matches_torchvision(name):
    model = on_meta(name)
    assert sum(p.numel() for p in model.parameters()) == PUBLISHED_PARAMS[name][2]


def test_vgg_configs_are_the_four_depths():
    assert set(arch.VGG_CONFIGS) == {"vgg11", "vgg13", "vgg16", "vgg19"}
    for name, config in arch.VGG_CONFIGS.items():
        convs = sum(1 for v in config if v != "M")
        assert convs + 3 == int(name[3:])  # conv layers + 3 fully connected = the depth
        assert config.count("M") == 5


# ------------------------------------------------------------------ torchvision's layout

def test_alexnet_state_dict_is_torchvision_layout():
    sd = shapes(on_meta("alexnet"))
    expected = {
        "features.0": (64, 3, 11, 11), "features.3": (192, 64, 5, 5),
        "features.6": (384, 192, 3, 3), "features.8": (256, 384, 3, 3),
        "features.10": (256, 256, 3, 3), "classifier.1": (4096, 9216),
        "classifier.4": (4096, 4096), "classifier.6": (1000, 4096),
    }
    want = {}
    for prefix, weight in expected.items():
        want[f"{prefix}.weight"] = weight
        want[f"{prefix}.bias"] = (weight[0],)
    assert sd == want


def test_vgg16_state_dict_is_torchvision_layout():
    sd = shapes(on_meta("vgg16"))
    conv_indices = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
    assert {k for k in sd if k.startswith("features.")} == {
        f"features.{i}.{p}" for i in conv_indices for p in ("weight", "bias")}
    assert sd["features.0.weight"] == (64, 3, 3, 3)
    assert sd["features.28.weight"] == (512, 512, 3, 3)
    assert sd["classifier.0.weight"] == (4096, 25088)
    assert sd["classifier.3.weight"] == (4096, 4096)
    assert sd["classifier.6.weight"] == (1000, 4096)
    assert len(sd) == 2 * (13 + 3)


def test_vgg16_bn_state_dict_is_torchvision_layout():
    sd = shapes(on_meta("vgg16_bn"))
    assert sd["features.0.weight"] == (64, 3, 3, 3)
    for key in ("weight", "bias", "running_mean", "running_var"):
        assert sd[f"features.1.{key}"] == (64,)
    assert sd["features.1.num_batches_tracked"] == ()
    assert sd["features.40.weight"] == (512, 512, 3, 3)  # last conv
    assert sd["features.41.running_var"] == (512,)
    assert sd["classifier.0.weight"] == (4096, 25088)
    # 13 convs x 2 + 13 BNs x 5 + 3 linears x 2
    assert len(sd) == 26 + 65 + 6


def test_resnet18_state_dict_is_torchvision_layout():
    sd = shapes(on_meta("resnet18"))
    assert sd["conv1.weight"] == (64, 3, 7, 7)
    assert "conv1.bias" not in sd
    assert sd["layer1.0.conv1.weight"] == (64, 64, 3, 3)
    assert sd["layer2.0.conv1.weight"] == (128, 64, 3, 3)
    assert sd["layer2.0.downsample.0.weight"] == (128, 64, 1, 1)
    assert sd["layer2.0.downsample.1.running_mean"] == (128,)
    assert sd["layer4.1.conv2.weight"] == (512, 512, 3, 3)
    assert sd["fc.weight"] == (1000, 512)
    assert not any(k.startswith("layer1.0.downsample") for k in sd)
    assert not any(k.startswith("layer2.1.downsample") for k in sd)
    # 62 parameter tensors (stem 3, 8 blocks x 6, 3 projections x 3, fc 2) and 20 BNs
    # (1 + 8 x 2 + 3) x 3 buffers incl. num_batches_tracked = 62 + 60.
    assert len(sd) == 122


def test_resnet50_state_dict_is_torchvision_layout():
    sd = shapes(on_meta("resnet50"))
    assert sd["layer1.0.conv1.weight"] == (64, 64, 1, 1)
    assert sd["layer1.0.conv3.weight"] == (256, 64, 1, 1)
    assert sd["layer1.0.downsample.0.weight"] == (256, 64, 1, 1)
    assert sd["layer1.1.conv1.weight"] == (64, 256, 1, 1)
    assert sd["layer2.0.conv1.weight"] == (128, 256, 1, 1)
    assert sd["layer2.0.conv2.weight"] == (128, 128, 3, 3)
    assert sd["layer2.0.downsample.0.weight"] == (512, 256, 1, 1)
    assert sd["layer4.2.bn3.running_var"] == (2048,)
    assert sd["fc.weight"] == (1000, 2048)
    assert not any(k.startswith("layer1.1.downsample") for k in sd)
    # 53 convs (1 + 16 x 3 + 4), 53 BNs x (2 params + 3 buffers), fc 2: 53 + 265 + 2.
    assert len(sd) == 320


def test_state_dict_loads_across_instances_and_outputs_agree_in_eval():
    torch.manual_seed(0)
    a, b = arch.resnet18(num_classes=10), arch.resnet18(num_classes=10)
    b.load_state_dict(a.state_dict(), strict=True)
    a.eval(), b.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out = a(x)
        assert torch.equal(out, a(x))      # eval mode is deterministic
        assert torch.equal(out, b(x))      # same weights, same output


def test_eval_mode_alexnet_deterministic_and_train_mode_not():
    torch.manual_seed(0)
    for model in (arch.AlexNet(num_classes=5),):
        model.eval()
        x = torch.randn(1, 3, 64, 64)
        with torch.no_grad():
            assert torch.equal(model(x), model(x))
        model.train()
        with torch.no_grad():  # dropout is live in training mode
            assert not torch.equal(model(x), model(x))


# --------------------------------------------------------------------------- output shapes

@pytest.mark.parametrize("builder", [arch.resnet18, arch.resnet50])
def test_resnet_output_shape_on_cpu(builder):
    model = builder(num_classes=10).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 10)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "vgg16", "vgg16_bn", "vgg19", "resnet152"])
def test_output_shape_at_224_on_meta(name):
    model = on_meta(name, num_classes=10)
    assert model(torch.empty(2, 3, 224, 224, device="meta")).shape == (2, 10)


def test_alexnet_feature_map_shape_at_224():
    model = on_meta("alexnet")
    assert model.features(torch.empty(1, 3, 224, 224, device="meta")).shape == (1, 256, 6, 6)


# ------------------------------------------------------------------------------ the blocks

@pytest.mark.parametrize("block, cin, width, stride, projects", [
    (arch.BasicBlock, 64, 64, 1, False),
    (arch.BasicBlock, 64, 128, 2, True),
    (arch.BasicBlock, 64, 128, 1, True),    # channels change: projection at stride 1
    (arch.BasicBlock, 64, 64, 2, True),     # size changes: projection at equal channels
    (arch.Bottleneck, 64, 64, 1, True),     # 64 -> 256 channels
    (arch.Bottleneck, 256, 64, 1, False),
    (arch.Bottleneck, 256, 128, 2, True),
    (arch.Bottleneck, 512, 128, 1, False),
])
@pytest.mark.parametrize("size", [8, 9])
def test_block_output_shape_and_projection(block, cin, width, stride, projects, size):
    torch.manual_seed(0)
    b = block(cin, width, stride).eval()
    cout = width * block.expansion
    assert (b.downsample is None) == (stride == 1 and cin == cout)
    assert (b.downsample is not None) == projects
    with torch.no_grad():
        out = b(torch.randn(2, cin, size, size))
    # torch's own 3x3/pad-1 conv at this stride sets the size
    side = nn.Conv2d(1, 1, 3, stride=stride, padding=1)(torch.zeros(1, 1, size, size)).shape[-1]
    assert out.shape == (2, cout, side, side)
    assert (out >= 0).all()  # the final ReLU


def test_expansion_values():
    assert arch.BasicBlock.expansion == 1
    assert arch.Bottleneck.expansion == 4


def test_bottleneck_stride_is_on_the_3x3_conv():
    b = arch.Bottleneck(256, 128, stride=2)
    assert b.conv1.stride == (1, 1) and b.conv1.kernel_size == (1, 1)
    assert b.conv2.stride == (2, 2) and b.conv2.kernel_size == (3, 3)
    assert b.conv3.stride == (1, 1) and b.conv3.kernel_size == (1, 1)
    assert b.downsample[0].stride == (2, 2)
    assert b.conv3.out_channels == 512


def test_basic_block_stride_is_on_the_first_conv():
    b = arch.BasicBlock(64, 128, stride=2)
    assert b.conv1.stride == (2, 2)
    assert b.conv2.stride == (1, 1)


def test_basic_block_adds_the_identity():
    # With stride 1 and equal channels the block is relu(bn2(conv2(relu(bn1(conv1 x)))) + x).
    torch.manual_seed(0)
    b = arch.BasicBlock(8, 8).eval()
    for bn in (b.bn1, b.bn2):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(3, 8, 6, 6)
    with torch.no_grad():
        f = torch.nn.functional
        h = f.relu(f.batch_norm(f.conv2d(x, b.conv1.weight, padding=1), b.bn1.running_mean,
                                b.bn1.running_var, b.bn1.weight, b.bn1.bias, eps=b.bn1.eps))
        h = f.batch_norm(f.conv2d(h, b.conv2.weight, padding=1), b.bn2.running_mean,
                         b.bn2.running_var, b.bn2.weight, b.bn2.bias, eps=b.bn2.eps)
        torch.testing.assert_close(b(x), f.relu(h + x))
