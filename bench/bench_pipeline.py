"""Throughput of the full pipeline against a trivial pipeline on the same runner.

Both read the same simulated events file in one run of this script; the
trivial one only reads, parses each line as JSON and counts. Their ratio is
the cost of everything roadchief does beyond reading. Peak memory is measured
on a separate, larger run in a child process.

    python bench/bench_pipeline.py [--events 200000] [--memory-events 1000000] [--runner FnApiRunner]
"""
import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo.synthetic.simulate import simulate  # noqa: E402
from geo.world import load_world  # noqa: E402
from pipelines.analysis.tables import count_lines  # noqa: E402
from pipelines.job.options import SAMPLE_WORLD  # noqa: E402
from pipelines.job.run import run  # noqa: E402
from transforms.enrich.privacy import KEY_ENV  # noqa: E402


def simulated(folder: Path, events: int) -> Path:
    path = folder / f"events-{events}.jsonl"
    if not path.exists():
        simulate(load_world(SAMPLE_WORLD), path, events=events,
                 start=datetime.fromisoformat("2026-11-29T08:00:00+08:00"),
                 duration_s=3600 * max(1, events / 50_000), seed=11)
    return path


def _parses(line: str) -> int:
    try:
        json.loads(line)
        return 1
    except ValueError:
        return 0


def trivial(path: Path, runner: str) -> float:
    started = time.perf_counter()
    with beam.Pipeline(runner=runner, options=PipelineOptions()) as p:
        (p | beam.io.ReadFromText(str(path)) | beam.Map(_parses)
         | beam.CombineGlobally(sum))
    return time.perf_counter() - started


def full(path: Path, out: Path, runner: str) -> float:
    started = time.perf_counter()
    code = run(["--runner", runner, "--events", str(path), "--output", str(out)], summary=False)
    assert code == 0
    return time.perf_counter() - started


def peak_memory_mb(path: Path, out: Path, runner: str) -> float:
    subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--runner", runner,
                    "--events", str(path), "--output", str(out)],
                   check=True, stdout=subprocess.DEVNULL, cwd=Path(__file__).resolve().parent.parent)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main():
    os.environ.setdefault(KEY_ENV, secrets.token_hex(32))  # a throwaway plate key for the run
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--memory-events", type=int, default=1_000_000)
    parser.add_argument("--runner", default="FnApiRunner")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "roadchief-bench"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    events = simulated(workdir, args.events)
    lines = count_lines([str(events)])
    trivial_s = trivial(events, args.runner)
    full_s = full(events, workdir / "out", args.runner)
    print(f"runner {args.runner}, {lines:,} lines")
    print(f"trivial (read, parse, count): {lines / trivial_s:>9,.0f} events/s  ({trivial_s:.1f} s)")
    print(f"full roadchief pipeline:      {lines / full_s:>9,.0f} events/s  ({full_s:.1f} s)")
    print(f"ratio full/trivial:           {trivial_s / full_s:.2f}")
    if args.memory_events:
        big = simulated(workdir, args.memory_events)
        print(f"peak memory, {args.memory_events:,} events: "
              f"{peak_memory_mb(big, workdir / 'out-big', args.runner):,.0f} MB")


if __name__ == "__main__":
    main()
