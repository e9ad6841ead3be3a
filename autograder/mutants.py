"""Mutation testing of the autograder: apply a catalogue of realistic student mistakes to the
reference implementation and grade each mutant with the real hidden checks.

A mutant is caught when it loses points. An instructor runs `cnnlab mutants` after editing
the checks to see what got weaker; the test suite requires every mutant to be caught.

Three kinds of mutant share one report:
- the formula mistakes of autograder/mistakes.py (cnn_costs): the reference namespace with
  one function swapped for the catalogued wrong version;
- source mutants (all three assignments; for cnn_costs, the table's own slips): a textual
  edit of the reference's source, each edit found exactly once;
- replacement mutants (cnn_costs): one function swapped for a version that breaks one
  promise of the contract (autograder/promises.py: a promise that lists its own id among
  its mutants has its breaker here), and cost_table repeating each formula mistake.

A mutant is graded on the questions whose checks can reach what it changes, and only on
those: a swapped function is looked up by its own question's checks only, and a source edit
reaches the questions whose names (QUESTION_NAMES) use the definitions it changes. The other
questions cannot lose points to it, so the report is the same, and much faster to make
(tests/test_mutants.py checks QUESTION_NAMES against what the checks look up).
"""
from __future__ import annotations

import ast
import functools
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from autograder import mistakes
from autograder.runner import Assignment, load_assignment, run_checks

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


@dataclass(frozen=True)
class SourceMutant:
    assignment: str
    id: str
    mistake: str
    edits: tuple[tuple[str, str], ...]     # (find, replace), each `find` occurs once
    needs: str | None = None               # "cuda": only a GPU grader can see it


def _m(assignment, id, mistake, *edits, needs=None):
    return SourceMutant(assignment, id, mistake, tuple(edits), needs)


@dataclass(frozen=True)
class ReplacementMutant:
    assignment: str
    id: str
    mistake: str
    target: str                            # the function of the reference it replaces
    make: Callable[[], Callable]           # builds the replacement


ARCH = "cnn_architectures"
SHORTCUT = "        identity = x if self.downsample is None else self.downsample(x)\n"
SOFT = "softmax_backprop"

