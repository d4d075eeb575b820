"""Soak: peak memory of `roadchief run` as the input grows.

Each size runs in its own process; its resident memory (with any children)
is sampled every half second. Memory that grows with the input shows what is
held for the whole run rather than per window or cache.

    python bench/bench_soak.py [--sizes 250000 500000 1000000]
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

from bench.bench_pipeline import simulated  # noqa: E402
from transforms.privacy import KEY_ENV  # noqa: E402

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


def soak(events: Path, output: Path) -> tuple[float, float, float]:
    """(peak MB, median MB over the run, seconds)."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--events", str(events),
                                "--output", str(output)], cwd=ROOT, stdout=subprocess.DEVNULL)
    samples = []
    while process.poll() is None:
        samples.append(rss_mb(process.pid))
        time.sleep(0.5)
    if process.returncode != 0:
        raise SystemExit(f"run failed on {events}")
    samples.sort()
    return samples[-1], samples[len(samples) // 2], time.perf_counter() - started


def main():
    os.environ.setdefault(KEY_ENV, secrets.token_hex(32))
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 500_000, 1_000_000])
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "roadchief-bench"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{'events':>10}  {'peak MB':>8}  {'median MB':>9}  {'seconds':>7}")
    for size in args.sizes:
        peak, median, seconds = soak(simulated(workdir, size), workdir / f"soak-{size}")
        print(f"{size:>10,}  {peak:>8,.0f}  {median:>9,.0f}  {seconds:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
