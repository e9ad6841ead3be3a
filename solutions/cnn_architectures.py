"""Reference AlexNet, VGG and ResNet, state_dict-compatible with torchvision's models.

Architectures are data, written once in solutions/networks.py (torch-free, so the cost
tables and the quizzes read the same tables): AlexNet's and LeNet-5's conv and pool layers,
one row of VGG_CONFIGS per VGG depth, one row of RESNET_DEPTHS per ResNet depth, and the
residual block rule (expansion, when the shortcut is a projection). One builder makes each
family. torchvision is not imported; the module paths, tensor shapes and initialisation
follow torchvision/models/{alexnet,vgg,resnet}.py. The lecture's LeNet-5 and GoogLeNet stem
are here too, for `cnnlab costs`.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from solutions.networks import (ALEXNET_FEATURES, EXPANSION, LENET5_CLASSIFIER,
                                LENET5_FEATURES, RESNET_DEPTHS, RESNET_STAGES,
                                RESNET_STEM_CHANNELS, VGG_CONFIGS, Pool, needs_projection)


def conv_pool_layers(table: list, in_channels: int,
                     inplace: bool = True) -> list[tuple[str, nn.Module]]:
    """A networks table's conv and max-pool rows as (name, module) pairs, each conv followed
    by its ReLU (named relu1, relu2, ... in order, as LeNet-5 names them)."""
    layers: list[tuple[str, nn.Module]] = []
    relus = 0
    for name, spec in table:
        if isinstance(spec, Pool):
            layers.append((name, nn.MaxPool2d(kernel_size=spec.kernel, stride=spec.stride)))
            continue
        relus += 1
        layers.append((name, nn.Conv2d(in_channels, spec.out_channels,
                                       kernel_size=spec.kernel, stride=spec.stride,
                                       padding=spec.padding)))
        layers.append((f"relu{relus}", nn.ReLU(inplace=inplace)))
        in_channels = spec.out_channels
    return layers


class AlexNet(nn.Module):
    """torchvision's variant (64-192-384-256-256), with an adaptive 6x6 average pool."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        # Numbered as torchvision's (features.0 is conv1, features.2 pool1, ...).
        self.features = nn.Sequential(*(m for _, m in conv_pool_layers(ALEXNET_FEATURES, 3)))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)                                      # N x 9216
        return self.classifier(x)


def make_vgg_features(config: list, batch_norm: bool = False) -> nn.Sequential:
    """A row of VGG_CONFIGS: ints are 3x3 conv widths (padding 1), "M" a 2x2 max pool."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, config: list, num_classes: int = 1000, batch_norm: bool = False,
                 dropout: float = 0.5):
        super().__init__()
        self.features = make_vgg_features(config, batch_norm)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)                                         # N x 512 x H/32 x W/32
        x = self.avgpool(x)                                          # N x 512 x 7 x 7
        x = torch.flatten(x, 1)
        return self.classifier(x)


def vgg(depth: str, num_classes: int = 1000, batch_norm: bool = False) -> VGG:
    """Any row of VGG_CONFIGS by name ("vgg16"), a new one included."""
    return VGG(VGG_CONFIGS[depth], num_classes, batch_norm)


def vgg11(num_classes: int = 1000, batch_norm: bool = False) -> VGG:
    return VGG(VGG_CONFIGS["vgg11"], num_classes, batch_norm)


def vgg13(num_classes: int = 1000, batch_norm: bool = False) -> VGG:
    return VGG(VGG_CONFIGS["vgg13"], num_classes, batch_norm)


def vgg16(num_classes: int = 1000, batch_norm: bool = False) -> VGG:
    return VGG(VGG_CONFIGS["vgg16"], num_classes, batch_norm)


def vgg19(num_classes: int = 1000, batch_norm: bool = False) -> VGG:
    return VGG(VGG_CONFIGS["vgg19"], num_classes, batch_norm)


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1,
                     bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


def _projection(in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    """The 1x1 conv + BN shortcut, only where the identity would not fit the shape."""
    if not needs_projection(in_channels, out_channels, stride):
        return None
    return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


class BasicBlock(nn.Module):
    """Two 3x3 convs; the first carries the stride."""

    expansion = EXPANSION["basic"]

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = _projection(in_channels, out_channels * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (with the stride, as torchvision), 1x1 expand to width * 4."""

    expansion = EXPANSION["bottleneck"]

    def __init__(self, in_channels: int, width: int, stride: int = 1):
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = conv1x1(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block: type, layers: list[int], num_classes: int = 1000):
        super().__init__()
        stem = RESNET_STEM_CHANNELS
        self.in_channels = stem
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        for i, (width, stride) in enumerate(RESNET_STAGES):  # layer1 .. layer4
            setattr(self, f"layer{i + 1}", self._make_layer(block, width, layers[i], stride))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(RESNET_STAGES[-1][0] * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, block: type, width: int, blocks: int, stride: int) -> nn.Sequential:
        stage = [block(self.in_channels, width, stride)]
        self.in_channels = width * block.expansion
        stage += [block(self.in_channels, width) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))                       # N x 64 x 112 x 112
        x = self.maxpool(x)                                          # N x 64 x 56 x 56
        x = self.layer1(x)                                           # N x 64e x 56 x 56
        x = self.layer2(x)                                           # N x 128e x 28 x 28
        x = self.layer3(x)                                           # N x 256e x 14 x 14
        x = self.layer4(x)                                           # N x 512e x 7 x 7
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}
# Depth -> ResNet's arguments (block class, blocks per stage), one per row of RESNET_DEPTHS.
RESNET_LAYOUTS: dict[str, tuple[type, list[int]]] = {
    name: (BLOCKS[kind], stages) for name, (kind, stages) in RESNET_DEPTHS.items()}


