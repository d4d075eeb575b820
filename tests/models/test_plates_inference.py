"""The Beam ModelHandler: shape-checked batches, one bad element does not spoil the rest."""
import numpy as np
import pytest

from models.plates import render
from models.plates.inference import PlateModelHandler, prepare_crop

pytestmark = [pytest.mark.beam, pytest.mark.model]


@pytest.fixture(scope="module")
def handler_and_model():
    handler = PlateModelHandler()
    return handler, handler.load_model()


def test_batching_bounds(handler_and_model):
    handler, _ = handler_and_model
    assert handler.batch_elements_kwargs() == {"min_batch_size": 64, "max_batch_size": 256}


def test_run_inference_isolates_bad_elements(handler_and_model):
    handler, model = handler_and_model
    rng = np.random.default_rng(31)
    texts = [render.random_plate(rng) for _ in range(3)]
    good = [prepare_crop(render.render_crop(t, c, rng)) for t, c in texts]
    batch = [good[0], np.zeros((10, 10), np.float32), "junk", good[1], np.full((32, 128), np.nan, np.float32), good[2]]
    results = list(handler.run_inference(batch, model))
    assert len(results) == len(batch)
    assert all(results[i].inference.plate is None and results[i].inference.reason for i in (1, 2, 4))
    alone = list(handler.run_inference(good, model))
    assert [results[i].inference.plate for i in (0, 3, 5)] == [r.inference.plate for r in alone]
    for i, r in zip((0, 3, 5), alone):
        assert np.allclose(results[i].inference.char_confidences, r.inference.char_confidences, atol=1e-4)
    assert results[0].example is good[0]


def test_run_inference_under_beam():
    import apache_beam as beam
    from apache_beam.ml.inference.base import RunInference
    from apache_beam.testing.util import assert_that, equal_to

    rng = np.random.default_rng(5)
    crops = [render.render_crop("琼A12345", "blue", rng) for _ in range(3)]
    with beam.Pipeline(runner="FnApiRunner") as p:
        plates = (
            p
            | beam.Create(crops)
            | beam.Map(prepare_crop)
            | RunInference(PlateModelHandler())
            | beam.Map(lambda r: r.inference.plate is not None or r.inference.reason is not None)
        )
        assert_that(plates, equal_to([True] * 3))
