"""A Beam ``ModelHandler`` so the plate reader runs under ``RunInference``.

Beam's stock TensorFlow handler imports tensorflow_hub, which the pipeline
does not install, so this small handler loads the Keras file itself.
Elements are crops already preprocessed by :func:`prepare_crop` (a cheap
``beam.Map`` before ``RunInference``); each is shape-checked before the batch
is stacked, so one malformed element gets its own failed ``PlateRead``
instead of failing -- and dead-lettering -- the whole batch.

Example::

    import apache_beam as beam
    from apache_beam.ml.inference.base import RunInference
    from models.plates.inference import PlateModelHandler, prepare_crop

    reads = (
        crops                                      # PCollection of BGR uint8 crops
        | beam.Map(prepare_crop)
        | RunInference(PlateModelHandler())        # -> PredictionResult(example, PlateRead)
        | beam.Map(lambda result: result.inference)
    )
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from models.plates.enhance import maybe_enhance
from models.plates.model import INPUT_H, INPUT_W, preprocess_one
from models.plates.reader import PlateReader, failed, to_read

EXPECTED_SHAPES = ((INPUT_H, INPUT_W), (INPUT_H, INPUT_W, 1))


def prepare_crop(img: np.ndarray) -> np.ndarray:
    """A BGR uint8 plate crop -> the (32, 128) float32 array the handler expects."""
    return preprocess_one(maybe_enhance(img))


def _shape_error(x: Any) -> str | None:
    if not isinstance(x, np.ndarray):
        return f"not an array ({type(x).__name__})"
    if x.shape not in EXPECTED_SHAPES:
        return f"expected a preprocessed crop of shape {EXPECTED_SHAPES[0]}, got {x.shape}"
    if not np.isfinite(x).all():
        return "preprocessed crop has NaN or infinite values"
    return None


class PlateModelHandler(ModelHandler[np.ndarray, PredictionResult, PlateReader]):
    """RunInference handler: preprocessed crops in, ``PredictionResult(crop, PlateRead)`` out."""

    def __init__(self, model_path: str | Path | None = None, *, min_batch_size: int = 64, max_batch_size: int = 256):
        super().__init__(min_batch_size=min_batch_size, max_batch_size=max_batch_size)
        self.model_path = model_path

    def load_model(self) -> PlateReader:
        return PlateReader.load(self.model_path)

    def run_inference(
        self, batch: Sequence[np.ndarray], model: PlateReader, inference_args: dict[str, Any] | None = None
    ) -> Iterable[PredictionResult]:
        errors = [_shape_error(x) for x in batch]
        good = [x.reshape(INPUT_H, INPUT_W, 1).astype(np.float32) for x, e in zip(batch, errors) if e is None]
        decoded = iter(model.decode_preprocessed(np.stack(good), repair=True) if good else [])
        return [
            PredictionResult(x, failed(e) if e else to_read(next(decoded)), model_id=str(self.model_path or "shipped"))
            for x, e in zip(batch, errors)
        ]

    def get_num_bytes(self, batch: Sequence[np.ndarray]) -> int:
        return sum(x.nbytes if isinstance(x, np.ndarray) else 0 for x in batch)

    def get_metrics_namespace(self) -> str:
        return "roadchief_plate_reader"
