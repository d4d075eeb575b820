"""The trivial pipeline that `bench_pipeline.py` holds roadchief against: read, parse, count.

It imports nothing of roadchief's, so that run as a program it times Beam as
it is installed, without roadchief's Beam plugins (which speed Beam itself up
in the process that imports them):

    python -m bench.trivial EVENTS.jsonl '["--runner", "FnApiRunner"]'

prints the seconds of a second run (the first warms the runner up: Prism's
job server starts).
"""
import json
import sys
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions


def parses(line: str) -> int:
    try:
        json.loads(line)
        return 1
    except ValueError:
        return 0


def read_parse_count(p: beam.Pipeline, path: str) -> None:
    p | beam.io.ReadFromText(path) | beam.Map(parses) | beam.CombineGlobally(sum)


def timed(path: str, options: PipelineOptions, runner=None) -> float:
    started = time.perf_counter()
    with beam.Pipeline(runner=runner, options=options) as p:
        read_parse_count(p, path)
    return time.perf_counter() - started


if __name__ == "__main__":
    for _ in range(2):
        seconds = timed(sys.argv[1], PipelineOptions(json.loads(sys.argv[2])))
    print(seconds)
