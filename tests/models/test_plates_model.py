"""The network as read is the network as trained, with its batch normalisations folded in."""
import numpy as np
import pytest
from keras import layers

from models.plates.model import build_model, for_reading, preprocess
from models.plates.reader import DEFAULT_WEIGHTS, load_keras_model
from models.plates.training import render

pytestmark = pytest.mark.model


def test_folding_batch_norm_keeps_the_trained_networks_logits():
    trained = load_keras_model(DEFAULT_WEIGHTS)
    rng = np.random.default_rng(5)
    batch = preprocess([render.render_crop(*render.random_plate(rng), rng) for _ in range(32)])
    folded = for_reading(trained)
    assert not any(isinstance(layer, layers.BatchNormalization) for layer in folded.layers)
    assert folded.count_params() < trained.count_params()
    expected = trained.predict(batch, verbose=0)
    assert np.abs(folded.predict(batch, verbose=0) - expected).max() < 1e-3 * np.abs(expected).max()


def test_a_folded_copy_computes_in_the_asked_precision_and_leaves_the_default_alone():
    fast = for_reading(build_model(), "mixed_bfloat16")
    assert {layer.compute_dtype for layer in fast.layers if isinstance(layer, layers.Conv2D)} == {"bfloat16"}
    assert fast.output.dtype == "float32"
    assert build_model().layers[1].compute_dtype == "float32"
