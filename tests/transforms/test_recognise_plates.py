import base64
import pickle
import threading
import time
from collections import namedtuple

import apache_beam as beam
import cv2
import numpy as np
import pytest

from tests.builders import camera_event
from transforms.blocks import Block
from transforms.enrich.recognise_plates import (
    READ_FIELDS,
    ImageMemory,
    RecognitionConfig,
    _ReadImages,
    apply_read,
    weak_read,
)

Read = namedtuple("Read", "plate confidence alternates color")


def test_a_more_confident_model_read_replaces_the_camera_read():
    out = apply_read(camera_event("琼C1234S", 0.5), Read("琼C12345", 0.95, ("琼C12346",), "blue"))
    assert (out.plate, out.plate_source, out.plate_confidence) == ("琼C12345", "model", 0.95)
    assert out.plate_alternates == ["琼C1234S", "琼C12346"]


def test_a_confident_camera_keeps_its_read_and_the_model_read_becomes_an_alternate():
    out = apply_read(camera_event("琼C12345", 0.9), Read("琼C1234S", 0.6, (), "blue"))
    assert (out.plate, out.plate_source, out.plate_alternates) == ("琼C12345", "camera", ["琼C1234S"])


def test_no_model_read_leaves_the_event_as_it_was():
    assert apply_read(camera_event(None, None), Read(None, 0.0, (), None)) == camera_event(None, None)


def read_block(fn, events):
    """The DoFn's outputs for one block: its events one by one, then its dead letters as tagged."""
    out = list(fn.process(Block(events)))
    return ([event for block in out if isinstance(block, Block) for event in block]
            + [o for o in out if isinstance(o, beam.pvalue.TaggedOutput)])


def run_fn(*events, image_root=None):
    fn = _ReadImages(RecognitionConfig(max_image_bytes=1000, max_image_pixels=10_000, image_root=image_root))
    fn.setup()
    return read_block(fn, events)


def value(out):
    return out.value if isinstance(out, beam.pvalue.TaggedOutput) else out


@pytest.mark.parametrize("image, reason", [
    ("missing.jpg", "image file not found"),
    ("../../etc/passwd", "escapes the events folder"),
    ("/etc/passwd", "absolute image paths"),
    ("data:image/png;base64," + base64.b64encode(b"x" * 2000).decode(), "larger than 1000 bytes"),
    ("data:image/png;base64,!!!!", "invalid base64"),
])
def test_an_unusable_image_without_a_camera_read_is_a_dead_letter(tmp_path, image, reason):
    (out,) = run_fn(camera_event(None, None, image=image, base=str(tmp_path)))
    assert isinstance(out, beam.pvalue.TaggedOutput) and out.tag == "dead_letters"
    letter = value(out)
    assert letter.stage == "recognise" and reason in letter.reason and letter.event_id == "e1"


def test_an_unusable_image_with_a_camera_read_keeps_the_camera_read(tmp_path):
    weak = camera_event("琼C12345", 0.3, image="missing.jpg", base=str(tmp_path))
    assert run_fn(weak) == [weak]


@pytest.mark.parametrize("content, reason", [
    (b"", "empty image"),
    (b"not an image at all", "not a JPEG or PNG"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 20, "corrupt JPEG"),
])
def test_broken_image_files_are_dead_letters_not_crashes(tmp_path, content, reason):
    (tmp_path / "x.jpg").write_bytes(content)
    (out,) = run_fn(camera_event(None, None, image="x.jpg", base=str(tmp_path)))
    assert value(out).stage == "recognise" and reason in value(out).reason


def needs_model(event, min_camera_confidence: float) -> bool:
    return weak_read(*(getattr(event, name) for name in READ_FIELDS), min_camera_confidence)


def test_only_weak_or_missing_reads_with_an_image_go_to_the_model():
    assert not needs_model(camera_event("琼C12345", 0.95, image="never-opened.jpg"), 0.8)
    assert not needs_model(camera_event(None, None), 0.8)
    assert needs_model(camera_event("琼C12345", 0.5, image="x.jpg"), 0.8)
    assert needs_model(camera_event(None, None, image="x.jpg"), 0.8)


def test_absolute_paths_are_read_only_under_the_image_root(tmp_path):
    (tmp_path / "cams").mkdir()
    (tmp_path / "cams" / "x.jpg").write_bytes(b"not an image")
    inside = camera_event(None, None, image=str(tmp_path / "cams" / "x.jpg"), base="/elsewhere")
    (refused,) = run_fn(inside)
    assert "absolute image paths" in value(refused).reason
    (opened,) = run_fn(inside, image_root=str(tmp_path / "cams"))
    assert "JPEG or PNG" in value(opened).reason
    outside = camera_event(None, None, image="/etc/hostname", base="/elsewhere")
    (still_refused,) = run_fn(outside, image_root=str(tmp_path / "cams"))
    assert "absolute image paths" in value(still_refused).reason