SOURCE_MUTANTS: list[SourceMutant] = [
    # AlexNet
    _m(ARCH, "alexnet_conv1_stride_2", "AlexNet conv1 with stride 2 instead of 4",
       ("nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2)",
        "nn.Conv2d(3, 64, kernel_size=11, stride=2, padding=2)")),
    _m(ARCH, "alexnet_fixed_avgpool", "AlexNet with a fixed AvgPool2d(1) instead of the "
       "adaptive 6x6 pool (right at 224 only)",
       ("self.avgpool = nn.AdaptiveAvgPool2d((6, 6))", "self.avgpool = nn.AvgPool2d(1)")),
    _m(ARCH, "alexnet_pool1_kernel_2", "AlexNet's first max pool with a 2x2 window",
       ("nn.MaxPool2d(kernel_size=3, stride=2),                   # N x 64 x 27 x 27",
        "nn.MaxPool2d(kernel_size=2, stride=2),")),
    _m(ARCH, "alexnet_missing_relu_fc7", "AlexNet without the ReLU after fc7",
       ("nn.Linear(4096, 4096),\n            nn.ReLU(inplace=True),\n            "
        "nn.Linear(4096, num_classes)",
        "nn.Linear(4096, 4096),\n            nn.Identity(),\n            "
        "nn.Linear(4096, num_classes)")),
    _m(ARCH, "alexnet_conv3_padding_0", "AlexNet conv3 without padding",
       ("nn.Conv2d(192, 384, kernel_size=3, padding=1)", "nn.Conv2d(192, 384, kernel_size=3)")),
    # VGG
    _m(ARCH, "vgg_avg_pool", "VGG with average pooling instead of max pooling",
       ("layers.append(nn.MaxPool2d(kernel_size=2, stride=2))",
        "layers.append(nn.AvgPool2d(kernel_size=2, stride=2))")),
    _m(ARCH, "vgg_no_padding", "VGG's 3x3 convs without padding",
       ("nn.Conv2d(in_channels, v, kernel_size=3, padding=1)",
        "nn.Conv2d(in_channels, v, kernel_size=3, padding=0)")),
    _m(ARCH, "vgg_relu_before_bn", "VGG with ReLU before batch norm",
       ("        if batch_norm:\n            layers.append(nn.BatchNorm2d(v))\n"
        "        layers.append(nn.ReLU(inplace=True))",
        "        layers.append(nn.ReLU(inplace=True))\n        if batch_norm:\n"
        "            layers.append(nn.BatchNorm2d(v))")),
    _m(ARCH, "vgg_ignores_batch_norm", "VGG ignores batch_norm=True",
       ("        if batch_norm:\n            layers.append(nn.BatchNorm2d(v))",
        "        if False:\n            layers.append(nn.BatchNorm2d(v))")),
    _m(ARCH, "vgg16_wrong_row", "VGG-16's config with 256 channels in the fourth stage",
       ('"vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",',
        '"vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 256, 256, 512, "M",')),
    _m(ARCH, "vgg_no_final_relu_in_classifier", "VGG's classifier without its first ReLU",
       ("nn.Linear(512 * 7 * 7, 4096),\n            nn.ReLU(inplace=True),",
        "nn.Linear(512 * 7 * 7, 4096),\n            nn.Identity(),")),
    # Residual blocks (the shortcut is computed after the main branch, as torchvision's
    # forward does, so the cost table lists a block's modules in forward order)
    _m(ARCH, "basic_no_relu_after_add", "BasicBlock without the ReLU after the addition",
       ("        out = self.bn2(self.conv2(out))\n" + SHORTCUT + "        return self.relu(out + identity)",
        "        out = self.bn2(self.conv2(out))\n" + SHORTCUT + "        return out + identity")),
    _m(ARCH, "basic_relu_before_add", "BasicBlock applies ReLU before the addition, not after",
       ("        out = self.bn2(self.conv2(out))\n" + SHORTCUT + "        return self.relu(out + identity)",
        "        out = self.relu(self.bn2(self.conv2(out)))\n" + SHORTCUT + "        return out + identity")),
    _m(ARCH, "basic_stride_on_conv2", "BasicBlock puts the stride on its second conv",
       ("self.conv1 = conv3x3(in_channels, out_channels, stride)",
        "self.conv1 = conv3x3(in_channels, out_channels)"),
       ("self.conv2 = conv3x3(out_channels, out_channels)",
        "self.conv2 = conv3x3(out_channels, out_channels, stride)")),
    _m(ARCH, "basic_no_residual", "BasicBlock forgets the shortcut",
       ("        out = self.bn2(self.conv2(out))\n" + SHORTCUT + "        return self.relu(out + identity)",
        "        out = self.bn2(self.conv2(out))\n" + SHORTCUT + "        return self.relu(out)")),
    _m(ARCH, "projection_without_bn", "the projection shortcut has no batch norm",
       ("return nn.Sequential(conv1x1(in_channels, out_channels, stride), "
        "nn.BatchNorm2d(out_channels))",
        "return nn.Sequential(conv1x1(in_channels, out_channels, stride))")),
    _m(ARCH, "projection_only_on_channel_change",
       "the projection is built only when channels change, not when only the stride does",
       ("if stride == 1 and in_channels == out_channels:", "if in_channels == out_channels:")),
    _m(ARCH, "projection_3x3", "the projection shortcut uses a 3x3 conv",
       ("return nn.Sequential(conv1x1(in_channels, out_channels, stride), ",
        "return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False), ")),
    _m(ARCH, "bottleneck_stride_on_conv1", "Bottleneck puts the stride on the first 1x1 conv "
       "(the original paper's layout, not torchvision's)",
       ("self.conv1 = conv1x1(in_channels, width)",
        "self.conv1 = conv1x1(in_channels, width, stride)"),
       ("self.conv2 = conv3x3(width, width, stride)", "self.conv2 = conv3x3(width, width)")),
    _m(ARCH, "bottleneck_expansion_2", "Bottleneck with expansion 2",
       ("    expansion = 4", "    expansion = 2")),
    _m(ARCH, "bottleneck_no_relu_after_conv2", "Bottleneck without the ReLU after its 3x3 conv",
       ("out = self.relu(self.bn2(self.conv2(out)))\n        out = self.bn3",
        "out = self.bn2(self.conv2(out))\n        out = self.bn3")),
    _m(ARCH, "resnet_no_maxpool", "ResNet skips the stem's max pool",
       ("x = self.maxpool(x)", "x = x")),
    _m(ARCH, "resnet_maxpool_no_padding", "ResNet's stem max pool without padding",
       ("self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)",
        "self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2)")),
    _m(ARCH, "resnet_layer4_stride_1", "ResNet's last stage without its stride 2",
       ("self.layer4 = self._make_layer(block, 512, layers[3], stride=2)",
        "self.layer4 = self._make_layer(block, 512, layers[3], stride=1)")),
    _m(ARCH, "resnet_stem_no_relu", "ResNet's stem without the ReLU after bn1",
       ("x = self.relu(self.bn1(self.conv1(x)))", "x = self.bn1(self.conv1(x))")),
    _m(ARCH, "resnet_max_avgpool", "ResNet ends with a max pool instead of an average pool",
       ("self.avgpool = nn.AdaptiveAvgPool2d((1, 1))",
        "self.avgpool = nn.AdaptiveMaxPool2d((1, 1))")),
    # Softmax and backprop
    _m(SOFT, "softmax_no_max_shift", "softmax without subtracting the row max (overflows)",
       ("shifted = scores - scores.max(dim=1, keepdim=True).values", "shifted = scores"),
       ("log_probs = shifted - torch.logsumexp(shifted, dim=1, keepdim=True)",
        "log_probs = torch.log(shifted.exp() / shifted.exp().sum(dim=1, keepdim=True))")),
    _m(SOFT, "softmax_grad_not_divided_by_n", "dscores not divided by N",
       ("return loss, dscores / n", "return loss, dscores")),
    _m(SOFT, "softmax_loss_sum_not_mean", "the loss summed over the batch, not averaged",
       ("loss = -log_probs[rows, y].mean()", "loss = -log_probs[rows, y].sum()")),
    _m(SOFT, "softmax_grad_sign", "dscores adds 1 at the true class instead of subtracting it",
       ("dscores[rows, y] -= 1", "dscores[rows, y] += 1")),
    _m(SOFT, "l2_with_half", "the L2 term with a 1/2 the contract does not have",
       ("loss = data_loss + reg * ((W1 * W1).sum() + (W2 * W2).sum())",
        "loss = data_loss + 0.5 * reg * ((W1 * W1).sum() + (W2 * W2).sum())"),
       ("dW2 = hidden.T @ dscores + 2 * reg * W2", "dW2 = hidden.T @ dscores + reg * W2"),
       ("dW1 = X.T @ dhidden + 2 * reg * W1", "dW1 = X.T @ dhidden + reg * W1")),
    _m(SOFT, "dw2_reg_without_2", "dW2's regularization gradient without the factor 2",
       ("dW2 = hidden.T @ dscores + 2 * reg * W2", "dW2 = hidden.T @ dscores + reg * W2")),
    _m(SOFT, "dw1_no_reg", "dW1 without the regularization gradient",
       ("dW1 = X.T @ dhidden + 2 * reg * W1", "dW1 = X.T @ dhidden")),
    _m(SOFT, "db2_wrong_axis", "db2 summed over classes instead of over the batch",
       ("db2 = dscores.sum(dim=0)", "db2 = dscores.sum(dim=1)")),
    _m(SOFT, "relu_mask_missing", "the backward pass ignores the ReLU",
       ("dhidden = (dscores @ W2.T) * (hidden_pre > 0)", "dhidden = dscores @ W2.T")),
    _m(SOFT, "forward_no_relu", "the forward pass has no ReLU",
       ("hidden = hidden_pre.clamp(min=0)", "hidden = hidden_pre")),
    _m(SOFT, "forward_no_b2", "the scores forget b2",
       ("scores = hidden @ W2 + b2", "scores = hidden @ W2")),
    _m(SOFT, "train_ascends", "SGD steps up the gradient",
       ("params[name] -= learning_rate * grads[name]",
        "params[name] += learning_rate * grads[name]")),
    _m(SOFT, "train_ignores_learning_rate", "training ignores learning_rate (a fixed 1e-4)",
       ("params[name] -= learning_rate * grads[name]", "params[name] -= 1e-4 * grads[name]")),
    # Found by review: an in-place shift of the caller's scores (invisible to a comparison
    # made outside a sandbox), gradients written into the caller's params dict, and training
    # loops that still reach a good accuracy on the digits.
    _m(SOFT, "softmax_shifts_scores_in_place", "softmax_loss subtracts the row max from the "
       "caller's scores in place (scores -= max)",
       ("shifted = scores - scores.max(dim=1, keepdim=True).values",
        "scores -= scores.max(dim=1, keepdim=True).values\n    shifted = scores")),
    _m(SOFT, "grads_written_into_params", "two_layer_forward_backward stores the gradients in "
       "the caller's params dict and returns it as grads",
       ('return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}',
        "params.update(W1=dW1, b1=db1, W2=dW2, b2=db2)\n    return loss, params")),
    _m(SOFT, "train_on_val", "train_two_layer trains on X_val, y_val instead of X, y",
       ("batch = torch.randint(0, X.shape[0], (batch_size,)",
        "batch = torch.randint(0, X_val.shape[0], (batch_size,)"),
       ("two_layer_forward_backward(params, X[batch], y[batch], reg)",
        "two_layer_forward_backward(params, X_val[batch], y_val[batch], reg)")),
    _m(SOFT, "train_on_train_plus_val", "train_two_layer trains on torch.cat([X, X_val])",
       ("    loss_history = []\n",
        "    loss_history = []\n    X, y = torch.cat([X, X_val]), torch.cat([y, y_val])\n")),
    _m(SOFT, "train_full_batch", "full-batch gradient descent (batch_size ignored)",
       ("two_layer_forward_backward(params, X[batch], y[batch], reg)",
        "two_layer_forward_backward(params, X, y, reg)")),
    _m(SOFT, "train_epochs", "num_iters taken as epochs of shuffled minibatches; "
       "loss_history holds one mean loss per epoch",
       ("""    for _ in range(num_iters):
        batch = torch.randint(0, X.shape[0], (batch_size,), generator=generator,
                              device=X.device)
        loss, grads = two_layer_forward_backward(params, X[batch], y[batch], reg)
        for name in params:
            params[name] -= learning_rate * grads[name]
        loss_history.append(float(loss))""",
        """    for _ in range(num_iters):
        order = torch.randperm(X.shape[0], generator=generator, device=X.device)
        epoch = []
        for start in range(0, X.shape[0], batch_size):
            batch = order[start:start + batch_size]
            loss, grads = two_layer_forward_backward(params, X[batch], y[batch], reg)
            for name in params:
                params[name] -= learning_rate * grads[name]
            epoch.append(float(loss))
        loss_history.append(sum(epoch) / len(epoch))""")),
    _m(SOFT, "train_ignores_reg", "train_two_layer does not pass reg on (trains with reg=0)",
       ("two_layer_forward_backward(params, X[batch], y[batch], reg)",
        "two_layer_forward_backward(params, X[batch], y[batch])")),
    _m(SOFT, "train_history_without_l2", "loss_history records the data loss, without the "
       "L2 term",
       ("loss, grads = two_layer_forward_backward(params, X[batch], y[batch], reg)\n",
        "loss, grads = two_layer_forward_backward(params, X[batch], y[batch], reg)\n"
        "        data_loss = softmax_loss(two_layer_forward_backward(params, X[batch]), "
        "y[batch])[0]\n"),
       ("loss_history.append(float(loss))", "loss_history.append(float(data_loss))")),
    _m(SOFT, "train_weights_only", "SGD updates W1 and W2 only; the biases never move",
       ("        for name in params:\n            params[name] -= learning_rate * grads[name]",
        '        for name in ("W1", "W2"):\n            params[name] -= learning_rate * '
        "grads[name]")),
    _m(SOFT, "train_ignores_seed", "the minibatch generator is seeded with 0, not with seed",
       ("generator = torch.Generator(device=X.device).manual_seed(seed)",
        "generator = torch.Generator(device=X.device).manual_seed(0)")),
    _m(SOFT, "train_lr_decay", "a learning-rate decay the contract does not have "
       "(learning_rate *= 0.99 every iteration)",
       ("        loss_history.append(float(loss))",
        "        loss_history.append(float(loss))\n        learning_rate *= 0.99")),
]


