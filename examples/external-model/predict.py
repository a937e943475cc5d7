#!/usr/bin/env python3
"""A hand-written external model for relmask's occlusion relevance.

    python3 predict.py IN.npy OUT.npy

relmask writes IN: uint8 pixels 0..255 shaped (n, C, H, W). This script
writes OUT: float32 class probabilities shaped (n, K), each row summing to 1.
Any program that does the same can be the model (docs/relevance.md,
"External models (--predict-cmd)").

The "model" is a linear classifier on the pixels scaled to 0..1,
logits = x . W + b, followed by a softmax. W and b come from model.npz beside
this script (make_model.py wrote it): each expression class measures how
bright one face region is compared with the whole image. It is a toy that
shows the exchange and what occlusion finds, not a good classifier.
Needs only numpy.
"""
import os
import sys

import numpy as np


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: predict.py IN.npy OUT.npy\n")
        return 2
    model = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.npz"))
    weight, bias = model["weight"], model["bias"]  # (K, C, H, W), (K,)

    images = np.load(argv[1])
    if images.dtype != np.uint8 or images.shape[1:] != weight.shape[1:]:
        expected = ", ".join(str(d) for d in weight.shape[1:])
        sys.stderr.write(f"predict.py: {argv[1]} holds {images.dtype} {images.shape}, "
                         f"expected uint8 (n, {expected})\n")
        return 1

    x = images.reshape(len(images), -1).astype(np.float32) / 255
    logits = x @ weight.reshape(len(weight), -1).T + bias
    logits -= logits.max(axis=1, keepdims=True)  # a stable softmax
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)

    with open(argv[2], "wb") as f:  # a file object: np.save adds no ".npy"
        np.save(f, probs.astype(np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
