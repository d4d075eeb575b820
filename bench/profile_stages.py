"""Where a batch run's CPU goes: microseconds per event by roadchief module and by Beam's runtime.

Runs `roadchief run` on FnApiRunner in this process (its SDK worker runs in-process, so one
profiler sees every stage) under cProfile, and adds up each function's own time by the file
it lives in: each roadchief module (a stage's DoFns, or what they call), Beam's runtime
(coders, operations, the runner), and the libraries the stages call (pyarrow, shapely, …).

    python bench/profile_stages.py [--events 50000]
"""
import argparse
import cProfile
import os
import pstats
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from bench.bench_pipeline import simulated  # noqa: E402
from pipelines.job.run import run  # noqa: E402
from transforms.enrich.privacy import KEY_ENV  # noqa: E402

OWN = ("transforms", "models", "geo", "pipelines")


def place_of(filename: str) -> str:
    """The group a function's own time is counted in."""
    path = Path(filename)
    try:
        inside = path.resolve().relative_to(REPOSITORY)
        if inside.parts and inside.parts[0] in OWN:
            return str(inside.with_suffix(""))
    except ValueError:
        pass
    parts = path.parts
    if "apache_beam" in parts:
        below = parts[parts.index("apache_beam") + 1:]
        return "beam: " + "/".join(below[:2]) if len(below) > 2 else "beam: " + "/".join(below)
    if "site-packages" in parts:
        return "library: " + parts[parts.index("site-packages") + 1].split(".")[0]
    return "python: " + (path.stem if filename.startswith("/") else filename)


def main():
    os.environ.setdefault(KEY_ENV, secrets.token_hex(32))
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    workdir = Path(tempfile.gettempdir()) / "roadchief-bench"
    workdir.mkdir(parents=True, exist_ok=True)
    events = simulated(workdir, args.events)
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    assert run(["--runner", "FnApiRunner", "--events", str(events), "--output", str(workdir / "profiled")],
               summary=False) == 0
    profile.disable()
    elapsed = time.perf_counter() - started
    own_time: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, tottime, _, _) in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        own_time[place_of(filename)] += tottime
    total = sum(own_time.values())
    print(f"{args.events:,} events on FnApiRunner: {elapsed:.1f} s wall, {total:.1f} s profiled, "
          f"{elapsed / args.events * 1e6:.0f} µs an event (the profiler itself slows Python code)")
    print(f"{'where':<48} {'µs/event':>9} {'share':>6}")
    for place, seconds in sorted(own_time.items(), key=lambda item: -item[1])[:args.top]:
        print(f"{place:<48} {seconds / args.events * 1e6:>9.1f} {seconds / total:>6.1%}")


if __name__ == "__main__":
    main()
