"""Soak: peak memory of `roadchief run` as the input grows.

Each size runs in its own process; its resident memory (with any children:
Prism, when it runs) is sampled every half second. Memory that grows with the
input shows what is held for the whole run rather than per window or cache.

A batch replay (the default) holds each stage's output until the next stage
runs, so its memory follows the input. `--live` pushes the events into a Redis
Stream first and reads them with the live pipeline on Prism, where windows
close as the watermark passes and state expires by timers: there memory should
follow the windows, not the input. (Redis, a separate server, holds the
stream; trimming it is the operator's job.)

    python bench/bench_soak.py [--sizes 250000 500000 1000000] [--live]
"""
import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

from bench.bench_pipeline import simulated  # noqa: E402
from pipelines.operate.replay import replay  # noqa: E402
from tests.servers import RedisServer, prism_binary  # noqa: E402
from transforms.enrich.privacy import KEY_ENV  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants, in MB."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines()
                              if line.startswith("VmRSS:")))
            pending += [int(child) for child in
                        Path(f"/proc/{current}/task/{current}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total / 1024


def soak(source: list[str], output: Path) -> tuple[float, float, float]:
    """(peak MB, median MB over the run, seconds)."""
    started = time.perf_counter()
    # The simulated hours run past the present: accept them rather than dead-letter them.
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", *source,
                                "--max_future_s", str(30 * 86400), "--output", str(output)],
                               cwd=ROOT, stdout=subprocess.DEVNULL)
    samples = []
    while process.poll() is None:
        samples.append(rss_mb(process.pid))
        time.sleep(0.5)
    if process.returncode != 0:
        raise SystemExit(f"run failed on {source}")
    samples.sort()
    return samples[-1], samples[len(samples) // 2], time.perf_counter() - started


def main():
    os.environ.setdefault(KEY_ENV, secrets.token_hex(32))
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 500_000, 1_000_000])
    parser.add_argument("--live", action="store_true", help="through a Redis Stream on Prism (streaming)")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "roadchief-bench"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    server = RedisServer(workdir) if args.live else None
    print(("live, Prism streaming from Redis" if args.live else "batch replay, FnApiRunner"), flush=True)
    print(f"{'events':>10}  {'peak MB':>8}  {'median MB':>9}  {'seconds':>7}")
    try:
        for size in args.sizes:
            events = simulated(workdir, size)
            if server:
                redis.Redis.from_url(server.url).flushdb()
                replay(str(events), server.url, speed=0, end_marker=True)
                source = ["--runner", "PrismRunner", "--prism_location", prism_binary(),
                          "--environment_type", "LOOPBACK", "--streaming", "--events_stream",
                          server.url, "--stream_until_end"]
            else:
                source = ["--events", str(events)]
            peak, median, seconds = soak(source, workdir / f"soak-{'live-' if server else ''}{size}")
            print(f"{size:>10,}  {peak:>8,.0f}  {median:>9,.0f}  {seconds:>7.0f}", flush=True)
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