COSTS = "cnn_costs"

# Found by review (tests/student_variants holds the same mistakes for the checks' own tests):
# cost_table slips the formula catalogue cannot express, a builder that drops num_classes,
# BatchNorm's eps, a pool that differs only at some input sizes.
SOURCE_MUTANTS += [
    _m(COSTS, "table_fc_no_implicit_flatten", "cost_table feeds an fc right after a "
       "(C, H, W) output with C inputs instead of C*H*W",
       ('cin, cout = _numel(shape), layer["out_features"]',
        'cin, cout = shape[0], layer["out_features"]')),
    _m(COSTS, "table_accepts_unknown_type", "cost_table gives an unknown layer type an empty "
       "row instead of raising ValueError",
       ('raise ValueError(f"layer type must be one of {\', \'.join(LAYER_TYPES)}; got {kind!r}")',
        "return shape, 0, 0")),
    _m(COSTS, "table_ignores_fc_bias_flag", "cost_table does not pass an fc layer's bias flag",
       ('f.fc_params(cin, cout, layer.get("bias", True))', "f.fc_params(cin, cout)")),
    _m(COSTS, "table_pool_stride_default_1", "cost_table reads a pool's missing stride as 1",
       ('layer["kernel"], layer.get("stride"), layer.get("padding", 0)',
        'layer["kernel"], layer.get("stride", 1), layer.get("padding", 0)')),
    _m(ARCH, "vgg16_ignores_num_classes", "vgg16 does not pass num_classes on",
       ('return VGG(VGG_CONFIGS["vgg16"], num_classes, batch_norm)',
        'return VGG(VGG_CONFIGS["vgg16"], batch_norm=batch_norm)')),
    _m(ARCH, "resnet34_ignores_num_classes", "resnet34 does not pass num_classes on",
       ('return ResNet(*RESNET_LAYOUTS["resnet34"], num_classes=num_classes)',
        'return ResNet(*RESNET_LAYOUTS["resnet34"])')),
    _m(ARCH, "basic_bn_momentum_keras", "BasicBlock's first BatchNorm with Keras's "
       "momentum=0.99 (PyTorch counts it the other way: 0.01)",
       ("self.bn1 = nn.BatchNorm2d(out_channels)",
        "self.bn1 = nn.BatchNorm2d(out_channels, momentum=0.99)")),
    _m(ARCH, "vgg_bn_eps", "VGG's BatchNorm with eps=1e-4 instead of torchvision's 1e-5",
       ("layers.append(nn.BatchNorm2d(v))", "layers.append(nn.BatchNorm2d(v, eps=1e-4))")),
    _m(ARCH, "alexnet_pool1_ceil_mode", "AlexNet's first max pool with ceil_mode=True (the "
       "same at 224, different at other sizes)",
       ("nn.MaxPool2d(kernel_size=3, stride=2),                   # N x 64 x 27 x 27",
        "nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),")),
]


