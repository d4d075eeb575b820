"""The `roadchief` command line."""
import argparse
import logging
import os
import signal
import sys
from datetime import datetime
from pathlib import Path

logging.getLogger().setLevel(logging.ERROR)  # Beam warns at import about cloud clients we do not use

from pipelines.errors import ObjectStoreError, OptionsError, RunFailed  # noqa: E402
from pipelines.flink.cluster import FlinkClusterError  # noqa: E402
from pipelines.job.options import SAMPLE_WORLD, RoadchiefOptions  # noqa: E402
from pipelines.progress import Progress, set_verbosity  # noqa: E402
from transforms.redis_contract import DISPATCHES_STREAM, EVENTS_STREAM  # noqa: E402

# Training and synthetic data ship with the repository, not with the runtime package (setup.py).
CHECKOUT_ONLY = ("geo.synthetic", "models.plates.training")


def _frame_writer(seed: int):
    """Renders each missing read as a 1280×720 JPEG frame showing the true plate."""
    import zlib

    import cv2
    import numpy as np

    from models.plates.training.render import render_frame

    def write(plate: str, color: str, path: Path) -> None:
        rng = np.random.default_rng([seed, zlib.crc32(path.name.encode())])
        frame, _ = render_frame(plate, color, rng)
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return write


def _simulate(args) -> int:
    from geo.synthetic.simulate import simulate
    from geo.world import load_world
    with Progress.for_user(args.verbose) as progress:
        progress.step("loading the world")
        world = load_world(args.world)
        progress.step(f"writing {args.out}", total=args.events, unit="lines")
        summary = simulate(
            world, Path(args.out), events=args.events,
            start=datetime.fromisoformat(args.start), duration_s=args.duration_s, seed=args.seed,
            watchlisted_share=args.watchlisted_share, ocr_error_rate=args.ocr_error_rate,
            missing_read_rate=args.missing_read_rate, duplicate_rate=args.duplicate_rate,
            malformed_rate=args.malformed_rate,
            image_writer=_frame_writer(args.seed) if args.images else None, progress=progress.done)
        if args.incidents or args.outcomes:
            progress.step(f"writing {args.history_days} days of incidents and outcomes")
            _simulate_history(args)
    print(f"wrote {summary.lines:,} lines to {args.out} in {summary.elapsed_s:.1f} s "
          f"({summary.events_per_s:,.0f} lines/s): "
          f"{summary.vehicles:,} vehicles, {summary.ocr_errors:,} misreads, "
          f"{summary.missing:,} missing reads{' (with frames)' if args.images else ''}, "
          f"{summary.duplicates:,} duplicates, {summary.malformed:,} malformed lines, "
          f"{summary.watchlisted_passings:,} watchlisted passings")
    return 0


def _simulate_history(args) -> None:
    from geo.synthetic.history import simulate_history
    from geo.world import load_world
    if not (args.incidents and args.outcomes):
        raise ValueError("--incidents and --outcomes: give both files")
    history = simulate_history(load_world(args.world), Path(args.incidents), Path(args.outcomes),
                               end=datetime.fromisoformat(args.start), days=args.history_days,
                               seed=args.seed)
    print(f"wrote {args.history_days} days of history before {args.start}: "
          f"{history.incidents:,} public-order incidents and {history.accidents:,} accidents "
          f"({history.deaths:,} deaths, {history.injuries:,} injuries) to {args.incidents}; "
          f"{history.outcome_lines:,} outcome reports of {history.dispatches:,} dispatches to "
          f"{args.outcomes}; {history.malformed:,} malformed lines, {history.duplicates:,} repeated reports")


def _recognize(args) -> int:
    from models.plates.cli import main as recognize
    with Progress.for_user(args.verbose) as progress:
        return recognize(args.recognize_args, progress)


def _run(args) -> int:
    if {"-h", "--help"} & set(args.beam_args):
        run_help = argparse.ArgumentParser(prog="roadchief run", description=(
            "Replay event files through the pipeline. Beam flags (--runner, --prism_location, "
            "--flink_master, ...) pass through; the runner defaults to FnApiRunner."))
        RoadchiefOptions._add_argparse_args(run_help)
        run_help.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
        run_help.print_help()
        return 0
    from pipelines.job.run import run
    with Progress.for_user(args.verbose) as progress:
        return run(args.beam_args, verbose=args.verbose, progress=progress.step)


AUDIT_ENV = "ROADCHIEF_AUDIT_LOG"


