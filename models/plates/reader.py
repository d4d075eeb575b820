"""``PlateReader``: the plate-recognition API the pipeline calls.

    reader = PlateReader.load()                      # the shipped committee
    reads = reader.read_crops([crop1, crop2])        # BGR uint8 plate crops
    reads = reader.read_frames([frame])              # localise, then read
    reads = reader.read_auto([img1, img2])           # decide per image

Every input gets exactly one ``PlateRead``. A read that is not a plausible
plate, or an input that is not an image, gives ``plate=None`` with a
``reason``: the caller dead-letters or records it, and the rest of the batch
is read normally. A crop or candidate shaped like a double-row plate is read
both as it is and as one row (`rows.as_one_row`); the more confident valid
read is kept. A read under `RECUT_BELOW` is read again: a frame's best
candidate from `locate.recut` crops of it, a crop cut at the plate where it
holds a wide margin (`margin.cut_to_plate`).

The shipped reader is a committee: the first weights read everything, and a
read under `SECOND_OPINION_BELOW` is decoded again from the mean of every
member's probabilities. Members are the same network fine-tuned from the same
synthetic weights with different seeds, so they agree on where characters
sit and their means decode as one network's do; runs differ by a crop or three
on the real test crops, and the committee does not depend on a lucky seed.
"""
from __future__ import annotations

from functools import reduce
from pathlib import Path
from typing import NamedTuple

import numpy as np

from models.plates import charset
from models.plates.decode import Decoded, decode_batch, softmax
from models.plates.enhance import maybe_enhance
from models.plates.grammar import is_plate
from models.plates.locate import Candidate, find_candidates, plate_color, recut
from models.plates.margin import cut_to_plate
from models.plates.model import INPUT_H, INPUT_W, for_reading, preprocess
from models.plates.region import check_region
from models.plates.rows import as_one_row, looks_double_row
from models.plates.slant import upright

WEIGHTS = Path(__file__).resolve().parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS / "plate_reader.keras"
SECOND_OPINIONS = (WEIGHTS / "plate_reader_seed2.keras", WEIGHTS / "plate_reader_seed3.keras")
SECOND_OPINION_BELOW = 0.9  # reads under this confidence are decoded from the committee's mean
BATCH = 256
RECUT_BELOW = 0.9  # a read under this confidence is read again: a frame's from recut crops, a crop's cut at the plate


class PlateRead(NamedTuple):
    plate: str | None
    confidence: float
    char_confidences: tuple[float, ...]
    box: tuple[int, int, int, int] | None
    color: str | None
    alternates: tuple[str, ...]
    reason: str | None  # why plate is None


class ModelLoadError(RuntimeError):
    """The weights file is missing or is not a plate-reader model."""


def failed(reason: str, box=None, color=None) -> PlateRead:
    return PlateRead(None, 0.0, (), box, color, (), reason)


def configure_threads(intra: int = 2, inter: int = 1) -> None:
    """Size TF's thread pools for the pipeline's 2-core workers (first call wins)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError:  # TF already initialised: keep its pools
        pass


def load_keras_model(path: str | Path | None = None):
    """Load the reader's Keras model, with a clear error if it is missing or corrupt."""
    path = Path(path) if path else DEFAULT_WEIGHTS
    if not path.is_file():
        raise ModelLoadError(f"plate model not found: {path} (train it with python -m models.plates.training.train)")
    configure_threads()
    import keras

    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:  # keras raises many types for a bad file
        raise ModelLoadError(f"cannot load plate model {path}: {e}") from e
    if model.input_shape[1:3] != (INPUT_H, INPUT_W) or model.output_shape[-1] != charset.NUM_CLASSES:
        raise ModelLoadError(f"{path} is not a plate-reader model "
                             f"(input {model.input_shape}, output {model.output_shape})")
    return model


def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512 BF16 or AMX); elsewhere it is emulated and slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def _is_image(img) -> str | None:
    """None if ``img`` is a usable BGR uint8 array, else the reason it is not."""
    if not isinstance(img, np.ndarray):
        return f"not an image array ({type(img).__name__})"
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        return f"expected BGR uint8 image, got {img.dtype} {img.shape}"
    if img.shape[0] < 8 or img.shape[1] < 16:
        return f"image too small ({img.shape[1]}x{img.shape[0]})"
    return None


def to_read(d: Decoded, box=None, color=None) -> PlateRead:
    """A decoded string as a PlateRead; implausible strings become plate=None."""
    conf = min(d.char_confidences) if d.char_confidences else 0.0
    if not is_plate(d.text):
        return PlateRead(None, conf, d.char_confidences, box, color, d.alternates,
                         f"unreadable plate (decoded {d.text!r})")
    return PlateRead(d.text, conf, d.char_confidences, box, _color_from_text(d.text, color), d.alternates, None)