# Issue 17: a mutant for every promise of the contract (autograder/promises.py). Each breaks
# one promise the mutants above leave unproven: a module's width, name or default, a return
# form, autograd, a change to the caller's data, the device.
SOURCE_MUTANTS += [
    _m(COSTS, "pool_stride_or_kernel", "pool_output_size reads its default with `stride = "
       "stride or kernel`, so a stride of 0 is taken for None instead of raising ValueError",
       ("    if stride is None:\n        stride = kernel\n    _check_window",
        "    stride = stride or kernel\n    _check_window")),
    _m(COSTS, "table_ignores_conv_bias_flag", "cost_table does not pass a conv layer's bias "
       "flag", ("f.conv_params(c, cout, k, bias)", "f.conv_params(c, cout, k)")),
    # AlexNet
    _m(ARCH, "alexnet_conv2_128", "AlexNet's conv2 with 128 filters (the original paper's "
       "one-GPU half), not the torchvision variant's 192",
       ("nn.Conv2d(64, 192, kernel_size=5, padding=2)",
        "nn.Conv2d(64, 128, kernel_size=5, padding=2)"),
       ("nn.Conv2d(192, 384, kernel_size=3, padding=1)",
        "nn.Conv2d(128, 384, kernel_size=3, padding=1)")),
    _m(ARCH, "alexnet_one_dropout", "AlexNet's classifier without its first Dropout",
       ("nn.Dropout(p=dropout),\n            nn.Linear(256 * 6 * 6, 4096),",
        "nn.Identity(),\n            nn.Linear(256 * 6 * 6, 4096),")),
    _m(ARCH, "alexnet_classifier_named_fc", "AlexNet names its classifier `fc`",
       ("self.classifier = nn.Sequential(\n            nn.Dropout(p=dropout),",
        "self.fc = nn.Sequential(\n            nn.Dropout(p=dropout),"),
       ("# N x 9216\n        return self.classifier(x)", "# N x 9216\n        return self.fc(x)")),
    _m(ARCH, "alexnet_avgpool_named_pool", "AlexNet names its adaptive pool `pool`, not "
       "`avgpool`",
       ("self.avgpool = nn.AdaptiveAvgPool2d((6, 6))", "self.pool = nn.AdaptiveAvgPool2d((6, 6))"),
       ("x = self.avgpool(x)\n        x = torch.flatten(x, 1)                                      "
        "# N x 9216", "x = self.pool(x)\n        x = torch.flatten(x, 1)")),
    _m(ARCH, "alexnet_ignores_num_classes", "AlexNet's last layer has 1000 outputs whatever "
       "num_classes says",
       ("nn.ReLU(inplace=True),\n            nn.Linear(4096, num_classes),\n        )\n\n    "
        "def forward(self, x: torch.Tensor) -> torch.Tensor:\n        x = self.features(x)\n"
        "        x = self.avgpool(x)\n        x = torch.flatten(x, 1)                       "
        "               # N x 9216",
        "nn.ReLU(inplace=True),\n            nn.Linear(4096, 1000),\n        )\n\n    "
        "def forward(self, x: torch.Tensor) -> torch.Tensor:\n        x = self.features(x)\n"
        "        x = self.avgpool(x)\n        x = torch.flatten(x, 1)")),
    _m(ARCH, "alexnet_default_10_classes", "AlexNet's num_classes defaults to 10",
       ("(self, num_classes: int = 1000, dropout", "(self, num_classes: int = 10, dropout")),
    # VGG
    _m(ARCH, "vgg_classifier_2048", "VGG's classifier 2048 wide instead of 4096",
       ("nn.Linear(512 * 7 * 7, 4096),", "nn.Linear(512 * 7 * 7, 2048),"),
       ("nn.Linear(4096, 4096),\n            nn.ReLU(inplace=True),\n            "
        "nn.Dropout(p=dropout),\n            nn.Linear(4096, num_classes),",
        "nn.Linear(2048, 2048),\n            nn.ReLU(inplace=True),\n            "
        "nn.Dropout(p=dropout),\n            nn.Linear(2048, num_classes),")),
    _m(ARCH, "vgg_fixed_avgpool", "VGG with a fixed AvgPool2d(1) instead of the adaptive 7x7 "
       "pool (right at 224 only)",
       ("self.avgpool = nn.AdaptiveAvgPool2d((7, 7))", "self.avgpool = nn.AvgPool2d(1)")),
    _m(ARCH, "vgg_avgpool_named_pool", "VGG names its adaptive pool `pool`, not `avgpool`",
       ("self.avgpool = nn.AdaptiveAvgPool2d((7, 7))", "self.pool = nn.AdaptiveAvgPool2d((7, 7))"),
       ("x = self.avgpool(x)                                          # N x 512 x 7 x 7",
        "x = self.pool(x)")),
    _m(ARCH, "vgg_features_named_layers", "VGG names its conv stack `layers`, not `features`",
       ("self.features = make_vgg_features(config, batch_norm)",
        "self.layers = make_vgg_features(config, batch_norm)"),
       ("x = self.features(x)                                         # N x 512 x H/32 x W/32",
        "x = self.layers(x)")),
    _m(ARCH, "vgg_default_batch_norm", "VGG(config) defaults to batch_norm=True",
       ("num_classes: int = 1000, batch_norm: bool = False,\n                 dropout",
        "num_classes: int = 1000, batch_norm: bool = True,\n                 dropout")),
    _m(ARCH, "vgg13_default_batch_norm", "vgg13's batch_norm defaults to True",
       ("def vgg13(num_classes: int = 1000, batch_norm: bool = False)",
        "def vgg13(num_classes: int = 1000, batch_norm: bool = True)")),
    _m(ARCH, "vgg19_default_10_classes", "vgg19's num_classes defaults to 10",
       ("def vgg19(num_classes: int = 1000,", "def vgg19(num_classes: int = 10,")),
    # Residual blocks
    _m(ARCH, "basic_expansion_2", "BasicBlock with expansion 2", ("    expansion = 1",
                                                                  "    expansion = 2")),
    _m(ARCH, "basic_conv1_bias", "BasicBlock's first conv with a bias",
       ("self.conv1 = conv3x3(in_channels, out_channels, stride)",
        "self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1)")),
    _m(ARCH, "basic_default_stride_2", "BasicBlock's stride defaults to 2",
       ("def __init__(self, in_channels: int, out_channels: int, stride: int = 1):",
        "def __init__(self, in_channels: int, out_channels: int, stride: int = 2):")),
    _m(ARCH, "bottleneck_conv2_bias", "Bottleneck's 3x3 conv with a bias",
       ("self.conv2 = conv3x3(width, width, stride)",
        "self.conv2 = nn.Conv2d(width, width, 3, stride, 1)")),
    _m(ARCH, "bottleneck_default_stride_2", "Bottleneck's stride defaults to 2",
       ("def __init__(self, in_channels: int, width: int, stride: int = 1):",
        "def __init__(self, in_channels: int, width: int, stride: int = 2):")),
    _m(ARCH, "resnet_fc_named_classifier", "ResNet names its last layer `classifier`, not `fc`",
       ("self.fc = nn.Linear(512 * block.expansion, num_classes)",
        "self.classifier = nn.Linear(512 * block.expansion, num_classes)"),
       ("        return self.fc(x)", "        return self.classifier(x)")),
    _m(ARCH, "resnet_maxpool_named_pool", "ResNet names its stem's max pool `pool`, not "
       "`maxpool`",
       ("self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)",
        "self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)"),
       ("x = self.maxpool(x)", "x = self.pool(x)")),
    _m(ARCH, "resnet_layer3_width_128", "ResNet's third stage 128 wide instead of 256",
       ("self.layer3 = self._make_layer(block, 256, layers[2], stride=2)",
        "self.layer3 = self._make_layer(block, 128, layers[2], stride=2)")),
    _m(ARCH, "resnet_default_10_classes", "ResNet's own num_classes defaults to 10",
       ("layers: list[int], num_classes: int = 1000):",
        "layers: list[int], num_classes: int = 10):")),
    _m(ARCH, "resnet50_default_10_classes", "resnet50's num_classes defaults to 10",
       ("def resnet50(num_classes: int = 1000)", "def resnet50(num_classes: int = 10)")),
    _m(ARCH, "resnet18_one_block_in_layer4", "ResNet-18's layout [2, 2, 2, 1]: one block "
       "too few in its last stage",
       ('"resnet18": (BasicBlock, [2, 2, 2, 2]),', '"resnet18": (BasicBlock, [2, 2, 2, 1]),')),
    # Softmax and backprop (tests/student_variants/softmax_mistakes.py holds some of these
    # as edits of another style, for the checks' own tests)
    _m(SOFT, "softmax_uses_autograd_grad", "softmax_loss takes dscores from "
       "torch.autograd.grad",
       ("    n = scores.shape[0]\n",
        "    n = scores.shape[0]\n    leaf = scores.detach().clone().requires_grad_()\n"
        "    loss = torch.nn.functional.cross_entropy(leaf, y)\n"
        "    return loss.detach(), torch.autograd.grad(loss, leaf)[0]\n")),
    _m(SOFT, "softmax_returns_dict", "softmax_loss returns a dict, not the pair "
       "(loss, dscores)",
       ("return loss, dscores / n", 'return {"loss": loss, "dscores": dscores / n}')),
    _m(SOFT, "softmax_loss_shape_1", "softmax_loss returns the loss with shape (1,), not "
       "0-dim", ("loss = -log_probs[rows, y].mean()",
                 "loss = -log_probs[rows, y].mean().reshape(1)")),
    _m(SOFT, "softmax_dscores_flat", "softmax_loss returns dscores flattened to (N*C,)",
       ("return loss, dscores / n", "return loss, (dscores / n).reshape(-1)")),
    _m(SOFT, "softmax_float64_ones", "softmax_loss sums each row with a matmul by a float64 "
       "column of ones, so float32 scores fail",
       ("log_probs = shifted - torch.logsumexp(shifted, dim=1, keepdim=True)",
        "log_probs = shifted - (shifted.exp() @ torch.ones(shifted.shape[1], 1, "
        "dtype=torch.float64)).log()")),
    _m(SOFT, "uses_backward", "two_layer_forward_backward computes its gradients with "
       ".backward()",
       ('    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]\n',
        '    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]\n'
        "    if y is not None:\n"
        "        leaves = {k: v.detach().clone().requires_grad_(True) for k, v in "
        "params.items()}\n"
        "        h = (X @ leaves['W1'] + leaves['b1']).clamp(min=0)\n"
        "        s = h @ leaves['W2'] + leaves['b2']\n"
        "        loss = torch.nn.functional.cross_entropy(s, y) + reg * ((leaves['W1'] ** 2)"
        ".sum() + (leaves['W2'] ** 2).sum())\n"
        "        loss.backward()\n"
        "        return loss.detach(), {k: v.grad for k, v in leaves.items()}\n")),
    _m(SOFT, "scores_as_pair", "with y=None, two_layer_forward_backward returns "
       "(scores, None)", ("    if y is None:\n        return scores\n",
                          "    if y is None:\n        return scores, None\n")),
    _m(SOFT, "two_layer_returns_grads_first", "two_layer_forward_backward returns "
       "(grads, loss)",
       ('return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}',
        'return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}, loss')),
    _m(SOFT, "grads_keyed_dW1", "grads keyed dW1, db1, dW2, db2 instead of like params",
       ('return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}',
        'return loss, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}')),
    _m(SOFT, "two_layer_default_reg", "two_layer_forward_backward's reg defaults to 1e-3",
       ("                               reg: float = 0.0):",
        "                               reg: float = 1e-3):")),
    _m(SOFT, "train_uses_autograd", "train_two_layer takes its gradients from "
       "torch.autograd.grad, not from two_layer_forward_backward",
       ("        loss, grads = two_layer_forward_backward(params, X[batch], y[batch], reg)\n"
        "        for name in params:",
        "        leaves = {k: v.detach().requires_grad_(True) for k, v in params.items()}\n"
        "        loss = torch.nn.functional.cross_entropy(two_layer_forward_backward(leaves, "
        "X[batch]), y[batch]) + reg * ((leaves['W1'] ** 2).sum() + (leaves['W2'] ** 2)"
        ".sum())\n"
        "        grads = dict(zip(leaves, torch.autograd.grad(loss, list(leaves.values()))))\n"
        "        loss = loss.detach()\n"
        "        for name in params:")),
    _m(SOFT, "train_global_rng", "train_two_layer draws its minibatches from torch's global "
       "random state, not from a generator seeded with seed",
       ("batch = torch.randint(0, X.shape[0], (batch_size,), generator=generator,\n"
        "                              device=X.device)",
        "batch = torch.randint(0, X.shape[0], (batch_size,), device=X.device)")),
    _m(SOFT, "train_accuracy_on_training_set", "val_accuracy computed on X, y instead of "
       "X_val, y_val",
       ('"val_accuracy": accuracy(X_val, y_val),', '"val_accuracy": accuracy(X, y),')),
    _m(SOFT, "train_history_of_tensors", "loss_history holds the loss tensors, not Python "
       "floats", ("loss_history.append(float(loss))", "loss_history.append(loss)")),
    _m(SOFT, "train_returns_losses_key", "train_two_layer returns its losses under "
       "'losses', not 'loss_history'",
       ('"loss_history": loss_history,', '"losses": loss_history,')),
    _m(SOFT, "train_shuffles_data_in_place", "train_two_layer shuffles the caller's X and y "
       "in place (X[:] = X[order])",
       ("    generator = torch.Generator(device=X.device).manual_seed(seed)\n",
        "    generator = torch.Generator(device=X.device).manual_seed(seed)\n"
        "    order = torch.randperm(X.shape[0], generator=generator, device=X.device)\n"
        "    X[:], y[:] = X[order], y[order]\n")),
    _m(SOFT, "train_default_seed_1", "train_two_layer's seed defaults to 1",
       ("batch_size: int, seed: int = 0) -> dict:", "batch_size: int, seed: int = 1) -> dict:")),
    _m(SOFT, "train_moves_data_to_cpu", "train_two_layer moves the data to the CPU and "
       "trains there, whatever X's device",
       ("    params = {k: v.detach().clone().to(X.device) for k, v in params.items()}\n",
        "    X, y, X_val, y_val = X.cpu(), y.cpu(), X_val.cpu(), y_val.cpu()\n"
        "    params = {k: v.detach().clone().to(X.device) for k, v in params.items()}\n"),
       needs="cuda"),
]


