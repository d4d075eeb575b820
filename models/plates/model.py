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

from models.plates.quiet import import_tensorflow_quietly

import_tensorflow_quietly()  # before keras, which imports TensorFlow

import cv2  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from models.plates.charset import NUM_CLASSES  # noqa: E402

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


def _conv(x, filters: int, batch_norm: bool):
    if not batch_norm:  # folded for reading: convolution, bias and ReLU run as one fused op
        return layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def build_model(batch_norm: bool = True) -> keras.Model:
    """The network as trained, or with ``batch_norm=False`` as read (see `for_reading`)."""
    inp = keras.Input((INPUT_H, INPUT_W, 1), name="crop")
    x = _conv(inp, 16, batch_norm)
    x = layers.MaxPooling2D(2)(x)  # 16x64
    x = _conv(x, 48, batch_norm)
    x = layers.MaxPooling2D(2)(x)  # 8x32
    x = _conv(x, 64, batch_norm)
    x = _conv(x, 96, batch_norm)
    x = layers.MaxPooling2D((2, 1))(x)  # 4x32
    x = _conv(x, 128, batch_norm)
    x = layers.MaxPooling2D((2, 1))(x)  # 2x32
    x = layers.Permute((2, 1, 3))(x)  # width becomes time
    x = layers.Reshape((TIME_STEPS, 2 * 128))(x)
    x = layers.Conv1D(192, 3, padding="same", activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Conv1D(192, 3, padding="same", activation="relu")(x)
    logits = layers.Conv1D(NUM_CLASSES, 1, name="logits", dtype="float32")(x)  # float32 even when run in bfloat16
    return keras.Model(inp, logits, name="plate_crnn")


def for_reading(model: keras.Model, dtype_policy: str = "float32") -> keras.Model:
    """A copy of the trained ``model`` for inference, computing in ``dtype_policy``.

    At inference a batch normalisation is a fixed per-channel scale and shift,
    so it is folded into the convolution before it: the same arithmetic in
    one fused op instead of four passes over the activations, which reads
    crops about 45% faster in bfloat16 (bench/bench_recognition.py)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype_policy)
    try:
        folded = build_model(batch_norm=False)
    finally:
        keras.config.set_dtype_policy(previous)
    norms = iter(layer for layer in model.layers if isinstance(layer, layers.BatchNormalization))
    for source, target in zip(_weighted(model), _weighted(folded), strict=True):
        if isinstance(source, layers.Conv2D):
            norm = next(norms)
            gamma, beta, mean, var = norm.get_weights()
            scale = gamma / np.sqrt(var + norm.epsilon)
            target.set_weights([source.get_weights()[0] * scale, beta - mean * scale])
        else:
            target.set_weights(source.get_weights())
    return folded


def _weighted(model: keras.Model) -> list:
    """The convolutions, in order: the layers whose weights a folded copy carries."""
    return [layer for layer in model.layers if isinstance(layer, (layers.Conv2D, layers.Conv1D))]
