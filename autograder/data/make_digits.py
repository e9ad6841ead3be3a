"""Write digits.npz: scikit-learn's 8x8 handwritten digits (1,797 images, UCI "Optical
Recognition of Handwritten Digits", test part), for the hidden training check of
`softmax_backprop`. The grading image need not have scikit-learn, so the arrays ship here
(uint8, ~30 KB compressed). Rerun after a scikit-learn upgrade to confirm nothing changed:

    .venv/bin/python autograder/data/make_digits.py
"""
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

digits = load_digits()
out = Path(__file__).with_name("digits.npz")
np.savez_compressed(out, images=digits.data.astype(np.uint8), labels=digits.target.astype(np.uint8))
print(f"{out}: {digits.data.shape[0]} images, {out.stat().st_size} bytes")
