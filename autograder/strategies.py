"""Hypothesis strategies for conv and pool parameters, shared by the project's own tests and
the autograder's hidden tests (one definition of "a valid layer")."""
from __future__ import annotations

from hypothesis import strategies as st


@st.composite
def conv_args(draw, max_size: int = 64, max_kernel: int = 11):
    """(size, kernel, stride, padding) that torch.nn.Conv2d accepts."""
    kernel = draw(st.integers(1, max_kernel))
    padding = draw(st.integers(0, kernel))
    # The kernel may equal the padded input: the smallest valid size.
    size = draw(st.integers(max(1, kernel - 2 * padding), max_size))
    stride = draw(st.integers(1, kernel + 3))  # strides above the kernel skip inputs
    return size, kernel, stride, padding


@st.composite
def pool_args(draw, max_size: int = 64, max_kernel: int = 7):
    """(size, kernel, stride or None, padding) that torch.nn.MaxPool2d accepts."""
    kernel = draw(st.integers(1, max_kernel))
    padding = draw(st.integers(0, kernel // 2))
    size = draw(st.integers(max(1, kernel - 2 * padding), max_size))
    stride = draw(st.none() | st.integers(1, kernel + 3))
    return size, kernel, stride, padding


@st.composite
def invalid_conv_args(draw, max_size: int = 64):
    """(size, kernel, stride, padding, offending argument name) that must raise ValueError."""
    which = draw(st.sampled_from(["kernel", "stride", "padding", "too_large"]))
    size, kernel, stride, padding = draw(conv_args(max_size))
    if which == "kernel":
        kernel = draw(st.integers(-3, 0))
    elif which == "stride":
        stride = draw(st.integers(-3, 0))
    elif which == "padding":
        padding = draw(st.integers(-3, -1))
    else:
        padding = draw(st.integers(0, 2))
        kernel = size + 2 * padding + draw(st.integers(1, 5))
        which = "kernel"
    return size, kernel, stride, padding, which


@st.composite
def invalid_pool_padding(draw, max_size: int = 64):
    """(size, kernel, stride, padding) with padding > kernel // 2, which torch rejects."""
    kernel = draw(st.integers(1, 7))
    padding = draw(st.integers(kernel // 2 + 1, kernel // 2 + 3))
    size = draw(st.integers(max(1, kernel), max_size))
    stride = draw(st.none() | st.integers(1, kernel + 2))
    return size, kernel, stride, padding


@st.composite
def conv_layer(draw, max_channels: int = 64, max_size: int = 64):
    """(in_channels, height, width, out_channels, kernel, stride, padding), non-square."""
    kernel = draw(st.integers(1, 7))
    padding = draw(st.integers(0, kernel // 2 + 1))
    low = max(1, kernel - 2 * padding)
    height = draw(st.integers(low, max_size))
    width = draw(st.integers(low, max_size))
    stride = draw(st.integers(1, kernel + 2))
    cin = draw(st.integers(1, max_channels))
    cout = draw(st.integers(1, max_channels))
    return cin, height, width, cout, kernel, stride, padding
