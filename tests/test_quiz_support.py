"""Shared helpers of the quiz tests (no tests here): independent re-derivations with real torch modules on the meta device."""
from __future__ import annotations

import torch
from torch import nn


def torch_rows(input_shape, layers):
    """[(output_shape, memory_kb, params, flops)] per layer, from torch modules; FLOPs from
    the output's numel times the work of one output element."""
    rows = []
    with torch.device("meta"):
        x = torch.empty(1, *input_shape)
        for layer in layers:
            kind = layer["type"]
            if kind == "conv":
                cin, k = x.shape[1], layer["kernel"]
                m = nn.Conv2d(cin, layer["out_channels"], k, stride=layer.get("stride", 1),
                              padding=layer.get("padding", 0), bias=layer.get("bias", True))
                x = m(x)
                flops = x.numel() * cin * k * k
            elif kind == "pool":
                k = layer["kernel"]
                m = nn.MaxPool2d(k, stride=layer.get("stride"), padding=layer.get("padding", 0))
                x = m(x)
                flops = x.numel() * k * k
            elif kind == "flatten":
                m = nn.Flatten()
                x = m(x)
                flops = 0
            else:
                x = x.flatten(1)
                m = nn.Linear(x.shape[1], layer["out_features"], bias=layer.get("bias", True))
                flops = m.weight.numel()  # one multiply-add per weight
                x = m(x)
            params = sum(p.numel() for p in m.parameters())
            rows.append((tuple(x.shape[1:]), x.numel() * 4 / 1024, params, flops))
    return rows


def conv_param_count(module) -> int:
    return sum(p.numel() for m in module.modules() if isinstance(m, nn.Conv2d)
               for p in m.parameters())


def real_block(extra):
    from solutions.cnn_architectures import BasicBlock, Bottleneck
    cls = BasicBlock if extra["block"] == "basic" else Bottleneck
    return cls(extra["in_channels"], extra["width"], extra["stride"])


def real_stage(extra):
    from solutions.cnn_architectures import BasicBlock, Bottleneck
    cls = BasicBlock if extra["block"] == "basic" else Bottleneck
    blocks, cin = [], extra["in_channels"]
    for i in range(extra["blocks"]):
        blocks.append(cls(cin, extra["width"], extra["stride"] if i == 0 else 1))
        cin = extra["width"] * cls.expansion
    return nn.Sequential(*blocks)


def meta_output_shape(module, input_shape):
    with torch.device("meta"):
        module = module.to("meta").eval()
        return tuple(module(torch.empty(1, *input_shape)).shape[1:])
