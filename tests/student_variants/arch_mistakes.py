"""Realistic mistakes in `cnn_architectures`, as edits of the reference's source:
(id, question whose checks must fail, [(old, new)], a phrase the feedback must contain)."""

REF = "solutions.cnn_architectures"
SHORTCUT = "        identity = x if self.downsample is None else self.downsample(x)\n"

MISTAKES = [
    ("relu_before_bn_basic", "basic_block",
     [("out = self.relu(self.bn1(self.conv1(x)))\n        out = self.bn2(self.conv2(out))\n",
       "out = self.bn1(self.relu(self.conv1(x)))\n        out = self.bn2(self.conv2(out))\n")],
     "first layer whose output differs is `bn1`"),
    ("no_relu_after_add_basic", "basic_block",
     [("return self.relu(out + identity)", "return out + identity")],
     "ReLU after the add"),
    ("relu_before_add_bottleneck", "bottleneck",
     [("out = self.bn3(self.conv3(out))\n" + SHORTCUT + "        return self.relu(out + identity)",
       "out = self.relu(self.bn3(self.conv3(out)))\n" + SHORTCUT + "        return out + identity")],
     "ReLU after the add"),
    ("no_projection_bn", "basic_block",
     [("return nn.Sequential(conv1x1(in_channels, out_channels, stride), "
       "nn.BatchNorm2d(out_channels))",
       "return nn.Sequential(conv1x1(in_channels, out_channels, stride))")],
     "followed by BatchNorm"),
    ("projection_always", "basic_block",
     [("    if stride == 1 and in_channels == out_channels:\n        return None\n", "")],
     "only when the stride or the number of channels changes"),
    ("bottleneck_stride_on_conv1", "bottleneck",
     [("self.conv1 = conv1x1(in_channels, width)\n", "self.conv1 = conv1x1(in_channels, width, stride)\n"),
      ("self.conv2 = conv3x3(width, width, stride)", "self.conv2 = conv3x3(width, width)")],
     "stride belongs on the 3x3 conv"),
    ("basic_stride_on_conv2", "basic_block",
     [("self.conv1 = conv3x3(in_channels, out_channels, stride)",
       "self.conv1 = conv3x3(in_channels, out_channels)"),
      ("self.conv2 = conv3x3(out_channels, out_channels)",
       "self.conv2 = conv3x3(out_channels, out_channels, stride)")],
     "differs is `conv1`"),
    ("bottleneck_expansion_2", "bottleneck",
     [("expansion = 4", "expansion = 2")], "expansion"),
    ("vgg_avg_pool", "vgg",
     [("layers.append(nn.MaxPool2d(kernel_size=2, stride=2))",
       "layers.append(nn.AvgPool2d(kernel_size=2, stride=2))")],
     "different outputs"),
    ("vgg_padding_0", "vgg",
     [("nn.Conv2d(in_channels, v, kernel_size=3, padding=1)",
       "nn.Conv2d(in_channels, v, kernel_size=3, padding=0)")],
     "vgg11(num_classes=10)"),
    ("vgg13_config_row", "vgg",
     [('"vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M",',
       '"vgg13": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",')],
     "VGG_CONFIGS['vgg13']"),
    ("vgg_bn_after_relu", "vgg",
     [("if batch_norm:\n            layers.append(nn.BatchNorm2d(v))\n        "
       "layers.append(nn.ReLU(inplace=True))",
       "layers.append(nn.ReLU(inplace=True))\n        if batch_norm:\n            "
       "layers.append(nn.BatchNorm2d(v))")],
     "`features` numbers its layers"),
    ("alexnet_dropout_after_linear", "alexnet",
     [("nn.Dropout(p=dropout),\n            nn.Linear(256 * 6 * 6, 4096),",
       "nn.Linear(256 * 6 * 6, 4096),\n            nn.Dropout(p=dropout),")],
     "classifier"),
    ("alexnet_avg_pool", "alexnet",
     [("nn.MaxPool2d(kernel_size=3, stride=2),                   # N x 64 x 27 x 27",
       "nn.AvgPool2d(kernel_size=3, stride=2),                   # N x 64 x 27 x 27")],
     "between `features.0` and `features.3`"),
    ("alexnet_no_dropout", "alexnet",
     [("nn.Dropout(p=dropout),\n            nn.Linear(256 * 6 * 6, 4096),",
       "nn.Identity(),\n            nn.Linear(256 * 6 * 6, 4096),")],
     "Dropout"),
    ("resnet_stem_no_relu", "resnet",
     [("x = self.relu(self.bn1(self.conv1(x)))", "x = self.bn1(self.conv1(x))")],
     "between `bn1` and `layer1.0.conv1`"),
    ("resnet_maxpool_no_padding", "resnet",
     [("nn.MaxPool2d(kernel_size=3, stride=2, padding=1)",
       "nn.MaxPool2d(kernel_size=3, stride=2)")],
     "resnet18"),
    ("resnet_conv_bias", "resnet",
     [("self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)",
       "self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3)")],
     "bias=False"),
    ("resnet_fc_ignores_expansion", "resnet",
     [("self.fc = nn.Linear(512 * block.expansion, num_classes)",
       "self.fc = nn.Linear(512, num_classes)")],
     "`fc.weight` has shape"),
    ("resnet_layer3_stride_1", "resnet",
     [("self.layer3 = self._make_layer(block, 256, layers[2], stride=2)",
       "self.layer3 = self._make_layer(block, 256, layers[2], stride=1)")],
     "layer3.0"),
]