# What each question's checks look up in the student's namespace: a mutant reaches the
# questions whose names use what it changes (tests/test_mutants.py holds this to what the
# checks read on the reference).
QUESTION_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    COSTS: {q: (q,) for q in ("conv_output_size", "pool_output_size", "conv_params",
                              "conv_flops", "pool_flops", "fc_params", "fc_flops",
                              "memory_kb", "cost_table")},
    ARCH: {
        "alexnet": ("AlexNet",),
        "vgg": ("VGG_CONFIGS", "VGG", "vgg11", "vgg13", "vgg16", "vgg19"),
        "basic_block": ("BasicBlock",),
        "bottleneck": ("Bottleneck",),
        "resnet": ("ResNet", "BasicBlock", "resnet18", "resnet34", "resnet50", "resnet101",
                   "resnet152"),
        "training": ("resnet18", "vgg11"),
    },
    SOFT: {
        "softmax_loss": ("softmax_loss",),
        "two_layer_forward_backward": ("two_layer_forward_backward",),
        "train_two_layer": ("train_two_layer", "two_layer_forward_backward"),
    },
}


def _table_with(mistake: mistakes.FormulaMistake):
    def cost_table(input_shape, layers):
        return mistakes.wrong_table(mistake, input_shape, layers)
    return cost_table


