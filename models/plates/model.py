"""The plate-reading network: a small convolutional CRNN trained with CTC.

Why this shape: CTC reads 7- and 8-character plates with one head and needs no
character segmentation. The sequence part is 1-D convolution rather than an
LSTM: plate characters depend little on context, and convolutions run several
times faster on the 2-core CPUs the pipeline is sized for.

Input: grayscale crops resized to 32x128, standardised per image (so night and
overexposed crops look alike to the network). Output: logits of shape
(batch, 32 time steps, NUM_CLASSES), class 0 being the CTC blank.
"""
from __future__ import annotations

import cv2
import keras
import numpy as np
from keras import layers

from models.plates.charset import NUM_CLASSES

INPUT_H, INPUT_W = 32, 128
TIME_STEPS = INPUT_W // 4


def preprocess(images: list[np.ndarray]) -> np.ndarray:
    """BGR (or gray) uint8 crops -> float32 batch (n, 32, 128, 1) for the network."""
    out = np.empty((len(images), INPUT_H, INPUT_W, 1), np.float32)
    for i, img in enumerate(images):
        out[i, ..., 0] = preprocess_one(img)
    return out


def preprocess_one(img: np.ndarray) -> np.ndarray:
    """One crop -> standardised (32, 128) float32."""
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    shrink = gray.shape[1] > INPUT_W
    gray = cv2.resize(gray, (INPUT_W, INPUT_H), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    x = gray.astype(np.float32)
    return (x - x.mean()) / (x.std() + 8.0)


def _conv(x, filters: int):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def build_model() -> keras.Model:
    inp = keras.Input((INPUT_H, INPUT_W, 1), name="crop")
    x = _conv(inp, 16)
    x = layers.MaxPooling2D(2)(x)  # 16x64
    x = _conv(x, 48)
    x = layers.MaxPooling2D(2)(x)  # 8x32
    x = _conv(x, 64)
    x = _conv(x, 96)
    x = layers.MaxPooling2D((2, 1))(x)  # 4x32
    x = _conv(x, 128)
    x = layers.MaxPooling2D((2, 1))(x)  # 2x32
    x = layers.Permute((2, 1, 3))(x)  # width becomes time
    x = layers.Reshape((TIME_STEPS, 2 * 128))(x)
    x = layers.Conv1D(192, 3, padding="same", activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Conv1D(192, 3, padding="same", activation="relu")(x)
    logits = layers.Conv1D(NUM_CLASSES, 1, name="logits", dtype="float32")(x)  # float32 even when run in bfloat16
    return keras.Model(inp, logits, name="plate_crnn")