def test_threads_sharing_the_image_memory_never_hold_more_than_its_limit():
    memory = ImageMemory(limit=100)
    sizes = np.random.default_rng(1).integers(1, 60, 400)

    def work(part):
        for size in part:
            if not memory.try_take(int(size)):
                memory.take(int(size))
            time.sleep(0.0005)
            memory.give_back(int(size))

    threads = [threading.Thread(target=work, args=(sizes[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert memory.peak <= 100 and memory._used == 0


@pytest.mark.model
def test_a_buffer_of_images_is_read_in_batches_that_fit_the_memory(tmp_path):
    from models.plates.training.render import render_plate
    crop = render_plate("琼C12345", "blue", np.random.default_rng(0))
    cv2.imwrite(str(tmp_path / "crop.png"), crop)
    one = crop.size  # decoded bytes of one 3-channel crop
    fn = _ReadImages(RecognitionConfig(max_image_bytes=1 << 20, max_image_pixels=10_000_000,
                                       max_image_decoded_bytes=one, max_image_memory_bytes=3 * one + 1))
    fn.setup()
    events = [camera_event(None, None, image="crop.png", base=str(tmp_path))._replace(event_id=f"e{n}")
              for n in range(10)]
    reads = read_block(fn, events)
    assert sorted(r.event_id for r in reads) == sorted(e.event_id for e in events)
    assert all(r.plate_source == "model" for r in reads)
    assert fn._memory.peak <= 3 * one + 1


@pytest.mark.model
def test_an_image_the_reader_fails_on_is_a_dead_letter_and_the_rest_are_read(tmp_path):
    from models.plates.training.render import render_plate
    poison = (37, 123, 3)
    for n in range(4):
        crop = render_plate("琼C12345", "blue", np.random.default_rng(n))
        if n == 2:
            crop = cv2.resize(crop, poison[1::-1])
        cv2.imwrite(str(tmp_path / f"crop{n}.png"), crop)

    class FailsOnOneShape(_ReadImages):
        """A reader fault injected on one image: the real reader has none to offer."""
        def _read(self, images, kinds):
            if any(image.shape == poison for image in images):
                raise ValueError("reader fault")
            return super()._read(images, kinds)

    fn = FailsOnOneShape(RecognitionConfig(max_image_bytes=1 << 20, max_image_pixels=10_000_000))
    fn.setup()
    events = [camera_event(None, None, image=f"crop{n}.png", base=str(tmp_path))._replace(event_id=f"e{n}")
              for n in range(4)]
    out = read_block(fn, events)
    dead = [value(o) for o in out if isinstance(o, beam.pvalue.TaggedOutput)]
    read = [o for o in out if not isinstance(o, beam.pvalue.TaggedOutput)]
    assert [d.event_id for d in dead] == ["e2"] and "reader failed" in dead[0].reason
    assert sorted(r.event_id for r in read) == ["e0", "e1", "e3"]


def test_the_dofn_instances_of_a_worker_process_share_one_reader(monkeypatch):
    """A runner makes each instance by unpickling the same DoFn: all of them, on any thread, get
    the reader the first one loaded."""
    import models.plates.reader

    class Reader:
        """Stands in for the committee, whose loading is what is counted."""

    loads = []
    monkeypatch.setattr(models.plates.reader.PlateReader, "load",
                        lambda path=None: loads.append(path) or Reader())
    stage = pickle.dumps(_ReadImages(RecognitionConfig(max_image_bytes=1000, max_image_pixels=10_000)))
    instances = [pickle.loads(stage) for _ in range(4)]
    readers = []
    threads = [threading.Thread(target=lambda fn=fn: (fn.setup(), readers.append(fn.shared_reader())))
               for fn in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(readers) == 4 and all(reader is readers[0] for reader in readers)
    assert loads == [None]


def test_stages_with_their_own_model_load_their_own_reader(monkeypatch):
    import models.plates.reader

    class Reader:
        def __init__(self, path):
            self.path = path

    monkeypatch.setattr(models.plates.reader.PlateReader, "load", lambda path=None: Reader(path))
    first, second = (_ReadImages(RecognitionConfig(path, max_image_bytes=1000, max_image_pixels=10_000))
                     for path in ("a.keras", "b.keras"))
    first.setup(), second.setup()
    assert (first.shared_reader().path, second.shared_reader().path) == ("a.keras", "b.keras")


def test_the_stage_reads_with_the_cameras_province(tmp_path):
    cv2.imwrite(str(tmp_path / "crop.png"), np.full((40, 140, 3), 200, np.uint8))

    class Reader:
        regions: list = []

        def read_auto(self, images, kinds, region=None):
            self.regions.append(region)
            return [Read("琼C12345", 0.9, (), "blue") for _ in images]

    fn = _ReadImages(RecognitionConfig(region="琼", max_image_bytes=1 << 20, max_image_pixels=10_000_000))
    fn.setup()
    fn._reader = Reader()
    out = read_block(fn, [camera_event(None, None, image="crop.png", base=str(tmp_path))])
    assert Reader.regions == ["琼"] and out[0].plate == "琼C12345"