def _replacement_mutants() -> list[ReplacementMutant]:
    from autograder import promises

    found = [ReplacementMutant(COSTS, p.id, promises.BREAKERS[p.id].mistake, p.function,
                               lambda b=promises.BREAKERS[p.id]: b.fn)
             for p in promises.COST_PROMISES if p.id in p.mutants]
    # A formula mistake repeated in the table: a student whose cost_table computes its
    # formulas inline, and gets one of them wrong there only.
    found += [ReplacementMutant(COSTS, f"table_{m.id}", f"cost_table: {m.target} "
                                f"{m.description}", "cost_table",
                                functools.partial(_table_with, m))
              for m in mistakes.CATALOGUE]
    return found


REPLACEMENT_MUTANTS: list[ReplacementMutant] = _replacement_mutants()
_REPLACEMENTS = {m.id: m for m in REPLACEMENT_MUTANTS}


def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def formula_mutant_ids() -> list[str]:
    return [m.id for m in mistakes.CATALOGUE]


def catalogue(assignments: list[str] | None = None) -> list[dict]:
    """Every mutant as {"assignment", "id", "mistake"}, in report order. A mutant only a
    GPU grader can see (`needs="cuda"`) is listed where there is one."""
    entries = [{"assignment": "cnn_costs", "id": m.id, "mistake": m.description}
               for m in mistakes.CATALOGUE]
    entries += [{"assignment": m.assignment, "id": m.id, "mistake": m.mistake}
                for m in SOURCE_MUTANTS if m.needs is None or (m.needs == "cuda" and _cuda())]
    entries += [{"assignment": m.assignment, "id": m.id, "mistake": m.mistake}
                for m in REPLACEMENT_MUTANTS]
    return [e for e in entries if not assignments or e["assignment"] in assignments]


