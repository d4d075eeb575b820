"""Read the plate from the image when the camera's own read is missing or weak.

Events whose camera read is confident pass straight through. The others are
read by the plate model within their block, in batches of up to 128 images (one
network call per batch): a plate crop is read directly, a full frame is first
searched for plate-shaped regions, each rectified and read, and the most
confident valid read wins. They stay in their block: taking them out and
merging them back would need a Flatten, which the FnApiRunner holds whole, every
event of a replay at once.

Why not RunInference: its batching stamps every output batch at the end of
its window, so event times would be lost before the event-time windows
downstream (dispatch cooldown, metrics) and a watermark-driven runner such as
Prism would drop the events as late. Reading within the block keeps each
event's timestamp and window, with the same batched calls to the model.

Outcomes, so that nothing is lost:
- the model reads a plate: it is used (plate_source `model`) unless the
  camera's read is at least as confident; the other read becomes an alternate;
- the model finds no plate: the camera's read stays, or the passing has no plate;
- the image cannot be used (missing, corrupt, not a regular file, too large
  as a file or once decoded, outside the events folder — or, for an absolute
  path, outside the configured image root), or the reader fails on it: the
  camera's read stays, or the event is a dead letter saying why.

Memory: the decoded images of a batch live together until the model has read
them. Each worker process has one budget (`max_image_memory_bytes`) for the
decoded images of all its threads; a batch is read early rather than let it
grow past its share, and a thread waits for the budget without holding any.
The plate model is loaded once per worker process too (`apache_beam.utils.shared`),
and its threads read through the same reader.
"""
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import apache_beam as beam
from apache_beam.utils.shared import Shared

from models.plate_rules import normalise_plate
from models.plates.images import MAX_DECODED_BYTES
from models.records import DEAD_LETTERS, CameraEvent, DeadLetter
from transforms.blocks import Block
from transforms.stage_metrics import FRAMES_RECOGNISED, RECOGNITION_MS, counted

MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
MAX_IMAGE_MEMORY_BYTES = 256 * 1024 * 1024
_BUDGETS: dict[int, "ImageMemory"] = {}
_BUDGETS_LOCK = threading.Lock()


@dataclass(frozen=True)
class RecognitionConfig:
    """What RecognisePlates may read and how much of it: the model, when a camera read is
    trusted, and the limits that keep a hostile or broken image from exhausting a worker."""
    model_path: Optional[str] = None  # None: the shipped committee of three
    region: Optional[str] = None  # the cameras' province (world.json), the prior of an unsure province read
    min_camera_confidence: float = 0.8
    max_image_bytes: int = MAX_IMAGE_BYTES
    max_image_pixels: int = MAX_IMAGE_PIXELS
    image_root: Optional[str] = None  # absolute image paths are allowed only under it
    max_image_decoded_bytes: int = MAX_DECODED_BYTES
    max_image_memory_bytes: int = MAX_IMAGE_MEMORY_BYTES


class ImageMemory:
    """Bytes of decoded images that the threads of one process may hold at once."""

    def __init__(self, limit: int):
        self.limit = limit
        self.peak = 0
        self._used = 0
        self._changed = threading.Condition()

    @classmethod
    def of_process(cls, limit: int) -> "ImageMemory":
        with _BUDGETS_LOCK:
            return _BUDGETS.setdefault(limit, cls(limit))

    def try_take(self, size: int) -> bool:
        with self._changed:
            if self._used + size > self.limit:
                return False
            self._add(size)
            return True

    def take(self, size: int) -> None:
        """Waits for `size` bytes; an image larger than the whole budget waits until it is alone."""
        with self._changed:
            self._changed.wait_for(lambda: self._used + size <= self.limit or self._used == 0)
            self._add(size)

    def _add(self, size: int) -> None:
        self._used += size
        self.peak = max(self.peak, self._used)

    def give_back(self, size: int) -> None:
        with self._changed:
            self._used -= size
            self._changed.notify_all()


READ_FIELDS = ("plate", "plate_confidence", "image")  # what weak_read decides on


def weak_read(plate: Optional[str], confidence: Optional[float], image: Optional[str],
              min_camera_confidence: float) -> bool:
    """Whether an event with this camera read and image goes to the model."""
    weak = plate is None or (confidence or 0.0) < min_camera_confidence
    return bool(image) and weak


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


