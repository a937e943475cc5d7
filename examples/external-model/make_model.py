#!/usr/bin/env python3
"""Writes model.npz, the weights of predict.py's toy classifier.

For 48x48 grey faces as `relmask synth` draws them, with its seven classes
in its order. Class k's logit is GAIN x (mean brightness of region k - mean
brightness of the image), pixels scaled to 0..1: a linear model whose
weight image is GAIN/area inside the region, minus GAIN/(48*48) everywhere.
Regions are (top, bottom, left, right) rows and columns, bottom/right
exclusive, in the layout of a centred face.
"""
import numpy as np

CLASSES = ["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger"]
REGIONS = {
    "neutral": (6, 13, 14, 34),    # forehead
    "happy": (32, 40, 16, 32),     # mouth
    "sad": (13, 18, 10, 22),       # left brow
    "surprise": (13, 18, 26, 38),  # right brow
    "fear": (18, 24, 10, 38),      # eyes
    "disgust": (24, 32, 19, 29),   # nose
    "anger": (40, 46, 16, 32),     # chin
}
SIZE, GAIN = 48, 8.0

weight = np.full((len(CLASSES), 1, SIZE, SIZE), -GAIN / SIZE**2, dtype=np.float32)
for k, name in enumerate(CLASSES):
    top, bottom, left, right = REGIONS[name]
    weight[k, 0, top:bottom, left:right] += GAIN / ((bottom - top) * (right - left))
bias = np.zeros(len(CLASSES), dtype=np.float32)
np.savez_compressed("model.npz", weight=weight, bias=bias, classes=np.array(CLASSES))
print("model.npz:", weight.shape, "weights,", len(CLASSES), "classes")
