"""A Redis Stream of camera events and a streaming pipeline on Prism to read it, for the
tests of the live source and of what it feeds."""
import json
from pathlib import Path

import apache_beam as beam
import redis
from apache_beam.options.pipeline_options import PipelineOptions

STREAM = "cameras"


def camera_line(n: int, at: str) -> str:
    """Event e{n} of one border camera, captured `at` (ISO 8601), as a camera platform sends it."""
    return json.dumps({"event_id": f"e{n}", "camera_id": "QH-BC-001", "captured_at": at,
                       "plate": "琼C12345"}, ensure_ascii=False)


def push(url: str, *entries: dict) -> list[str]:
    """Appends each entry to STREAM; returns their entry ids."""
    client = redis.Redis.from_url(url)
    try:
        return [client.xadd(STREAM, fields).decode() for fields in entries]
    finally:
        client.close()


def streaming_pipeline(prism: str) -> beam.Pipeline:
    """A streaming pipeline on the Prism binary at `prism`, with real watermarks."""
    return beam.Pipeline(options=PipelineOptions([
        "--runner", "PrismRunner", "--prism_location", prism,
        "--environment_type", "LOOPBACK", "--streaming"]))


class AppendJsonLines(beam.DoFn):
    """Appends each element, as a JSON line, to a file the test reads once the pipeline ends
    (a streaming pipeline's elements cannot be asserted on in the pipeline itself)."""

    def __init__(self, path: Path):
        self._path = str(path)

    def process(self, row):
        with open(self._path, "a", encoding="utf-8") as out:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
