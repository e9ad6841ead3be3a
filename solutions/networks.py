"""The lecture's networks as data: one table per family, written once, without torch.

`solutions.cnn_architectures` builds the nn.Modules from these tables and
`solutions.cnn_costs` derives the lecture's cost-table layer lists from them; the quizzes
draw residual blocks with the block rule below. A new VGG depth is a row of `VGG_CONFIGS`,
a new ResNet depth a row of `RESNET_DEPTHS` (the stages every depth has are
`RESNET_STAGES`): nothing else to edit.

torch is not imported here, so the cost tables and the quizzes stay cheap to import.
"""
from __future__ import annotations

from typing import NamedTuple


class Conv(NamedTuple):
    """A conv layer (followed by its ReLU in the modules), square kernel."""
    out_channels: int
    kernel: int
    stride: int = 1
    padding: int = 0


class Pool(NamedTuple):
    """A max pool."""
    kernel: int
    stride: int


# --- LeNet-5, as in the lecture: ReLU and max pooling on a 1 x 28 x 28 input --------------

LENET5_INPUT = (1, 28, 28)
LENET5_FEATURES = [
    ("conv1", Conv(20, kernel=5, padding=2)),                 # 20 x 28 x 28
    ("pool1", Pool(kernel=2, stride=2)),                      # 20 x 14 x 14
    ("conv2", Conv(50, kernel=5, padding=2)),                 # 50 x 14 x 14
    ("pool2", Pool(kernel=2, stride=2)),                      # 50 x 7 x 7
]
# Fully connected layers after the flatten, (name, out_features); the last one's is the
# number of classes (a builder's default).
LENET5_CLASSIFIER = [("fc1", 500), ("fc2", 10)]

# --- AlexNet, torchvision's variant (64-192-384-256-256) ----------------------------------

ALEXNET_INPUT = (3, 227, 227)  # the lecture's table; torchvision's 224 gives the same 6 x 6
ALEXNET_FEATURES = [                                          # output at a 227 x 227 input
    ("conv1", Conv(64, kernel=11, stride=4, padding=2)),      # 64 x 56 x 56
    ("pool1", Pool(kernel=3, stride=2)),                      # 64 x 27 x 27
    ("conv2", Conv(192, kernel=5, padding=2)),                # 192 x 27 x 27
    ("pool2", Pool(kernel=3, stride=2)),                      # 192 x 13 x 13
    ("conv3", Conv(384, kernel=3, padding=1)),                # 384 x 13 x 13
    ("conv4", Conv(256, kernel=3, padding=1)),                # 256 x 13 x 13
    ("conv5", Conv(256, kernel=3, padding=1)),                # 256 x 13 x 13
    ("pool5", Pool(kernel=3, stride=2)),                      # 256 x 6 x 6
]

# --- VGG: one row per depth --------------------------------------------------------------

# Ints are 3x3 conv widths (padding 1, so the size is kept); "M" halves the size.
VGG_CONFIGS: dict[str, list] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}
VGG16_INPUT = (3, 224, 224)

# The classifier AlexNet and VGG share, as the lecture's tables name its layers (the
# modules keep torchvision's literal nn.Sequential, with its dropouts and ReLUs).
IMAGENET_CLASSIFIER = [("fc6", 4096), ("fc7", 4096), ("fc8", 1000)]


def vgg_features(config: list) -> list[tuple[str, Conv | Pool]]:
    """A VGG row as named layers, numbered as the lecture's table: conv<stage>_<i>, and
    pool<stage> closing each stage."""
    layers, stage, index = [], 1, 1
    for v in config:
        if v == "M":
            layers.append((f"pool{stage}", Pool(kernel=2, stride=2)))
            stage, index = stage + 1, 1
        else:
            layers.append((f"conv{stage}_{index}", Conv(v, kernel=3, padding=1)))
            index += 1
    return layers


# --- ResNet: one row per depth, and the block rule ---------------------------------------

# Depth -> (block kind, blocks in each of the four stages).
RESNET_DEPTHS: dict[str, tuple[str, list[int]]] = {
    "resnet18": ("basic", [2, 2, 2, 2]),
    "resnet34": ("basic", [3, 4, 6, 3]),
    "resnet50": ("bottleneck", [3, 4, 6, 3]),
    "resnet101": ("bottleneck", [3, 4, 23, 3]),
    "resnet152": ("bottleneck", [3, 8, 36, 3]),
}

# Every depth's four stages, after a stem of RESNET_STEM_CHANNELS: (the stage's width, the
# stride of its first block).
RESNET_STEM_CHANNELS = 64
RESNET_STAGES = [(64, 1), (128, 2), (256, 2), (512, 2)]

# A block's output channels are its width times this: a BasicBlock keeps its width, a
# Bottleneck's last 1x1 conv expands it four times.
EXPANSION = {"basic": 1, "bottleneck": 4}


def needs_projection(in_channels: int, out_channels: int, stride: int) -> bool:
    """Whether a residual block's shortcut is a 1x1 projection: the identity only fits where
    the block keeps its input's shape, so a stride or a change of channels needs one."""
    return stride != 1 or in_channels != out_channels


def residual_block_convs(kind: str, in_channels: int, width: int,
                         stride: int) -> tuple[list[dict], list[dict]]:
    """(main path, shortcut) convs of a torchvision-style residual block, in cost_table's
    layer format (bias=False, padding k // 2); the stride goes on a BasicBlock's first 3x3
    conv and on a Bottleneck's 3x3 (its second conv); the shortcut is the 1x1 projection,
    empty where the identity fits."""
    def conv(cout, k, s, name):
        return {"type": "conv", "name": name, "out_channels": cout, "kernel": k,
                "stride": s, "padding": k // 2, "bias": False}
    out = width * EXPANSION[kind]
    if kind == "basic":
        main = [conv(width, 3, stride, "conv1"), conv(width, 3, 1, "conv2")]
    else:
        main = [conv(width, 1, 1, "conv1"), conv(width, 3, stride, "conv2"),
                conv(out, 1, 1, "conv3")]
    shortcut = [conv(out, 1, stride, "downsample")] if needs_projection(
        in_channels, out, stride) else []
    return main, shortcut


# --- in cost_table's layer format --------------------------------------------------------

def cost_layers(features: list[tuple[str, Conv | Pool]],
                classifier: list[tuple[str, int]]) -> list[dict]:
    """A family's named layers as `cost_table`'s list of dicts: the features, a flatten, the
    classifier's fully connected layers. Defaults (stride 1, padding 0) are left out, as the
    lecture's tables leave them out."""
    layers = []
    for name, spec in features:
        if isinstance(spec, Pool):
            layers.append({"type": "pool", "name": name, "kernel": spec.kernel,
                           "stride": spec.stride})
            continue
        layer = {"type": "conv", "name": name, "out_channels": spec.out_channels,
                 "kernel": spec.kernel}
        if spec.stride != 1:
            layer["stride"] = spec.stride
        if spec.padding:
            layer["padding"] = spec.padding
        layers.append(layer)
    layers.append({"type": "flatten", "name": "flatten"})
    layers += [{"type": "fc", "name": name, "out_features": width} for name, width in classifier]
    return layers


# The lecture's worked examples, as `cost_table` takes them.
LENET5_LAYERS = cost_layers(LENET5_FEATURES, LENET5_CLASSIFIER)
ALEXNET_LAYERS = cost_layers(ALEXNET_FEATURES, IMAGENET_CLASSIFIER)
VGG16_LAYERS = cost_layers(vgg_features(VGG_CONFIGS["vgg16"]), IMAGENET_CLASSIFIER)
