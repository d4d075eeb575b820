"""``roadchief recognize FILE... [--kind plate|frame|auto] [--model PATH] [--region 琼]``.

Prints one JSON object per input file and line: file, plate, confidence,
char_confidences, box, color, alternates, and reason when plate is null.
A bad file is reported on its line and the command carries on; it exits 0
when it could read at least one file, 1 when it could read none (a mistyped
name alone must not look like a success), 2 if the model cannot be loaded
or the region is not a province. ``--region`` names the province the images
were taken in, the prior of an unsure province character (`models.plates.region`).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Protocol

from models.plates.images import ImageError, decode_image, read_regular_file
from models.plates.reader import ModelLoadError, PlateRead, PlateReader, failed
from models.plates.region import check_region

MAX_FILE_BYTES = 64 * 1024 * 1024
CHUNK = 64  # files read per call of the model: progress between calls, a batch's speed within


class Steps(Protocol):
    """Where the command reports its steps and the files done (roadchief's progress line)."""

    def step(self, description: str, total: int | None = None, unit: str = "") -> None: ...

    def advance(self, units: int = 1) -> None: ...


class _Silent:
    """No progress: what a caller without a progress line gets."""

    def step(self, description: str, total: int | None = None, unit: str = "") -> None:
        pass

    def advance(self, units: int = 1) -> None:
        pass


SILENT = _Silent()


def _row(file: str, read: PlateRead) -> dict:
    row = {
        "file": file,
        "plate": read.plate,
        "confidence": round(read.confidence, 4),
        "char_confidences": [round(c, 4) for c in read.char_confidences],
        "box": list(read.box) if read.box else None,
        "color": read.color,
        "alternates": list(read.alternates),
    }
    if read.plate is None:
        row["reason"] = read.reason
    return row


def main(argv: list[str] | None = None, progress: Steps = SILENT) -> int:
    ap = argparse.ArgumentParser(prog="roadchief recognize", description="Read licence plates in images.")
    ap.add_argument("files", nargs="+", metavar="FILE")
    ap.add_argument("--kind", choices=("plate", "frame", "auto"), default="auto")
    ap.add_argument("--model", help="Keras weights, read alone (default: the shipped committee of three)")
    ap.add_argument("--region", help="the province the cameras stand in (one character, such as 琼): "
                    "it decides a province character the model is unsure of")
    args = ap.parse_args(argv)
    try:
        check_region(args.region)
    except ValueError as e:
        print(f"roadchief recognize: {e}", file=sys.stderr)
        return 2
    progress.step("loading the plate model")
    try:
        reader = PlateReader.load(args.model)
    except ModelLoadError as e:
        print(f"roadchief recognize: {e}", file=sys.stderr)
        return 2

    images, errors = {}, {}
    progress.step("decoding images", total=len(args.files), unit="files")
    for f in args.files:
        progress.advance()
        try:
            images[f] = decode_image(read_regular_file(f, MAX_FILE_BYTES))
        except ImageError as e:
            errors[f] = e.reason
        except OSError as e:
            errors[f] = f"cannot read file: {e.strerror}"
    kind = None if args.kind == "auto" else args.kind
    progress.step("reading plates", total=len(images), unit="images")
    reads: dict[str, PlateRead] = {}
    names = list(images)
    for first in range(0, len(names), CHUNK):
        chunk = names[first:first + CHUNK]
        reads.update(zip(chunk, reader.read_auto([images[f] for f in chunk], [kind] * len(chunk), args.region)))
        progress.advance(len(chunk))
    for f in args.files:
        read = reads.get(f) or failed(errors[f])
        print(json.dumps(_row(f, read), ensure_ascii=False), flush=True)
    if not images:
        print(f"roadchief recognize: could not read {', '.join(args.files)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