def _more_confident(read: PlateRead, other: PlateRead) -> PlateRead:
    """The valid read of the two, or the more confident where both are."""
    if other.plate and (not read.plate or other.confidence > read.confidence):
        return other
    return read


def _color_from_text(plate: str, seen: str | None) -> str | None:
    """The plate series fixes the colour where it can: 8 chars are new-energy green,
    警 is white police, 学/挂 are yellow; otherwise trust the pixels."""
    if len(plate) == 8:
        return "green"
    return {"警": "white", "学": "yellow", "挂": "yellow"}.get(plate[-1], seen)


class PlateReader:
    def __init__(self, model, *, second_opinions=(), enhance: bool = False):
        import tensorflow as tf

        self.enhance = enhance
        self.precision = "bfloat16" if any(layer.compute_dtype == "bfloat16" for layer in model.layers) else "float32"
        spec = tf.TensorSpec([None, INPUT_H, INPUT_W, 1], tf.float32)  # one trace for every batch size
        self.members = (model, *second_opinions)
        self._first = tf.function(lambda x: model(x, training=False), input_signature=[spec])  # logits
        # the other members in one call: a call's overhead is most of the cost of the few crops they read
        self._others = tf.function(
            lambda x: tf.add_n([tf.nn.softmax(m(x, training=False)) for m in second_opinions]), input_signature=[spec]
        ) if second_opinions else None

    @classmethod
    def load(cls, path: str | Path | None = None, *, enhance: bool = False, precision: str = "auto") -> PlateReader:
        """The reader with weights from ``path`` (default: the shipped committee).

        ``precision`` is "float32", "bfloat16", or "auto": bfloat16 where the CPU
        has it natively, which reads the same plates faster (see the bench).
        ``enhance`` runs every dark/flat crop through ``enhance.maybe_enhance`` first;
        it is off because it cost accuracy in the bench (see ``models.plates.enhance``).
        The shipped weights come with their `SECOND_OPINIONS`; other weights read alone."""
        if precision not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"precision must be auto, float32 or bfloat16, not {precision!r}")
        bfloat16 = precision == "bfloat16" or (precision == "auto" and native_bfloat16())
        models = [for_reading(load_keras_model(p), "mixed_bfloat16" if bfloat16 else "float32")
                  for p in ([path] if path else [DEFAULT_WEIGHTS, *SECOND_OPINIONS])]
        return cls(models[0], second_opinions=models[1:], enhance=enhance)

    def decode(self, crops: list[np.ndarray], repair: bool = False, region: str | None = None) -> list[Decoded]:
        """Network + CTC decoding for valid BGR crops, set upright first; ``repair`` and
        ``region`` as in `decode_batch`."""
        crops = [upright(c) for c in crops]
        if self.enhance:
            crops = [maybe_enhance(c) for c in crops]
        return self.decode_preprocessed(preprocess(crops), repair, region)

    def decode_preprocessed(self, batch: np.ndarray, repair: bool = False,
                            region: str | None = None) -> list[Decoded]:
        """Network + CTC decoding for a (n, 32, 128, 1) float32 batch from ``preprocess``;
        unsure plate reads decoded again from the committee's mean."""
        check_region(region)
        out: list[Decoded] = []
        for i in range(0, len(batch), BATCH):
            out.extend(self._decode_chunk(batch[i : i + BATCH], repair, region))
        return out

    def _decode_chunk(self, batch: np.ndarray, repair: bool, region: str | None) -> list[Decoded]:
        logits = self._first(batch).numpy()
        reads = decode_batch(logits, repair=repair, region=region)
        # a frame's candidates that are no plate at all are left to the first member: most are background
        unsure = [j for j, d in enumerate(reads)
                  if (repair or is_plate(d.text)) and min(d.char_confidences, default=0.0) < SECOND_OPINION_BELOW]
        if self._others is None or not unsure:
            return reads
        mean = (softmax(logits[unsure]) + self._others(batch[unsure]).numpy()) / len(self.members)
        for j, d in zip(unsure, decode_batch(np.log(np.maximum(mean, 1e-30)), repair=repair, region=region)):
            reads[j] = d
        return reads

    def read_crops(self, images: list[np.ndarray], region: str | None = None) -> list[PlateRead]:
        """Read plate crops (BGR uint8); one PlateRead per input, bad inputs included.
        ``region``: the cameras' province, the prior of an unsure province character.

        A crop whose read is unsure or no plate may hold a wide margin: it is
        read again cut at the plate (`margin.cut_to_plate`), and the more
        confident valid read is kept."""
        reasons = [_is_image(img) for img in images]
        good = [img for img, r in zip(images, reasons) if r is None]
        colors = [plate_color(img) for img in good]
        reads = self._read_each(good, colors, region)
        unsure = [i for i, read in enumerate(reads) if read.plate is None or read.confidence < RECUT_BELOW]
        cuts = [(i, cut) for i in unsure if (cut := cut_to_plate(good[i], colors[i])) is not None]
        again = self._read_each([cut for _, cut in cuts], [colors[i] for i, _ in cuts], region)
        for (i, _), read in zip(cuts, again):
            reads[i] = _more_confident(reads[i], read)
        read_good = iter(reads)
        return [failed(r) if r else next(read_good) for r in reasons]

    def _read_each(self, crops: list[np.ndarray], colors: list[str], region: str | None) -> list[PlateRead]:
        """One read per crop: as it is, or as one row where that is more confident
        and the crop is shaped like a double-row plate."""
        ways = [[crop, as_one_row(crop)] if looks_double_row(crop) else [crop] for crop in crops]
        decoded = iter(self.decode([way for each in ways for way in each], repair=True, region=region))
        return [reduce(_more_confident, [to_read(next(decoded), None, color) for _ in each])
                for each, color in zip(ways, colors)]

    def read_frames(self, images: list[np.ndarray], region: str | None = None) -> list[PlateRead]:
        """Find and read the plate in full frames; the most confident valid read wins.

        ``region`` decides the province of the winning candidate only, read again
        under the prior: a prior that lowered a visitor's confidence while the
        candidates compete would hand the frame to a worse region of the image."""
        check_region(region)
        reasons = [_is_image(img) for img in images]
        cands = [find_candidates(img) if r is None else [] for img, r in zip(images, reasons)]
        cands = [cs + [c._replace(crop=as_one_row(c.crop)) for c in cs if looks_double_row(c.crop)] for cs in cands]
        reads = self._read_candidates(cands)
        bests = [_best(frame_reads) for frame_reads in reads]
        unsure = [i for i, (frame_reads, best) in enumerate(zip(reads, bests))
                  if frame_reads and (best is None or best[0].confidence < RECUT_BELOW)]
        # recut the best valid candidate, or the most plate-like one where none is valid
        recuts = [recut(images[i], (bests[i] or reads[i][0])[1]) for i in unsure]
        for i, again in zip(unsure, self._read_candidates(recuts)):
            before = bests[i]
            bests[i] = _best(again if before is None else [before, *again])
        if region is not None:
            bests = self._under_prior(bests, region)
        out = []
        for reason, cs, best in zip(reasons, cands, bests):
            if reason or best is None:
                out.append(failed(reason or ("no plate found" if not cs else "no readable plate among candidates")))
                continue
            read, cand = best
            assert read.plate is not None, "_best keeps only reads with a plate"
            out.append(read._replace(color=_color_from_text(read.plate, plate_color(cand.crop))))
        return out

    def _under_prior(self, bests: list[tuple[PlateRead, Candidate] | None],
                     region: str) -> list[tuple[PlateRead, Candidate] | None]:
        """Each frame's winning candidate read again with the cameras' province as a prior."""
        winners = [best[1] for best in bests if best is not None]
        again = iter(self._read_candidates([winners], region)[0] if winners else [])
        return [next(again) if best is not None else None for best in bests]

    def _read_candidates(self, cands: list[list[Candidate]],
                         region: str | None = None) -> list[list[tuple[PlateRead, Candidate]]]:
        """(read, candidate) pairs for each frame's candidates, read in one batch."""
        decoded = iter(self.decode([c.crop for cs in cands for c in cs], region=region))
        return [[(to_read(next(decoded), c.box), c) for c in cs] for cs in cands]

    def read_auto(self, images: list[np.ndarray], kinds: list[str | None] | None = None,
                  region: str | None = None) -> list[PlateRead]:
        """Read each image as a crop or a frame: by ``kinds`` ("plate"/"frame") or by its shape."""
        kinds = kinds or [None] * len(images)
        as_crop = [k == "plate" if k else looks_like_crop(img) for img, k in zip(images, kinds)]
        crops = iter(self.read_crops([img for img, c in zip(images, as_crop) if c], region))
        frames = iter(self.read_frames([img for img, c in zip(images, as_crop) if not c], region))
        return [next(crops) if c else next(frames) for c in as_crop]


def _best(reads: list[tuple[PlateRead, Candidate]]) -> tuple[PlateRead, Candidate] | None:
    """The most confident valid (read, candidate) pair, or None."""
    valid = [rc for rc in reads if rc[0].plate]
    return max(valid, key=lambda rc: rc[0].confidence) if valid else None


def looks_like_crop(img) -> bool:
    """Plate crops are small and wide (aspect 1.5-6, under 600 px wide)."""
    if not isinstance(img, np.ndarray) or img.ndim < 2:
        return True  # read_crops reports why it is unusable
    h, w = img.shape[:2]
    return w <= 600 and 1.5 <= w / max(h, 1) <= 6
