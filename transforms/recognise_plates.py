"""Read the plate from the image when the camera's own read is missing or weak.

Events whose camera read is confident pass straight through. The others are
read by the plate model a buffer at a time (batches of up to 128 images, one
network call per batch): a plate crop is read directly, a full frame is first
searched for plate-shaped regions, each rectified and read, and the most
confident valid read wins.

Why not RunInference: its batching stamps every output batch at the end of
its window, so event times would be lost before the event-time windows
downstream (dispatch cooldown, metrics) and a watermark-driven runner such as
Prism would drop the events as late. Buffering inside the DoFn keeps each
event's timestamp and window, with the same batched calls to the model.

Outcomes, so that nothing is lost:
- the model reads a plate: it is used (plate_source `model`) unless the
  camera's read is at least as confident; the other read becomes an alternate;
- the model finds no plate: the camera's read stays, or the passing has no plate;
- the image cannot be used (missing, corrupt, too large, outside the events
  folder — or, for an absolute path, outside the configured image root):
  the camera's read stays, or the event is a dead letter saying why.
"""
from pathlib import Path
from typing import Optional

import apache_beam as beam

from transforms.buffered import BufferedDoFn
from transforms.parse_events import DEAD_LETTERS
from transforms.plates import normalise_plate
from transforms.records import CameraEvent, DeadLetter

MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000


def needs_model(event: CameraEvent, min_camera_confidence: float) -> bool:
    weak = event.plate is None or (event.plate_confidence or 0.0) < min_camera_confidence
    return bool(event.image) and weak


def apply_read(event: CameraEvent, read) -> CameraEvent:
    """The event with the better of the camera's and the model's reads."""
    plate = normalise_plate(read.plate) if read.plate else None
    if plate is None:
        return event
    alternates = [alt for alt in map(normalise_plate, read.alternates) if alt and alt != plate]
    camera_wins = event.plate is not None and (event.plate_confidence or 0.0) >= read.confidence
    if camera_wins:
        return event._replace(plate_alternates=list(dict.fromkeys([plate, *alternates])))
    if event.plate is not None and event.plate != plate:
        alternates = [event.plate, *alternates]
    return event._replace(plate=plate, plate_confidence=round(float(read.confidence), 4),
                          plate_color=read.color or event.plate_color, plate_source="model",
                          plate_alternates=list(dict.fromkeys(alternates)))


class _ReadImages(BufferedDoFn):
    buffer_size = 128

    def __init__(self, model_path: Optional[str], max_bytes: int, max_pixels: int,
                 image_root: Optional[str]):
        self._model_path = model_path
        self._max_bytes = max_bytes
        self._max_pixels = max_pixels
        self._image_root = Path(image_root).resolve() if image_root else None

    def setup(self):
        self._reader = None

    def _read(self, images, kinds):
        """Model reads; the model is loaded on first use, so replays without images skip it."""
        if self._reader is None:
            from models.plates.reader import PlateReader
            self._reader = PlateReader.load(self._model_path)
        return self._reader.read_auto(images, kinds)

    def _located(self, event: CameraEvent) -> tuple[str, Path]:
        """(reference, folder it must stay in): absolute paths only under the image root."""
        path = Path(event.image)
        if self._image_root and path.is_absolute() and path.is_relative_to(self._image_root):
            return str(path.relative_to(self._image_root)), self._image_root
        return event.image, Path(event.image_base)

    def _image(self, event: CameraEvent):
        from models.plates.images import ImageError, decode_image, load_image_ref
        try:
            data = load_image_ref(*self._located(event), max_bytes=self._max_bytes)
            return decode_image(data, max_pixels=self._max_pixels), None
        except ImageError as unusable:
            return None, unusable.reason

    def process_buffer(self, buffer):
        loaded = [self._image(wv.value) for wv in buffer]
        usable = [(wv, image) for wv, (image, _) in zip(buffer, loaded) if image is not None]
        reads = iter(self._read([image for _, image in usable],
                                [wv.value.image_kind for wv, _ in usable]) if usable else [])
        for wv, (image, reason) in zip(buffer, loaded):
            event = wv.value
            if image is not None:
                yield wv.with_value(apply_read(event, next(reads)))
            elif event.plate is not None:
                yield wv.with_value(event)
            else:
                yield beam.pvalue.TaggedOutput(DEAD_LETTERS, wv.with_value(DeadLetter(
                    event.source, event.event_id, "recognise", f"image: {reason}", event.image[:1000])))


class RecognisePlates(beam.PTransform):
    """CameraEvents → (CameraEvents with the best available read, DeadLetters)."""

    def __init__(self, model_path: Optional[str] = None, min_camera_confidence: float = 0.8,
                 max_image_bytes: int = MAX_IMAGE_BYTES, max_image_pixels: int = MAX_IMAGE_PIXELS,
                 image_root: Optional[str] = None):
        super().__init__()
        self._min_camera_confidence = min_camera_confidence
        self._fn = _ReadImages(model_path, max_image_bytes, max_image_pixels, image_root)

    def expand(self, events):
        threshold = self._min_camera_confidence
        confident, unsure = events | "NeedsModel" >> beam.Partition(
            lambda event, _: int(needs_model(event, threshold)), 2)
        read = unsure | "Read" >> beam.ParDo(self._fn).with_outputs(DEAD_LETTERS, main="events")
        return (confident, read.events) | "Together" >> beam.Flatten(), read.dead_letters