# Edits that change nothing a check can or should see: they must pass.
HARMLESS = [
    ("relu_not_inplace", [("self.relu = nn.ReLU(inplace=True)\n        self.conv2",
                           "self.relu = nn.ReLU()\n        self.conv2")]),
    ("vgg_dropout_before_relu", [("nn.Linear(512 * 7 * 7, 4096),\n            nn.ReLU(inplace=True),\n"
                                  "            nn.Dropout(p=dropout),",
                                  "nn.Linear(512 * 7 * 7, 4096),\n            nn.Dropout(p=dropout),\n"
                                  "            nn.ReLU(inplace=True),")]),
]

MISTAKES += [
    ("vgg_dropout_p", "vgg",
     [("        self.classifier = nn.Sequential(\n            nn.Linear(512 * 7 * 7, 4096),\n"
       "            nn.ReLU(inplace=True),\n            nn.Dropout(p=dropout),",
       "        self.classifier = nn.Sequential(\n            nn.Linear(512 * 7 * 7, 4096),\n"
       "            nn.ReLU(inplace=True),\n            nn.Dropout(p=0.2),")],
     "p=0.5"),
]

# Found by review: a builder that drops num_classes, BatchNorm's eps, a ceil_mode pool that
# only shows at some input sizes (the feedback must point at the pool, at the failing size).
MISTAKES += [
    ("vgg16_ignores_num_classes", "vgg",
     [('return VGG(VGG_CONFIGS["vgg16"], num_classes, batch_norm)',
       'return VGG(VGG_CONFIGS["vgg16"], batch_norm=batch_norm)')],
     "vgg16(num_classes=10"),
    ("resnet101_ignores_num_classes", "resnet",
     [('return ResNet(*RESNET_LAYOUTS["resnet101"], num_classes=num_classes)',
       'return ResNet(*RESNET_LAYOUTS["resnet101"])')],
     "resnet101(num_classes=10)"),
    ("vgg_bn_eps_1e-4", "vgg",
     [("layers.append(nn.BatchNorm2d(v))", "layers.append(nn.BatchNorm2d(v, eps=1e-4))")],
     "eps 0.0001"),
    ("alexnet_pool1_ceil_mode", "alexnet",
     [("nn.MaxPool2d(kernel_size=3, stride=2),                   # N x 64 x 27 x 27",
       "nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),   # N x 64 x 27 x 27")],
     "131x163"),
]

# BatchNorm's momentum changes no shape and no eval output, only the running statistics a
# training step leaves: the structure check compares it (Keras's 0.99 is PyTorch's 0.01).
MISTAKES += [
    ("resnet_bn_momentum_keras", "basic_block",
     [("self.bn1 = nn.BatchNorm2d(out_channels)", "self.bn1 = nn.BatchNorm2d(out_channels, momentum=0.99)")],
     "momentum"),
]
