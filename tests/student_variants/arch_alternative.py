"""A correct `cnn_architectures` in another style than the reference: functional ReLUs,
nn.Identity shortcuts, VGG layers built by a nested helper, every ResNet stage spelled out,
non-inplace ReLUs, and ReLU/Dropout swapped in the classifiers (equivalent)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

VGG_CONFIGS = {
    "vgg11": [64, "M", 128, "M"] + [256] * 2 + ["M"] + [512] * 2 + ["M"] + [512] * 2 + ["M"],
    "vgg13": [64] * 2 + ["M"] + [128] * 2 + ["M"] + [256] * 2 + ["M"] + [512] * 2 + ["M"]
             + [512] * 2 + ["M"],
    "vgg16": [64] * 2 + ["M"] + [128] * 2 + ["M"] + [256] * 3 + ["M"] + [512] * 3 + ["M"]
             + [512] * 3 + ["M"],
    "vgg19": [64] * 2 + ["M"] + [128] * 2 + ["M"] + [256] * 4 + ["M"] + [512] * 4 + ["M"]
             + [512] * 4 + ["M"],
}


class AlexNet(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        convs = [(3, 64, 11, 4, 2), (64, 192, 5, 1, 2), (192, 384, 3, 1, 1),
                 (384, 256, 3, 1, 1), (256, 256, 3, 1, 1)]
        layers = []
        for i, (cin, cout, k, s, p) in enumerate(convs):
            layers += [nn.Conv2d(cin, cout, k, s, p), nn.ReLU()]
            if i in (0, 1, 4):
                layers.append(nn.MaxPool2d(3, 2))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(6)
        self.classifier = nn.Sequential(
            nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(),
            nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


class VGG(nn.Module):
    def __init__(self, config, num_classes=1000, batch_norm=False):
        super().__init__()

        def stage(cin, cout):
            block = [nn.Conv2d(cin, cout, 3, padding=1)]
            if batch_norm:
                block.append(nn.BatchNorm2d(cout))
            return block + [nn.ReLU()]

        layers, channels = [], 3
        for item in config:
            if isinstance(item, str):
                layers.append(nn.MaxPool2d(2))
            else:
                layers.extend(stage(channels, item))
                channels = item
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 49, 4096), nn.Dropout(0.5), nn.ReLU(),
            nn.Linear(4096, 4096), nn.Dropout(0.5), nn.ReLU(), nn.Linear(4096, num_classes))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.view(x.shape[0], -1))


def vgg11(num_classes=1000, batch_norm=False):
    return VGG(VGG_CONFIGS["vgg11"], num_classes=num_classes, batch_norm=batch_norm)


def vgg13(num_classes=1000, batch_norm=False):
    return VGG(VGG_CONFIGS["vgg13"], num_classes=num_classes, batch_norm=batch_norm)


def vgg16(num_classes=1000, batch_norm=False):
    return VGG(VGG_CONFIGS["vgg16"], num_classes=num_classes, batch_norm=batch_norm)


def vgg19(num_classes=1000, batch_norm=False):
    return VGG(VGG_CONFIGS["vgg19"], num_classes=num_classes, batch_norm=batch_norm)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))
        else:
            self.downsample = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(torch.add(out, self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels, width, stride=1):
        super().__init__()
        out = width * 4
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride > 1 or in_channels != out:
            self.downsample = nn.Sequential(nn.Conv2d(in_channels, out, 1, stride, bias=False),
                                            nn.BatchNorm2d(out))

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.bn1(self.conv1(x)).relu()
        y = self.bn2(self.conv2(y)).relu()
        y = self.bn3(self.conv3(y))
        y += shortcut
        return y.relu()


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        e = block.expansion
        self.layer1 = nn.Sequential(block(64, 64, 1),
                                    *[block(64 * e, 64) for _ in range(layers[0] - 1)])
        self.layer2 = nn.Sequential(block(64 * e, 128, 2),
                                    *[block(128 * e, 128) for _ in range(layers[1] - 1)])
        self.layer3 = nn.Sequential(block(128 * e, 256, 2),
                                    *[block(256 * e, 256) for _ in range(layers[2] - 1)])
        self.layer4 = nn.Sequential(block(256 * e, 512, 2),
                                    *[block(512 * e, 512) for _ in range(layers[3] - 1)])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * e, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(num_classes=1000):
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes)


def resnet34(num_classes=1000):
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes)


def resnet50(num_classes=1000):
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes)


def resnet101(num_classes=1000):
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes)


def resnet152(num_classes=1000):
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes)
