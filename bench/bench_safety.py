"""Cost of the safety metrics: a year of incidents and outcomes alone, and beside camera events.

One run of this script measures, on the same runner:

1. aggregating a year (and two years) of simulated incidents and dispatch
   outcomes for the whole sample world, with no camera events (the issue's
   target: under a minute for a year);
2. the core benchmark's trivial pipeline and the full pipeline on the same
   camera events, without and with a year of incidents and outcomes beside
   them, so the ratio with the safety stages on sits next to the ratio without.

    python bench/bench_safety.py [--events 200000] [--runner FnApiRunner]
"""
import argparse
import os
import secrets
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_pipeline import runner_flags, simulated, trivial  # noqa: E402
from geo.synthetic.history import simulate_history  # noqa: E402
from geo.world import load_world  # noqa: E402
from pipelines.analysis.tables import connect, count_lines  # noqa: E402
from pipelines.job.options import SAMPLE_WORLD  # noqa: E402
from pipelines.job.run import run  # noqa: E402
from transforms.enrich.privacy import KEY_ENV  # noqa: E402

END = datetime.fromisoformat("2026-11-29T08:00:00+08:00")


def history(folder: Path, days: int) -> tuple[Path, Path]:
    incidents, outcomes = folder / f"incidents-{days}.jsonl", folder / f"outcomes-{days}.jsonl"
    if not outcomes.exists():
        simulate_history(load_world(SAMPLE_WORLD), incidents, outcomes, end=END, days=days, seed=11)
    return incidents, outcomes


def timed_run(runner: str, out: Path, *inputs: str) -> float:
    started = time.perf_counter()
    assert run(["--runner", runner, "--output", str(out), *inputs], summary=False) == 0
    return time.perf_counter() - started


def main():
    os.environ.setdefault(KEY_ENV, secrets.token_hex(32))
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runner", default="FnApiRunner")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "roadchief-bench"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    print(f"runner {args.runner}")
    for days in (365, 730):
        incidents, outcomes = history(workdir, days)
        lines = count_lines([str(incidents), str(outcomes)])
        out = workdir / f"safety-{days}"
        seconds = timed_run(args.runner, out, "--incidents", str(incidents), "--outcomes", str(outcomes))
        (rows,) = connect(out).execute("SELECT count(*) FROM safety_metrics").fetchone()
        print(f"{days} days of incidents and outcomes ({lines:,} lines) -> {rows:,} safety_metrics rows "
              f"in {seconds:.1f} s")

    events = simulated(workdir, args.events)
    lines = count_lines([str(events)])
    incidents, outcomes = history(workdir, 365)
    trivial_s = trivial(events, runner_flags(args.runner, None))
    plain_s = timed_run(args.runner, workdir / "plain", "--events", str(events))
    with_s = timed_run(args.runner, workdir / "with-safety", "--events", str(events),
                       "--incidents", str(incidents), "--outcomes", str(outcomes))
    print(f"{lines:,} camera events")
    print(f"trivial (read, parse, count):         {lines / trivial_s:>9,.0f} events/s  ({trivial_s:.1f} s)")
    print(f"full pipeline:                        {lines / plain_s:>9,.0f} events/s  ({plain_s:.1f} s)"
          f"  ratio {trivial_s / plain_s:.2f}")
    print(f"full pipeline + a year of incidents:  {lines / with_s:>9,.0f} events/s  ({with_s:.1f} s)"
          f"  ratio {trivial_s / with_s:.2f}")


if __name__ == "__main__":
    main()
