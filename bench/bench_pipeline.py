"""Throughput of the full pipeline against a trivial pipeline on the same runner.

Both read the same simulated events file in one run of this script; the
trivial one only reads, parses each line as JSON and counts. Their ratio is
the cost of everything roadchief does beyond reading, on each runner asked
for (FnApiRunner, PrismRunner, FlinkRunner: a local Flink session cluster is
started unless `--flink_master` names one). roadchief's Beam plugins speed up
Beam itself in the process that imports them, so the trivial pipeline is also
run in a process of its own with Beam's own settings, as a new user runs it
(on the FnApiRunner and Prism; Flink's workers are roadchief's own). Peak memory is measured on
larger runs in child processes, one per size, to show how it grows.

    python bench/bench_pipeline.py [--events 200000] [--runners FnApiRunner,PrismRunner,FlinkRunner]
                                   [--memory-events 250000,1000000]
"""
import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.trivial import timed  # noqa: E402
from geo.synthetic.simulate import simulate  # noqa: E402
from geo.world import load_world  # noqa: E402
from pipelines.analysis.tables import count_lines  # noqa: E402
from pipelines.flink.cluster import FlinkCluster  # noqa: E402
from pipelines.flink.submit import FlinkRunnerForOneRun  # noqa: E402
from pipelines.job.options import SAMPLE_WORLD  # noqa: E402
from pipelines.job.run import pipeline_options, run  # noqa: E402
from tests.servers import prism_binary  # noqa: E402
from transforms.enrich.privacy import KEY_ENV  # noqa: E402


def simulated(folder: Path, events: int) -> Path:
    path = folder / f"events-{events}.jsonl"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        simulate(load_world(SAMPLE_WORLD), path, events=events,
                 start=datetime.fromisoformat("2026-11-29T08:00:00+08:00"),
                 duration_s=3600 * max(1, events / 50_000), seed=11)
    return path


def runner_flags(runner: str, flink_master: str | None) -> list[str]:
    if runner == "PrismRunner":
        return ["--runner", "PrismRunner", "--prism_location", prism_binary(), "--environment_type", "LOOPBACK"]
    if runner == "FlinkRunner":
        boot = Path(sys.executable).with_name("roadchief-worker-boot")
        return ["--runner", "FlinkRunner", "--flink_master", str(flink_master), "--parallelism", "1",
                "--environment_type", "PROCESS", "--environment_config", json.dumps({"command": str(boot)})]
    return ["--runner", runner]


def trivial(path: Path, flags: list[str]) -> float:
    flink = FlinkRunnerForOneRun() if "FlinkRunner" in flags else None
    try:
        return timed(str(path), pipeline_options(flags), flink)
    finally:
        if flink:
            flink.stop_job_server()


def stock_trivial(path: Path, flags: list[str]) -> float:
    """`trivial`, with Beam's own settings: in a process of its own (`bench.trivial`), which
    imports none of roadchief's Beam plugins (Beam's signatures remembered, its state sampler
    looking more often), as a new user runs it."""
    done = subprocess.run([sys.executable, "-m", "bench.trivial", str(path), json.dumps(flags)],
                          check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    return float(done.stdout.split()[-1])


def full(path: Path, out: Path, flags: list[str]) -> float:
    started = time.perf_counter()
    code = run([*flags, "--events", str(path), "--output", str(out)], summary=False)
    assert code == 0
    return time.perf_counter() - started


def peak_memory_mb(path: Path, out: Path) -> float:
    """Peak resident memory of a whole `roadchief run` on the FnApiRunner, in a child process of its own."""
    script = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
              "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", script, sys.executable, "-m", "pipelines.cli", "run",
                           "--runner", "FnApiRunner", "--events", str(path), "--output", str(out)],
                          check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    return int(done.stdout.split()[-1]) / 1024


def main():
    os.environ.setdefault(KEY_ENV, secrets.token_hex(32))  # a throwaway plate key for the run
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runners", default="FnApiRunner,PrismRunner,FlinkRunner")
    parser.add_argument("--flink_master", help="a Flink session cluster (default: start a local one)")
    parser.add_argument("--memory-events", default="250000,1000000",
                        help="sizes for the memory curve, comma-separated; empty for none")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "roadchief-bench"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    events = simulated(workdir, args.events)
    warm_up = simulated(workdir, 1_000)
    lines = count_lines([str(events)])
    runners = args.runners.split(",")
    cluster = None
    if "FlinkRunner" in runners and not args.flink_master:
        cluster = FlinkCluster(workdir / "flink")
        cluster.up(taskmanagers=1)
        args.flink_master = cluster.master
    try:
        for runner in runners:
            flags = runner_flags(runner, args.flink_master)
            trivial(warm_up, flags)  # Prism's job server and Beam's first-run costs, paid before timing
            trivial_s = trivial(events, flags)
            stock_s = stock_trivial(events, flags) if runner != "FlinkRunner" else None
            full_s = full(events, workdir / f"out-{runner}", flags)
            print(f"runner {runner}, {lines:,} lines")
            print(f"  trivial (read, parse, count): {lines / trivial_s:>9,.0f} events/s  ({trivial_s:.1f} s)")
            if stock_s is not None:
                print(f"  the same, Beam's own settings: {lines / stock_s:>8,.0f} events/s  ({stock_s:.1f} s)")
            print(f"  full roadchief pipeline:      {lines / full_s:>9,.0f} events/s  ({full_s:.1f} s)")
            print(f"  ratio full/trivial:           {trivial_s / full_s:.2f}"
                  + (f" (to Beam's own settings: {stock_s / full_s:.2f})" if stock_s is not None else ""))
    finally:
        if cluster:
            cluster.down()
    sizes = [int(size) for size in args.memory_events.split(",") if size]
    peaks = []
    for size in sizes:
        peaks.append(peak_memory_mb(simulated(workdir, size), workdir / f"out-{size}"))
        print(f"peak memory, {size:,} events (FnApiRunner, child process): {peaks[-1]:,.0f} MB")
    if len(sizes) > 1:
        growth = (peaks[-1] - peaks[0]) * 1024 / (sizes[-1] - sizes[0])
        print(f"growth from {sizes[0]:,} to {sizes[-1]:,} events: {growth:.2f} kB an event")


if __name__ == "__main__":
    main()