def _module_namespace(source: str, name: str) -> dict:
    module = types.ModuleType(name)
    module.__file__ = str(SOLUTIONS / f"{name}.py")
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module.__dict__


def _mutated_source(mutant: SourceMutant) -> str:
    source = (SOLUTIONS / f"{mutant.assignment}.py").read_text()
    for find, replace in mutant.edits:
        count = source.count(find)
        if count != 1:
            raise ValueError(f"mutant {mutant.id}: {find!r} occurs {count} times in the "
                             "reference (it must occur exactly once)")
        source = source.replace(find, replace)
    return source


def apply_source_mutant(mutant: SourceMutant) -> dict:
    return _module_namespace(_mutated_source(mutant), mutant.assignment)


def _definitions(tree: ast.Module) -> tuple[dict[str, str], list[str]]:
    """(top-level name -> its statement, dumped; the other top-level statements, dumped)."""
    named, other = {}, []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            named[node.name] = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and all(
                isinstance(t, ast.Name) for t in
                (node.targets if isinstance(node, ast.Assign) else [node.target])):
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                named[t.id] = node
        else:
            other.append(ast.dump(node))
    return named, other


def changed_names(mutant: SourceMutant) -> frozenset[str] | None:
    """The reference's top-level names whose definition the mutant changes, and every name
    that uses one of them; None when it changes a statement that defines no name (every
    question may see it then)."""
    before = ast.parse((SOLUTIONS / f"{mutant.assignment}.py").read_text())
    after = ast.parse(_mutated_source(mutant))
    (old, old_other), (new, new_other) = _definitions(before), _definitions(after)
    if old_other != new_other:
        return None
    changed = {n for n in old.keys() | new.keys()
               if n not in old or n not in new or ast.dump(old[n]) != ast.dump(new[n])}
    uses = {n: {x.id for x in ast.walk(node) if isinstance(x, ast.Name)}
            for n, node in new.items()}
    while True:
        more = {n for n, used in uses.items() if used & changed} - changed
        if not more:
            return frozenset(changed)
        changed |= more


