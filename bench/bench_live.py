"""Live latency and throughput: events pushed into Redis, dispatches read back from Redis.

One run of this script, on Prism (Beam's portable local runner, streaming) or on a
Flink session cluster (`--runner FlinkRunner`: a local one of two TaskManagers is
started, or `--flink_master HOST:PORT` names one):

1. latency: simulated events are pushed into a Redis Stream at a fixed rate
   (`--rate`, events per second of wall time) while `roadchief run
   --events_stream` reads it live with `--publish_dispatches`; for each
   dispatch, the time from the push of the hit that opened it to the
   dispatch's entry in `roadchief:dispatches` (both Redis entry ids, so one
   clock), p50 and p99;
   A warm-up hit goes first, so that the stages' set-up (the plate model, the
   road network) is not counted against the timed events;
2. sustained throughput: the same events pushed all at once, read to the
   end, against a batch replay of the same file on the same runner; on Flink at each
   `--parallelism` (PROCESS workers, one set per TaskManager).

    python bench/bench_live.py [--rate 1000] [--seconds 60] [--runner FlinkRunner [--parallelism 1,2]]
                               [--runner-flag=--max_bundle_time_mills=100 ...]
"""
import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo.synthetic.simulate import simulate  # noqa: E402
from geo.world import load_world  # noqa: E402
from pipelines.analysis.tables import connect  # noqa: E402
from pipelines.flink.cluster import FlinkCluster  # noqa: E402
from pipelines.job.options import SAMPLE_WORLD  # noqa: E402
from pipelines.operate.replay import replay  # noqa: E402
from tests.servers import RedisServer, prism_binary  # noqa: E402
from transforms.enrich.privacy import KEY_ENV  # noqa: E402
from transforms.redis_contract import DISPATCHES_STREAM, END_FIELD, EVENT_FIELD, EVENTS_STREAM  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


RUNNER: list[str] = []  # the runner's flags, set in main()


def roadchief_run(log: Path, *args: str) -> subprocess.Popen:
    shutil.rmtree(log.with_suffix(""), ignore_errors=True)  # the output folder: tables of this run only
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", *RUNNER, *args],
                            cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)


def runner_flags(args, workdir: Path, parallelism: int) -> list[str]:
    if args.runner == "PrismRunner":
        return ["--runner", "PrismRunner", "--prism_location", prism_binary(), "--environment_type", "LOOPBACK"]
    boot = Path(sys.executable).with_name("roadchief-worker-boot")
    return ["--runner", "FlinkRunner", "--flink_master", args.flink_master, "--parallelism", str(parallelism),
            "--environment_type", "PROCESS", "--environment_config", json.dumps({"command": str(boot)}),
            "--plate_key_file", str(workdir / "plate.key")]


def push_at_rate(events: Path, url: str, rate: float) -> float:
    """Push every line as a stream entry, `rate` a second in tenth-second batches; then the end marker."""
    client = redis.Redis.from_url(url)
    lines = events.read_bytes().splitlines()
    per_tick = max(1, round(rate / 10))
    started = time.perf_counter()
    for tick, first in enumerate(range(0, len(lines), per_tick)):
        wait = started + tick / 10 - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        batch = client.pipeline(transaction=False)
        for line in lines[first:first + per_tick]:
            batch.xadd(EVENTS_STREAM, {EVENT_FIELD: line})
        batch.execute()
    client.xadd(EVENTS_STREAM, {END_FIELD: "1"})
    return time.perf_counter() - started


def live_run(url: str, out: Path, out_of_orderness_s: float) -> subprocess.Popen:
    return roadchief_run(out.with_suffix(".log"), "--streaming", "--events_stream", url, "--stream_until_end",
                         "--publish_dispatches", url, "--out_of_orderness_s", str(out_of_orderness_s),
                         "--output", str(out))


def started_up(args) -> None:
    """Until the live job reads: Prism within 15 s; on Flink, once every task of the job runs."""
    if args.runner == "PrismRunner":
        time.sleep(15)
        return
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://{args.flink_master}/jobs/overview") as reply:
            jobs = [job for job in json.load(reply)["jobs"] if job["state"] == "RUNNING"]
        if jobs and all(job["tasks"]["running"] + job["tasks"]["finished"] == job["tasks"]["total"] for job in jobs):
            time.sleep(5)
            return
        time.sleep(1)
    raise SystemExit("the live job did not start on Flink within 900 s")


WARM_UP = "warm-up"


def warm_up(events: Path, url: str, timeout_s: float = 180.0) -> float:
    """Until the job has carried one hit through to a dispatch; the seconds it took.

    The job's stages set up when their first element arrives (the plate model,
    the road network, the interception planner), which would otherwise land on
    the first timed events. The warm-up is a copy of a watchlisted passing
    under its own event_id, captured a day earlier, so that it opens a dispatch
    of its own and none of the timed ones.
    """
    client = redis.Redis.from_url(url)
    truth = (row.split(",") for row in events.with_suffix(".jsonl.truth.csv").read_text().splitlines()[1:])
    started = time.perf_counter()
    for line, fields in zip(events.read_text().splitlines(), truth):  # the truth file has a row per line
        if fields[-2:] != ["1", "ok"]:  # watchlisted, and a whole line
            continue
        event = json.loads(line)
        if "plate" not in event:
            continue
        captured = datetime.fromisoformat(event["captured_at"]) - timedelta(days=1)
        event.update(event_id=f"{WARM_UP}-{event['event_id']}", captured_at=captured.isoformat())
        client.xadd(EVENTS_STREAM, {EVENT_FIELD: json.dumps(event, ensure_ascii=False)})
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline:
            if client.xlen(DISPATCHES_STREAM):
                return time.perf_counter() - started
            time.sleep(0.2)
        if time.perf_counter() - started > timeout_s:
            break
    raise SystemExit(f"no dispatch from the warm-up hits within {timeout_s:.0f} s")


