"""The catalogued mistakes in `solutions/cnn_architectures.py`: each an edit of the reference's
source (solutions/mistakes/edits.py), graded by `cnnlab mutants`, quoted by the public hints,
and made by the checks' own tests, which require the feedback of `question` to contain
`phrase`."""
from __future__ import annotations

from solutions.mistakes.mistake import Mistake, inside

ASSIGNMENT = "cnn_architectures"


def _m(id, question, description, *edits, phrase=None, needs=None) -> Mistake:
    return Mistake(id, ASSIGNMENT, question, description, edits=edits, phrase=phrase,
                   needs=needs)


MISTAKES: list[Mistake] = [
    # AlexNet
    _m("alexnet_conv1_stride_2", "alexnet", "AlexNet conv1 with stride 2 instead of 4",
       ('("conv1", Conv(64, kernel=11, stride=4, padding=2))',
        '("conv1", Conv(64, kernel=11, stride=2, padding=2))')),
    _m("alexnet_fixed_avgpool", "alexnet",
       "AlexNet with a fixed AvgPool2d(1) instead of the adaptive 6x6 pool (right at 224 only)",
       ("self.avgpool = nn.AdaptiveAvgPool2d((6, 6))",
        "self.avgpool = nn.AvgPool2d(1)")),
    _m("alexnet_pool1_kernel_2", "alexnet", "AlexNet's first max pool with a 2x2 window",
       ('("pool1", Pool(kernel=3, stride=2))', '("pool1", Pool(kernel=2, stride=2))')),
    _m("alexnet_missing_relu_fc7", "alexnet", "AlexNet without the ReLU after fc7",
       ("nn.Linear(4096, 4096),\n"
        "            nn.ReLU(inplace=True),\n"
        "            nn.Linear(4096, num_classes)",
        "nn.Linear(4096, 4096),\n"
        "            nn.Identity(),\n"
        "            nn.Linear(4096, num_classes)")),
    _m("alexnet_conv3_padding_0", "alexnet", "AlexNet conv3 without padding",
       ('("conv3", Conv(384, kernel=3, padding=1))', '("conv3", Conv(384, kernel=3))')),
    # VGG
    _m("vgg_avg_pool", "vgg", "VGG with average pooling instead of max pooling",
       ("layers.append(nn.MaxPool2d(kernel_size=2, stride=2))",
        "layers.append(nn.AvgPool2d(kernel_size=2, stride=2))"),
       phrase="different outputs"),
    _m("vgg_no_padding", "vgg", "VGG's 3x3 convs without padding",
       ("nn.Conv2d(in_channels, v, kernel_size=3, padding=1)",
        "nn.Conv2d(in_channels, v, kernel_size=3, padding=0)"),
       phrase="vgg11(num_classes=10)"),
    _m("vgg_relu_before_bn", "vgg", "VGG with ReLU before batch norm",
       ("        if batch_norm:\n"
        "            layers.append(nn.BatchNorm2d(v))\n"
        "        layers.append(nn.ReLU(inplace=True))",
        "        layers.append(nn.ReLU(inplace=True))\n"
        "        if batch_norm:\n"
        "            layers.append(nn.BatchNorm2d(v))"),
       phrase="`features` numbers its layers"),
    _m("vgg_ignores_batch_norm", "vgg", "VGG ignores batch_norm=True",
       ("        if batch_norm:\n"
        "            layers.append(nn.BatchNorm2d(v))",
        "        if False:\n"
        "            layers.append(nn.BatchNorm2d(v))")),
    _m("vgg16_wrong_row", "vgg", "VGG-16's config with 256 channels in the fourth stage",
       ('"vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",',
        '"vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 256, 256, 512, "M",')),
    _m("vgg_no_final_relu_in_classifier", "vgg", "VGG's classifier without its first ReLU",
       ("nn.Linear(512 * 7 * 7, 4096),\n"
        "            nn.ReLU(inplace=True),",
        "nn.Linear(512 * 7 * 7, 4096),\n"
        "            nn.Identity(),")),
    # Residual blocks (the shortcut is computed after the main branch, as torchvision's
    # forward does, so the cost table lists a block's modules in forward order)
    _m("basic_no_relu_after_add", "basic_block",
       "BasicBlock without the ReLU after the addition",
       ("        out = self.bn2(self.conv2(out))\n"
        "        identity = x if self.downsample is None else self.downsample(x)\n"
        "        return self.relu(out + identity)",
        "        out = self.bn2(self.conv2(out))\n"
        "        identity = x if self.downsample is None else self.downsample(x)\n"
        "        return out + identity"),
       phrase="ReLU after the add"),
    _m("basic_relu_before_add", "basic_block",
       "BasicBlock applies ReLU before the addition, not after",
       ("        out = self.bn2(self.conv2(out))\n"
        "        identity = x if self.downsample is None else self.downsample(x)\n"
        "        return self.relu(out + identity)",
        "        out = self.relu(self.bn2(self.conv2(out)))\n"
        "        identity = x if self.downsample is None else self.downsample(x)\n"
        "        return out + identity")),
    _m("basic_stride_on_conv2", "basic_block", "BasicBlock puts the stride on its second conv",
       ("self.conv1 = conv3x3(in_channels, out_channels, stride)",
        "self.conv1 = conv3x3(in_channels, out_channels)"),
       ("self.conv2 = conv3x3(out_channels, out_channels)",
        "self.conv2 = conv3x3(out_channels, out_channels, stride)"),
       phrase="differs is `conv1`"),
    _m("basic_no_residual", "basic_block", "BasicBlock forgets the shortcut",
       ("        out = self.bn2(self.conv2(out))\n"
        "        identity = x if self.downsample is None else self.downsample(x)\n"
        "        return self.relu(out + identity)",
        "        out = self.bn2(self.conv2(out))\n"
        "        identity = x if self.downsample is None else self.downsample(x)\n"
        "        return self.relu(out)")),
    _m("projection_without_bn", "basic_block", "the projection shortcut has no batch norm",
       ("return nn.Sequential(conv1x1(in_channels, out_channels, stride), "
        "nn.BatchNorm2d(out_channels))",
        "return nn.Sequential(conv1x1(in_channels, out_channels, stride))"),
       phrase="followed by BatchNorm"),
    _m("projection_only_on_channel_change", "basic_block",
       "the projection is built only when channels change, not when only the stride does",
       ("return stride != 1 or in_channels != out_channels",
        "return in_channels != out_channels")),
    _m("projection_3x3", "basic_block", "the projection shortcut uses a 3x3 conv",
       ("return nn.Sequential(conv1x1(in_channels, out_channels, stride), ",
        "return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False), ")),
    _m("bottleneck_stride_on_conv1", "bottleneck",
       "Bottleneck puts the stride on the first 1x1 conv (the original paper's layout, not "
       "torchvision's)",
       ("self.conv1 = conv1x1(in_channels, width)",
        "self.conv1 = conv1x1(in_channels, width, stride)"),
       ("self.conv2 = conv3x3(width, width, stride)",
        "self.conv2 = conv3x3(width, width)"),
       phrase="stride belongs on the 3x3 conv"),
    _m("bottleneck_expansion_2", "bottleneck", "Bottleneck with expansion 2",
       ('EXPANSION = {"basic": 1, "bottleneck": 4}', 'EXPANSION = {"basic": 1, "bottleneck": 2}'),
       phrase="expansion"),
    _m("bottleneck_no_relu_after_conv2", "bottleneck",
       "Bottleneck without the ReLU after its 3x3 conv",
       ("out = self.relu(self.bn2(self.conv2(out)))\n"
        "        out = self.bn3",
        "out = self.bn2(self.conv2(out))\n"
        "        out = self.bn3")),
    _m("resnet_no_maxpool", "resnet", "ResNet skips the stem's max pool",
       ("x = self.maxpool(x)",
        "x = x")),
    _m("resnet_maxpool_no_padding", "resnet", "ResNet's stem max pool without padding",
       ("self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)",
        "self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2)"),
       phrase="resnet18"),
    _m("resnet_layer4_stride_1", "resnet", "ResNet's last stage without its stride 2",
       ("RESNET_STAGES = [(64, 1), (128, 2), (256, 2), (512, 2)]",
        "RESNET_STAGES = [(64, 1), (128, 2), (256, 2), (512, 1)]")),
    _m("resnet_stem_no_relu", "resnet", "ResNet's stem without the ReLU after bn1",
       ("x = self.relu(self.bn1(self.conv1(x)))",
        "x = self.bn1(self.conv1(x))"),
       phrase="between `bn1` and `layer1.0.conv1`"),
    _m("resnet_max_avgpool", "resnet", "ResNet ends with a max pool instead of an average pool",
       ("self.avgpool = nn.AdaptiveAvgPool2d((1, 1))",
        "self.avgpool = nn.AdaptiveMaxPool2d((1, 1))")),
    # Found by review: a builder that drops num_classes, BatchNorm's eps and momentum (Keras
    # counts momentum the other way), a pool that differs only at some input sizes.
    _m("vgg16_ignores_num_classes", "vgg", "vgg16 does not pass num_classes on",
       ('return VGG(VGG_CONFIGS["vgg16"], num_classes, batch_norm)',
        'return VGG(VGG_CONFIGS["vgg16"], batch_norm=batch_norm)'),
       phrase="vgg16(num_classes=10"),
    _m("resnet34_ignores_num_classes", "resnet", "resnet34 does not pass num_classes on",
       ('return ResNet(*RESNET_LAYOUTS["resnet34"], num_classes=num_classes)',
        'return ResNet(*RESNET_LAYOUTS["resnet34"])')),
    _m("basic_bn_momentum_keras", "basic_block",
       "BasicBlock's first BatchNorm with Keras's momentum=0.99 (PyTorch counts it the "
       "other way: 0.01)",
       ("self.bn1 = nn.BatchNorm2d(out_channels)",
        "self.bn1 = nn.BatchNorm2d(out_channels, momentum=0.99)"),
       phrase="momentum"),
    _m("vgg_bn_eps", "vgg", "VGG's BatchNorm with eps=1e-4 instead of torchvision's 1e-5",
       ("layers.append(nn.BatchNorm2d(v))",
        "layers.append(nn.BatchNorm2d(v, eps=1e-4))"),
       phrase="eps 0.0001"),
    _m("alexnet_pool1_ceil_mode", "alexnet",
       "AlexNet's first max pool with ceil_mode=True (the same at 224, different at other "
       "sizes)",
       inside("conv_pool_layers",
              "nn.MaxPool2d(kernel_size=spec.kernel, stride=spec.stride)",
              'nn.MaxPool2d(kernel_size=spec.kernel, stride=spec.stride, ceil_mode=name == "pool1")'),
       phrase="131x163"),
    # Issue 17: a mistake for every promise of the contract (autograder/promises.py) that the
    # ones above leave unproven: a module's width, name or default.
    _m("alexnet_conv2_128", "alexnet",
       "AlexNet's conv2 with 128 filters (the original paper's one-GPU half), not the "
       "torchvision variant's 192",
       ('("conv2", Conv(192, kernel=5, padding=2))', '("conv2", Conv(128, kernel=5, padding=2))')),
    _m("alexnet_one_dropout", "alexnet", "AlexNet's classifier without its first Dropout",
       ("nn.Dropout(p=dropout),\n"
        "            nn.Linear(256 * 6 * 6, 4096),",
        "nn.Identity(),\n"
        "            nn.Linear(256 * 6 * 6, 4096),"),
       phrase="Dropout"),
    _m("alexnet_classifier_named_fc", "alexnet", "AlexNet names its classifier `fc`",
       ("self.classifier = nn.Sequential(\n"
        "            nn.Dropout(p=dropout),",
        "self.fc = nn.Sequential(\n"
        "            nn.Dropout(p=dropout),"),
       inside("AlexNet", "return self.classifier(x)",
                         "return self.fc(x)")),
    _m("alexnet_avgpool_named_pool", "alexnet",
       "AlexNet names its adaptive pool `pool`, not `avgpool`",
       ("self.avgpool = nn.AdaptiveAvgPool2d((6, 6))",
        "self.pool = nn.AdaptiveAvgPool2d((6, 6))"),
       inside("AlexNet", "x = self.avgpool(x)",
                         "x = self.pool(x)")),
    _m("alexnet_ignores_num_classes", "alexnet",
       "AlexNet's last layer has 1000 outputs whatever num_classes says",
       ("nn.ReLU(inplace=True),\n"
        "            nn.Linear(4096, num_classes),",
        "nn.ReLU(inplace=True),\n"
        "            nn.Linear(4096, 1000),")),
    _m("alexnet_default_10_classes", "alexnet", "AlexNet's num_classes defaults to 10",
       ("(self, num_classes: int = 1000, dropout",
        "(self, num_classes: int = 10, dropout")),
    _m("vgg_classifier_2048", "vgg", "VGG's classifier 2048 wide instead of 4096",
       ("nn.Linear(512 * 7 * 7, 4096),",
        "nn.Linear(512 * 7 * 7, 2048),"),
       ("nn.Linear(4096, 4096),\n"
        "            nn.ReLU(inplace=True),\n"
        "            nn.Dropout(p=dropout),\n"
        "            nn.Linear(4096, num_classes),",
        "nn.Linear(2048, 2048),\n"
        "            nn.ReLU(inplace=True),\n"
        "            nn.Dropout(p=dropout),\n"
        "            nn.Linear(2048, num_classes),")),
    _m("vgg_fixed_avgpool", "vgg",
       "VGG with a fixed AvgPool2d(1) instead of the adaptive 7x7 pool (right at 224 only)",
       ("self.avgpool = nn.AdaptiveAvgPool2d((7, 7))",
        "self.avgpool = nn.AvgPool2d(1)")),
    _m("vgg_avgpool_named_pool", "vgg", "VGG names its adaptive pool `pool`, not `avgpool`",
       ("self.avgpool = nn.AdaptiveAvgPool2d((7, 7))",
        "self.pool = nn.AdaptiveAvgPool2d((7, 7))"),
       inside("VGG", "x = self.avgpool(x)",
                     "x = self.pool(x)")),
    _m("vgg_features_named_layers", "vgg", "VGG names its conv stack `layers`, not `features`",
       ("self.features = make_vgg_features(config, batch_norm)",
        "self.layers = make_vgg_features(config, batch_norm)"),
       inside("VGG", "x = self.features(x)",
                     "x = self.layers(x)")),
    _m("vgg_default_batch_norm", "vgg", "VGG(config) defaults to batch_norm=True",
       ("num_classes: int = 1000, batch_norm: bool = False,\n"
        "                 dropout",
        "num_classes: int = 1000, batch_norm: bool = True,\n"
        "                 dropout")),
    _m("vgg13_default_batch_norm", "vgg", "vgg13's batch_norm defaults to True",
       ("def vgg13(num_classes: int = 1000, batch_norm: bool = False)",
        "def vgg13(num_classes: int = 1000, batch_norm: bool = True)")),
    _m("vgg19_default_10_classes", "vgg", "vgg19's num_classes defaults to 10",
       ("def vgg19(num_classes: int = 1000,",
        "def vgg19(num_classes: int = 10,")),
    _m("basic_expansion_2", "basic_block", "BasicBlock with expansion 2",
       ('EXPANSION = {"basic": 1, "bottleneck": 4}', 'EXPANSION = {"basic": 2, "bottleneck": 4}')),
    _m("basic_conv1_bias", "basic_block", "BasicBlock's first conv with a bias",
       ("self.conv1 = conv3x3(in_channels, out_channels, stride)",
        "self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1)")),
    _m("basic_default_stride_2", "basic_block", "BasicBlock's stride defaults to 2",
       ("def __init__(self, in_channels: int, out_channels: int, stride: int = 1):",
        "def __init__(self, in_channels: int, out_channels: int, stride: int = 2):")),
    _m("bottleneck_conv2_bias", "bottleneck", "Bottleneck's 3x3 conv with a bias",
       ("self.conv2 = conv3x3(width, width, stride)",
        "self.conv2 = nn.Conv2d(width, width, 3, stride, 1)")),
    _m("bottleneck_default_stride_2", "bottleneck", "Bottleneck's stride defaults to 2",
       ("def __init__(self, in_channels: int, width: int, stride: int = 1):",
        "def __init__(self, in_channels: int, width: int, stride: int = 2):")),
    _m("resnet_fc_named_classifier", "resnet",
       "ResNet names its last layer `classifier`, not `fc`",
       ("self.fc = nn.Linear(RESNET_STAGES[-1][0] * block.expansion, num_classes)",
        "self.classifier = nn.Linear(RESNET_STAGES[-1][0] * block.expansion, num_classes)"),
       ("        return self.fc(x)",
        "        return self.classifier(x)")),
    _m("resnet_maxpool_named_pool", "resnet",
       "ResNet names its stem's max pool `pool`, not `maxpool`",
       ("self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)",
        "self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)"),
       ("x = self.maxpool(x)",
        "x = self.pool(x)")),
    _m("resnet_layer3_width_128", "resnet", "ResNet's third stage 128 wide instead of 256",
       ("RESNET_STAGES = [(64, 1), (128, 2), (256, 2), (512, 2)]",
        "RESNET_STAGES = [(64, 1), (128, 2), (128, 2), (512, 2)]")),
    _m("resnet_default_10_classes", "resnet", "ResNet's own num_classes defaults to 10",
       ("layers: list[int], num_classes: int = 1000):",
        "layers: list[int], num_classes: int = 10):")),
    _m("resnet50_default_10_classes", "resnet", "resnet50's num_classes defaults to 10",
       ("def resnet50(num_classes: int = 1000)",
        "def resnet50(num_classes: int = 10)")),
    _m("resnet18_one_block_in_layer4", "resnet",
       "ResNet-18's layout [2, 2, 2, 1]: one block too few in its last stage",
       ('"resnet18": ("basic", [2, 2, 2, 2]),', '"resnet18": ("basic", [2, 2, 2, 1]),')),
    # The checks' own tests' mistakes (tests/student_variants until issue 14).
    _m("relu_before_bn_basic", "basic_block",
       "BasicBlock applies its first ReLU before bn1, not after",
       ("out = self.relu(self.bn1(self.conv1(x)))\n"
        "        out = self.bn2(self.conv2(out))\n",
        "out = self.bn1(self.relu(self.conv1(x)))\n"
        "        out = self.bn2(self.conv2(out))\n"),
       phrase="first layer whose output differs is `bn1`"),
    _m("relu_before_add_bottleneck", "bottleneck",
       "Bottleneck applies ReLU before the addition, not after",
       ("out = self.bn3(self.conv3(out))\n"
        "        identity = x if self.downsample is None else self.downsample(x)\n"
        "        return self.relu(out + identity)",
        "out = self.relu(self.bn3(self.conv3(out)))\n"
        "        identity = x if self.downsample is None else self.downsample(x)\n"
        "        return out + identity"),
       phrase="ReLU after the add"),
    _m("projection_always", "basic_block",
       "the projection shortcut is built for every block, even when neither the stride nor "
       "the channels change",
       ("return stride != 1 or in_channels != out_channels", "return True"),
       phrase="only when the stride or the number of channels changes"),
    _m("vgg13_config_row", "vgg",
       "VGG-13's config with three 256-wide convs in its third stage",
       ('"vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M",',
        '"vgg13": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",'),
       phrase="VGG_CONFIGS['vgg13']"),
    _m("alexnet_dropout_after_linear", "alexnet",
       "AlexNet's first Dropout after fc6 instead of before it",
       ("nn.Dropout(p=dropout),\n"
        "            nn.Linear(256 * 6 * 6, 4096),",
        "nn.Linear(256 * 6 * 6, 4096),\n"
        "            nn.Dropout(p=dropout),"),
       phrase="classifier"),
    _m("alexnet_avg_pool", "alexnet",
       "AlexNet's first pool an average pool instead of a max pool",
       inside("conv_pool_layers",
              "nn.MaxPool2d(kernel_size=spec.kernel, stride=spec.stride)",
              '(nn.AvgPool2d if name == "pool1" else nn.MaxPool2d)(kernel_size=spec.kernel, '
              'stride=spec.stride)'),
       phrase="between `features.0` and `features.3`"),
    _m("resnet_conv_bias", "resnet",
       "ResNet's stem conv with a bias (the convs before a BatchNorm have bias=False)",
       ("self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)",
        "self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3)"),
       phrase="bias=False"),
    _m("resnet_fc_ignores_expansion", "resnet",
       "ResNet's fc takes 512 inputs whatever block.expansion is",
       ("self.fc = nn.Linear(RESNET_STAGES[-1][0] * block.expansion, num_classes)",
        "self.fc = nn.Linear(RESNET_STAGES[-1][0], num_classes)"),
       phrase="`fc.weight` has shape"),
    _m("resnet_layer3_stride_1", "resnet", "ResNet's third stage without its stride 2",
       ("RESNET_STAGES = [(64, 1), (128, 2), (256, 2), (512, 2)]",
        "RESNET_STAGES = [(64, 1), (128, 2), (256, 1), (512, 2)]"),
       phrase="layer3.0"),
    _m("vgg_dropout_p", "vgg",
       "VGG's classifier with a Dropout of p=0.2 instead of `dropout` (0.5)",
       ("        self.classifier = nn.Sequential(\n"
        "            nn.Linear(512 * 7 * 7, 4096),\n"
        "            nn.ReLU(inplace=True),\n"
        "            nn.Dropout(p=dropout),",
        "        self.classifier = nn.Sequential(\n"
        "            nn.Linear(512 * 7 * 7, 4096),\n"
        "            nn.ReLU(inplace=True),\n"
        "            nn.Dropout(p=0.2),"),
       phrase="p=0.5"),
    _m("resnet101_ignores_num_classes", "resnet", "resnet101 does not pass num_classes on",
       ('return ResNet(*RESNET_LAYOUTS["resnet101"], num_classes=num_classes)',
        'return ResNet(*RESNET_LAYOUTS["resnet101"])'),
       phrase="resnet101(num_classes=10)"),
]