def questions_of(entry: dict) -> list[str] | None:
    """The questions whose checks can reach the mutant; None: all of them."""
    names = QUESTION_NAMES[entry["assignment"]]
    if entry["assignment"] == COSTS and entry["id"] in mistakes.BY_ID:
        reached = {mistakes.BY_ID[entry["id"]].target}
    elif entry["id"] in _REPLACEMENTS:
        reached = {_REPLACEMENTS[entry["id"]].target}
    else:
        reached = changed_names(next(m for m in SOURCE_MUTANTS if m.id == entry["id"]))
        if reached is None:
            return None
    return [q for q, used in names.items() if reached & set(used)]


def mutant_env(entry: dict) -> dict:
    if entry["assignment"] == COSTS and (entry["id"] in mistakes.BY_ID
                                         or entry["id"] in _REPLACEMENTS):
        from solutions import cnn_costs

        env = dict(vars(cnn_costs))
        if entry["id"] in mistakes.BY_ID:
            mistake = mistakes.BY_ID[entry["id"]]
            env[mistake.target] = mistake.wrong
        else:
            replacement = _REPLACEMENTS[entry["id"]]
            env[replacement.target] = replacement.make()
        return env
    mutant = next(m for m in SOURCE_MUTANTS if m.id == entry["id"])
    return apply_source_mutant(mutant)


def _only(assignment: Assignment, questions: list[str] | None) -> Assignment:
    if questions is None:
        return assignment
    return Assignment(assignment.name, {q: assignment.points[q] for q in questions},
                      {q: assignment.checks[q] for q in questions})


def grade_mutant(entry: dict, assignment: Assignment | None = None) -> dict:
    """{"assignment", "id", "mistake", "caught", "lost": {question: points}}, graded on the
    questions that can see the mutant (questions_of)."""
    assignment = assignment or load_assignment(entry["assignment"])
    env = mutant_env(entry)
    questions = run_checks(lambda: env, _only(assignment, questions_of(entry)))
    lost = {q: round(r["possible"] - r["score"], 4) for q, r in questions.items()
            if r["score"] < r["possible"]}
    feedback = {q: questions[q]["feedback"] for q in lost}
    return {**entry, "caught": bool(lost), "lost": lost, "feedback": feedback}


def run(assignments: list[str] | None = None, progress=None) -> list[dict]:
    entries = catalogue(assignments)
    loaded = {name: load_assignment(name) for name in {e["assignment"] for e in entries}}
    results = []
    for entry in entries:
        results.append(grade_mutant(entry, loaded[entry["assignment"]]))
        if progress:
            progress(results[-1])
    return results