def resnet(depth: str, num_classes: int = 1000) -> ResNet:
    """Any row of RESNET_DEPTHS by name ("resnet50"), a new one included."""
    return ResNet(*RESNET_LAYOUTS[depth], num_classes=num_classes)


def resnet18(num_classes: int = 1000) -> ResNet:
    return ResNet(*RESNET_LAYOUTS["resnet18"], num_classes=num_classes)


def resnet34(num_classes: int = 1000) -> ResNet:
    return ResNet(*RESNET_LAYOUTS["resnet34"], num_classes=num_classes)


def resnet50(num_classes: int = 1000) -> ResNet:
    return ResNet(*RESNET_LAYOUTS["resnet50"], num_classes=num_classes)


def resnet101(num_classes: int = 1000) -> ResNet:
    return ResNet(*RESNET_LAYOUTS["resnet101"], num_classes=num_classes)


def resnet152(num_classes: int = 1000) -> ResNet:
    return ResNet(*RESNET_LAYOUTS["resnet152"], num_classes=num_classes)


def lenet5(num_classes: int = 10) -> nn.Sequential:
    """The lecture's LeNet-5 (ReLU and max pooling, 1 x 28 x 28 input)."""
    layers = conv_pool_layers(LENET5_FEATURES, 1, inplace=False)
    relus = sum(isinstance(m, nn.ReLU) for _, m in layers)
    (hidden_name, hidden), (out_name, _) = LENET5_CLASSIFIER
    # fc1's input is fixed, as AlexNet's 256 * 6 * 6 is: no adaptive pool, so it takes
    # pool2's 50 x 7 x 7 at the 28 x 28 input only.
    layers += [("flatten", nn.Flatten()),                           # N x 2450
               (hidden_name, nn.Linear(50 * 7 * 7, hidden)),
               (f"relu{relus + 1}", nn.ReLU()),
               (out_name, nn.Linear(hidden, num_classes))]
    return nn.Sequential(OrderedDict(layers))


def googlenet_stem() -> nn.Sequential:
    """The lecture's GoogLeNet stem: 224 -> 28 spatially in five layers."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3)),    # N x 64 x 112 x 112
        ("relu1", nn.ReLU()),
        ("maxpool1", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),     # N x 64 x 56 x 56
        ("conv2", nn.Conv2d(64, 64, kernel_size=1)),                        # N x 64 x 56 x 56
        ("relu2", nn.ReLU()),
        ("conv3", nn.Conv2d(64, 192, kernel_size=3, padding=1)),            # N x 192 x 56 x 56
        ("relu3", nn.ReLU()),
        ("maxpool2", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),     # N x 192 x 28 x 28
    ]))