def _query(args) -> int:
    from pipelines.analysis.audit import audited_query
    from pipelines.analysis.tables import render
    rows, columns = audited_query(args.tables, args.sql, reason=args.reason, log_path=args.audit_log)
    print(render(columns, rows, args.max_rows))
    return 0


def _replay(args) -> int:
    from pipelines.analysis.tables import count_lines
    from pipelines.operate.replay import replay
    with Progress.for_user(args.verbose) as progress:
        progress.step(f"pushing to {args.stream}", total=count_lines([args.events]) + args.end_marker,
                      unit="entries")
        counts = replay(args.events, args.redis, args.stream, args.speed, args.end_marker,
                        progress=progress.done)
    print(f"pushed {counts.entries:,} entries to {args.stream} (last {counts.last_id}); "
          f"{counts.undated:,} without a readable captured_at went at once")
    return 0


def _report(args) -> int:
    from pipelines.analysis.report import write_report
    with Progress.for_user(args.verbose) as progress:
        period = write_report(args.tables, args.out, args.world, args.period, args.label,
                              progress=progress.step)
    print(f"wrote the safety report for {period[0]} {period[1]} to {args.out}")
    return 0


def _load_watchlist(args) -> int:
    from pipelines.analysis.audit import audit_watchlist_change
    from transforms.enrich.watchlist_store import load_into_redis, read_watchlist_file
    if not args.reason.strip():
        raise ValueError("a reason is required")
    meta = load_into_redis(read_watchlist_file(args.file), args.redis, source=str(args.file))
    audit_watchlist_change(args.audit_log, reason=args.reason, source=str(args.file),
                           count=meta["count"], version=meta["version"])
    print(f"loaded {meta['count']} entries, version {meta['version']}")
    return 0


def _watch(args) -> int:
    from pipelines.operate.watch import watch
    return watch(args.redis, args.stream, args.from_start, args.count)


def _ack(args) -> int:
    from pipelines.operate.escalate import ack
    entry = ack(args.redis, args.dispatch_id, args.responder)
    print(f"acknowledged {args.dispatch_id} ({entry})")
    return 0


def _escalate(args) -> int:
    from pipelines.operate.escalate import escalate
    return escalate(args.redis, args.ack_within_s)


def _verify_audit(args) -> int:
    from pipelines.analysis.audit import verify
    result = verify(args.log, expected_head=args.expected_head)
    if result.ok:
        print(f"audit log intact: {result.entries} entries, head {result.head}")
        return 0
    print(f"audit log TAMPERED: {result.problem}", file=sys.stderr)
    return 1


def _purge(args) -> int:
    from pipelines.analysis.retention import DEFAULT_RETENTION, purge
    policy = dict(DEFAULT_RETENTION)
    for item in args.keep:
        table, _, days = item.partition("=")
        if not days.isdigit():
            raise ValueError(f"--keep {item}: expected TABLE=DAYS")
        policy[table] = int(days)
    with Progress.for_user(args.verbose) as progress:
        reports = purge(args.tables, policy, progress=lambda table: progress.step(f"purging {table}"))
    for table, report in reports.items():
        print(f"{table:<13} kept {report.rows_after:>10,}  deleted {report.deleted:>10,} "
              f"(older than {policy[table]} days)")
    return 0


def _flink(args) -> int:
    from pipelines.flink.cluster import FlinkCluster
    cluster = FlinkCluster(args.folder)
    if args.action == "up":
        overview = cluster.up(taskmanagers=args.taskmanagers, rest_port=args.rest_port)
        print(f"Flink {overview['flink-version']} session cluster up: {overview['taskmanagers']} "
              f"TaskManager(s), {overview['slots-total']} slots; web UI {cluster.web_ui}\n"
              f"run on it with: roadchief run --runner FlinkRunner --flink_master {cluster.master} ...")
    elif args.action == "down":
        stopped = cluster.down()
        print("stopped " + ", ".join(stopped) if stopped else f"no cluster was up in {args.folder}")
    elif not cluster.state:
        print(f"no cluster is up in {args.folder}")
        return 1
    else:
        overview = cluster.overview()
        print(f"up at {cluster.web_ui} (--flink_master {cluster.master}): {overview['taskmanagers']} "
              f"TaskManager(s), {overview['slots-available']} of {overview['slots-total']} slots free, "
              f"jobs running {overview['jobs-running']}, finished {overview['jobs-finished']}, "
              f"failed {overview['jobs-failed']}")
    return 0


def _worker_pool(args) -> int:
    from pipelines.flink.worker import pool
    pool(args.port)
    return 0