class _ReadImages(beam.DoFn):
    """A block of CameraEvents → the block with the model's reads, and DeadLetters."""
    batch_size = 128

    def __init__(self, config: RecognitionConfig):
        self._min_camera_confidence = config.min_camera_confidence
        self._model_path = config.model_path
        self._region = config.region
        self._max_bytes = config.max_image_bytes
        self._max_pixels = config.max_image_pixels
        self._max_decoded_bytes = config.max_image_decoded_bytes
        self._max_memory_bytes = config.max_image_memory_bytes
        self._image_root = Path(config.image_root).resolve() if config.image_root else None
        # Pickled with the DoFn, so every instance in a worker process holds the same handle.
        self._readers = Shared()

    def setup(self):
        self._reader = None
        self._memory = ImageMemory.of_process(self._max_memory_bytes)

    def _read(self, images, kinds):
        """Model reads; the model is loaded on first use, so replays without images skip it.

        `recognition_ms` is the time of one call of the model, loading aside:
        every image of the batch waits that long for its read.
        """
        if self._reader is None:
            self._reader = self.shared_reader()
        started = time.perf_counter()
        reads = self._reader.read_auto(images, kinds, self._region)
        RECOGNITION_MS.update(round((time.perf_counter() - started) * 1000))
        FRAMES_RECOGNISED.inc(len(images))
        return reads

    def shared_reader(self):
        """The process's one reader: a multi-threaded worker runs a DoFn instance per
        thread, and a committee of weights per thread would multiply its memory."""
        def load():
            from models.plates.reader import PlateReader
            return PlateReader.load(self._model_path)
        return self._readers.acquire(load, tag=self._model_path)

    def _located(self, event: CameraEvent) -> tuple[str, Path]:
        """(reference, folder it must stay in): absolute paths only under the image root."""
        assert event.image is not None, "only events that need the model, which have an image, are read"
        path = Path(event.image)
        if self._image_root and path.is_absolute() and path.is_relative_to(self._image_root):
            return str(path.relative_to(self._image_root)), self._image_root
        return event.image, Path(event.image_base)

    def _load(self, event: CameraEvent):
        """(encoded bytes, bytes they decode to), or ImageError."""
        from models.plates.images import checked_header, load_image_ref
        data = load_image_ref(*self._located(event), max_bytes=self._max_bytes)
        header = checked_header(data, max_pixels=self._max_pixels, max_decoded_bytes=self._max_decoded_bytes)
        return data, header.decoded_bytes

    def process(self, events: Block):
        least = self._min_camera_confidence
        unsure = [index for index, (plate, confidence, image)
                  in enumerate(zip(*(events.column(name) for name in READ_FIELDS)))
                  if weak_read(plate, confidence, image, least)]
        if not unsure:
            yield events
            return
        results = {}
        for start in range(0, len(unsure), self.batch_size):
            batch = unsure[start:start + self.batch_size]
            results.update(self.read_events([(index, events[index]) for index in batch]))
        columns = [list(column) for column in events.columns]
        for index, result in results.items():
            if isinstance(result, DeadLetter):
                yield beam.pvalue.TaggedOutput(DEAD_LETTERS, result)
            else:
                for column, value in zip(columns, result):
                    column[index] = value
        kept = [index for index in range(len(events)) if not isinstance(results.get(index), DeadLetter)]
        if kept:
            yield Block.of(CameraEvent, columns).take(kept)

    def read_events(self, indexed):
        """(index, event) pairs → (index, the event with the model's read, or a DeadLetter)."""
        from models.plates.images import ImageError, decode_image
        batch, held = [], 0
        for index, event in indexed:
            try:
                data, size = self._load(event)
                if not self._memory.try_take(size):
                    yield from self._read_batch(batch)  # never wait while holding any of the budget
                    self._memory.give_back(held)
                    batch, held = [], 0
                    self._memory.take(size)
                held += size
                try:
                    image = decode_image(data, max_pixels=self._max_pixels,
                                         max_decoded_bytes=self._max_decoded_bytes)
                except ImageError:
                    self._memory.give_back(size)
                    held -= size
                    raise
                batch.append((index, event, image))
            except ImageError as unusable:
                yield index, self._unusable(event, unusable.reason)
            except Exception as failure:  # an image must never stop the run
                yield index, self._unusable(event, f"cannot be read ({type(failure).__name__})")
        try:
            yield from self._read_batch(batch)
        finally:
            self._memory.give_back(held)

    def _read_batch(self, batch):
        """(index, result) for (index, event, image) triples; a batch the reader fails on is read image by image."""
        if not batch:
            return
        try:
            reads = self._read([image for _, _, image in batch], [event.image_kind for _, event, _ in batch])
        except Exception:
            if len(batch) == 1:
                index, event, _ = batch[0]
                logging.warning("the plate reader failed on %s", event.source, exc_info=True)
                yield index, self._unusable(event, "the plate reader failed on it")
                return
            for one in batch:
                yield from self._read_batch([one])
            return
        for (index, event, _), read in zip(batch, reads):
            yield index, apply_read(event, read)

    @staticmethod
    def _unusable(event: CameraEvent, reason: str) -> CameraEvent | DeadLetter:
        """The camera's read, if there is one; else a dead letter saying why."""
        if event.plate is not None:
            return event
        return counted(DeadLetter(
            event.source, event.event_id, "recognise", f"image: {reason}", (event.image or "")[:1000]))


class RecognisePlates(beam.PTransform):
    """Blocks of CameraEvents → (blocks of CameraEvents with the best available read, DeadLetters)."""

    def __init__(self, config: RecognitionConfig = RecognitionConfig()):
        super().__init__()
        self._fn = _ReadImages(config)

    def expand(self, blocks):
        read = blocks | "Read" >> beam.ParDo(self._fn).with_output_types(Block).with_outputs(
            DEAD_LETTERS, main="events")
        return read.events, read.dead_letters