def entry_ms(entry_id: bytes) -> int:
    return int(entry_id.split(b"-")[0])


def latencies_ms(url: str, out: Path) -> np.ndarray:
    """Push of the opening hit → publication of the dispatch's first version, per dispatch."""
    client = redis.Redis.from_url(url)
    pushed = {}
    for entry, fields in client.xrange(EVENTS_STREAM):
        text = fields.get(EVENT_FIELD.encode(), b"")
        start = text.find(b'"event_id":"')
        end = text.find(b'"', start + 12) if start >= 0 else -1
        if end >= 0:  # the simulator also writes broken lines, cut anywhere
            pushed.setdefault(text[start + 12: end].decode(errors="replace"), entry_ms(entry))
    published = {}
    for entry, fields in client.xrange(DISPATCHES_STREAM):
        published.setdefault(fields[b"dispatch_id"].decode(), entry_ms(entry))
    opened = connect(out).execute(
        "SELECT dispatch_id, min(hit_event_ids[1]) FROM dispatches GROUP BY dispatch_id").fetchall()
    return np.array([published[d] - pushed[e] for d, e in opened
                     if d in published and e in pushed and not e.startswith(WARM_UP)])


def main():
    os.environ.setdefault(KEY_ENV, secrets.token_hex(32))
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=1000.0, help="events per second pushed")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the latency run")
    parser.add_argument("--out-of-orderness-s", type=float, default=5.0,
                        help="how far the stream's watermark trails the latest event time")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "roadchief-bench-live"))
    parser.add_argument("--runner", choices=("PrismRunner", "FlinkRunner"), default="PrismRunner")
    parser.add_argument("--flink_master", help="a Flink session cluster (default: start a local one)")
    parser.add_argument("--parallelism", default="1", help="Flink: sustained runs at each, e.g. 1,2")
    parser.add_argument("--runner-flag", action="append", default=[],
                        help="one more flag for the runner, e.g. --runner-flag=--max_bundle_time_mills=100")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "plate.key").write_text(os.environ[KEY_ENV])
    cluster = None
    if args.runner == "FlinkRunner" and not args.flink_master:
        cluster = FlinkCluster(workdir / "flink")
        cluster.up(taskmanagers=2)
        args.flink_master = cluster.master
    try:
        measure(args, workdir)
    finally:
        if cluster:
            cluster.down()


def measure(args, workdir: Path) -> None:
    events = workdir / "events.jsonl"
    count = int(args.rate * args.seconds)
    # `count` events, two hours ago so that no trip ends in the future; 2% of vehicles watchlisted.
    simulate(load_world(SAMPLE_WORLD), events, events=count,
             start=datetime.now().astimezone() - timedelta(hours=2),
             duration_s=args.seconds, seed=13, watchlisted_share=0.02)
    server = RedisServer(workdir)
    try:
        client = redis.Redis.from_url(server.url)
        print(f"{args.runner} streaming, {count:,} events, watermark {args.out_of_orderness_s:g} s behind")

        RUNNER[:] = runner_flags(args, workdir, 1) + args.runner_flag
        client.flushdb()
        run = live_run(server.url, workdir / "live", args.out_of_orderness_s)
        started_up(args)  # the job starts: the runner and the SDK worker
        print(f"warm-up: one hit carried to a dispatch in {warm_up(events, server.url):.1f} s")
        pushed_s = push_at_rate(events, server.url, args.rate)
        if run.wait(timeout=1800) != 0:
            raise SystemExit(f"the live run failed: see {workdir / 'live.log'}")
        lat = latencies_ms(server.url, workdir / "live")
        print(f"pushed at {count / pushed_s:,.0f} events/s for {pushed_s:.0f} s; "
              f"{len(lat)} dispatches: latency p50 {np.percentile(lat, 50) / 1000:.2f} s, "
              f"p99 {np.percentile(lat, 99) / 1000:.2f} s, max {lat.max() / 1000:.2f} s")

        for parallelism in map(int, args.parallelism.split(",")):
            RUNNER[:] = runner_flags(args, workdir, parallelism) + args.runner_flag
            client.flushdb()
            replay(str(events), server.url, speed=0, end_marker=True)
            started = time.perf_counter()
            live_run(server.url, workdir / "drain", args.out_of_orderness_s).wait(timeout=1800)
            live_s = time.perf_counter() - started
            started = time.perf_counter()
            roadchief_run(workdir / "batch.log", "--events", str(events), "--output",
                          str(workdir / "batch")).wait(timeout=1800)
            batch_s = time.perf_counter() - started
            on = f"{args.runner}" + (f", parallelism {parallelism}" if args.runner == "FlinkRunner" else "")
            print(f"{on}: sustained, stream read to the end: {count / live_s:,.0f} events/s "
                  f"({live_s:.0f} s, start-up included)")
            print(f"{on}: batch replay of the file, same runner: {count / batch_s:,.0f} events/s ({batch_s:.0f} s)")
            print(f"{on}: ratio live / batch: {batch_s / live_s:.2f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