VERBOSE_HELP = "show Beam's and TensorFlow's logs and the full cause of a failure"


def _take_verbose(arguments: list[str]) -> tuple[list[str], bool]:
    """--verbose out of the arguments that `run` and `recognize` hand on to their own parsers."""
    return [arg for arg in arguments if arg != "--verbose"], "--verbose" in arguments


def _audit_log_option(command: argparse.ArgumentParser) -> None:
    command.add_argument("--audit-log", default=os.environ.get(AUDIT_ENV, "roadchief-audit.jsonl"),
                         help=f"hash-chained audit log (default: ${AUDIT_ENV} or ./roadchief-audit.jsonl)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="roadchief", description=(
        "Camera events to interceptions under the road-chief system (路长制): simulate traffic, "
        "run the pipeline, query its tables, manage the watchlist, follow dispatches."))
    commands = top.add_subparsers(dest="command", required=True)

    sim = commands.add_parser("simulate", help="write simulated camera events (JSON Lines)")
    sim.add_argument("--out", required=True, help="events file to write")
    sim.add_argument("--events", type=int, default=50_000, help="lines to write")
    sim.add_argument("--world", default=str(SAMPLE_WORLD))
    sim.add_argument("--start", default="2026-11-29T08:00:00+08:00", help="first event time (ISO-8601)")
    sim.add_argument("--duration-s", type=float, default=3600.0)
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument("--watchlisted-share", type=float, default=0.01)
    sim.add_argument("--ocr-error-rate", type=float, default=0.03)
    sim.add_argument("--missing-read-rate", type=float, default=0.02)
    sim.add_argument("--duplicate-rate", type=float, default=0.005)
    sim.add_argument("--malformed-rate", type=float, default=0.001)
    sim.add_argument("--images", action="store_true",
                     help="render a camera frame for each missing read, for the plate model to read")
    sim.add_argument("--incidents", help="also write incident reports (警情) of the days before --start")
    sim.add_argument("--outcomes", help="also write the outcome reports of past dispatches")
    sim.add_argument("--history-days", type=int, default=730,
                     help="days of incidents and outcomes to write (two years: a year-on-year comparison)")
    sim.set_defaults(handler=_simulate)

    recognize = commands.add_parser("recognize", add_help=False,
                                    help="read plates in image files (recognize --help; --verbose: TensorFlow's logs)")
    recognize.add_argument("recognize_args", nargs=argparse.REMAINDER)
    recognize.set_defaults(handler=_recognize)

    run = commands.add_parser("run", help="run the pipeline (Beam and roadchief flags: run --help)",
                              add_help=False)
    run.add_argument("beam_args", nargs=argparse.REMAINDER)
    run.set_defaults(handler=_run)

    query = commands.add_parser("query", help="SQL over the output tables (DuckDB), audited")
    query.add_argument("--tables", required=True, help="output folder of a run")
    query.add_argument("--reason", required=True, help="why you are looking (recorded in the audit log)")
    query.add_argument("sql")
    query.add_argument("--max-rows", type=int, default=100)
    _audit_log_option(query)
    query.set_defaults(handler=_query)

    push = commands.add_parser("replay", help="push an events file into a Redis Stream, paced by event time")
    push.add_argument("events", help="JSON Lines camera events")
    push.add_argument("--redis", required=True, help="redis://host:port/db")
    push.add_argument("--stream", default=EVENTS_STREAM)
    push.add_argument("--speed", type=float, default=1.0,
                      help="times real time (0: as fast as Redis takes them)")
    push.add_argument("--end-marker", action="store_true",
                      help="end with a marker that stops a run given --stream_until_end")
    push.set_defaults(handler=_replay)

    report = commands.add_parser("report", help="write the weekly safety report as one HTML file")
    report.add_argument("--tables", required=True, help="output folder of a run")
    report.add_argument("--out", required=True, help="HTML file to write")
    report.add_argument("--world", default=str(SAMPLE_WORLD))
    report.add_argument("--period", choices=("day", "week", "month", "custom"),
                        help="kind of period (default: the run's custom range, else the latest full month)")
    report.add_argument("--label", help="which one, e.g. 2026-W47 (default: the latest complete one)")
    report.set_defaults(handler=_report)

    watchlist = commands.add_parser("watchlist", help="manage the Redis watchlist")
    actions = watchlist.add_subparsers(dest="action", required=True)
    load = actions.add_parser("load", help="replace the Redis watchlist with a file's entries")
    load.add_argument("file")
    load.add_argument("--redis", required=True, help="redis://host:port/db")
    load.add_argument("--reason", required=True, help="why the list changes (recorded in the audit log)")
    _audit_log_option(load)
    load.set_defaults(handler=_load_watchlist)

    follow = commands.add_parser("watch", help="print dispatches as they are published to Redis")
    follow.add_argument("--redis", required=True, help="redis://host:port/db")
    follow.add_argument("--stream", default=DISPATCHES_STREAM)
    follow.add_argument("--from-start", action="store_true",
                        help="also print the dispatches published before")
    follow.add_argument("--count", type=int, default=0, help="stop after this many (0: run until Ctrl-C)")
    follow.set_defaults(handler=_watch)

    acknowledge = commands.add_parser("ack", help="acknowledge a dispatch (stops its escalation)")
    acknowledge.add_argument("dispatch_id")
    acknowledge.add_argument("--redis", required=True, help="redis://host:port/db")
    acknowledge.add_argument("--responder", default="", help="who acknowledges (responder_id)")
    acknowledge.set_defaults(handler=_ack)

    climb = commands.add_parser("escalate", help="escalate unacknowledged dispatches up the chief chain")
    climb.add_argument("--redis", required=True, help="redis://host:port/db")
    climb.add_argument("--ack-within-s", type=float, default=120.0,
                       help="each level gets this long to acknowledge before the next is called")
    climb.set_defaults(handler=_escalate)

    audit = commands.add_parser("audit", help="check the audit log")
    audit_actions = audit.add_subparsers(dest="action", required=True)
    check = audit_actions.add_parser("verify", help="detect edited, removed or inserted entries")
    check.add_argument("log")
    check.add_argument("--expected-head", help="a head hash recorded earlier, to detect truncation")
    check.set_defaults(handler=_verify_audit)

    flink = commands.add_parser("flink", help="a local Flink session cluster (up, down, status)")
    flink.add_argument("action", choices=("up", "down", "status"))
    flink.add_argument("--folder", default="out/flink", help="where the cluster keeps its state and logs")
    flink.add_argument("--taskmanagers", type=int, default=1, help="TaskManagers to start (2 slots each)")
    flink.add_argument("--rest-port", type=int, default=0, help="REST and web UI port (default: a free one)")
    flink.set_defaults(handler=_flink)

    workers = commands.add_parser("worker-pool", help="serve Python workers to Flink TaskManagers (EXTERNAL)")
    workers.add_argument("--port", type=int, default=50000)
    workers.set_defaults(handler=_worker_pool)

    purge = commands.add_parser("purge", help="delete rows past their retention")
    purge.add_argument("--tables", required=True)
    purge.add_argument("--keep", action="append", default=[], metavar="TABLE=DAYS",
                       help="override a retention (defaults: passings=30 hits=365 dispatches=365 "
                            "dead_letters=30 incidents=outcomes=responses=1095)")
    purge.set_defaults(handler=_purge)

    # run and recognize hand their flags on (see _take_verbose); watchlist and audit are groups of commands
    groups = {"run", "recognize", "watchlist", "audit"}
    for command in [*(parser for name, parser in commands.choices.items() if name not in groups),
                    *actions.choices.values(), *audit_actions.choices.values()]:
        command.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    return top


def _exit_on_terminate(signum, frame):
    """SIGTERM ends a command as Ctrl-C would: what it started (a Flink job server, an
    expansion service) is stopped on the way out instead of being left running."""
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    top = parser()
    args, extra = top.parse_known_args(argv)
    if args.command == "run":
        args.beam_args, args.verbose = _take_verbose(extra + args.beam_args)
    elif args.command == "recognize":
        args.recognize_args, args.verbose = _take_verbose(extra + args.recognize_args)
    elif extra:
        top.error("unrecognized arguments: " + " ".join(extra))
    set_verbosity(args.verbose)
    import redis
    try:
        return args.handler(args)
    except (OptionsError, ValueError, RunFailed, ObjectStoreError, FlinkClusterError) as problem:
        print(f"roadchief {args.command}: {problem}", file=sys.stderr)
        return 2
    except redis.RedisError as problem:
        print(f"roadchief {args.command}: Redis: {type(problem).__name__}: {problem}", file=sys.stderr)
        return 3
    except ModuleNotFoundError as missing:
        if not (missing.name or "").startswith(CHECKOUT_ONLY):
            raise
        print(f"roadchief {args.command}: needs {missing.name}, which the runtime package leaves out: "
              f"run it from a checkout (pip install -e .)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
