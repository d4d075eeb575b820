"""The `roadchief` command line."""
import argparse
import logging
import os
import signal
import sys
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

logging.getLogger().setLevel(logging.ERROR)  # Beam warns at import about cloud clients we do not use

from pipelines.analysis.export import FORMATS  # noqa: E402
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


def _folder_exists(flag: str, path: str) -> None:
    """A file's folder must be there before the work that fills the file starts, not after it."""
    folder = Path(path).parent
    if not folder.is_dir():
        raise ValueError(f"{flag} {path}: the folder {folder} does not exist")


def _simulate(args) -> int:
    from geo.synthetic.simulate import simulate
    from geo.world import load_world
    if bool(args.incidents) != bool(args.outcomes):
        raise ValueError("--incidents and --outcomes: give both files")
    for flag, path in (("--out", args.out), ("--incidents", args.incidents), ("--outcomes", args.outcomes)):
        if path:
            _folder_exists(flag, path)
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
            "--flink_master, ...) pass through, a flag nobody defines is refused; the runner defaults to "
            "FnApiRunner."))
        RoadchiefOptions._add_argparse_args(run_help)
        run_help.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
        run_help.print_help()
        return 0
    from pipelines.job.run import run
    with Progress.for_user(args.verbose) as progress:
        return run(args.beam_args, verbose=args.verbose, progress=progress.step)


def _query(args) -> int:
    import duckdb

    from geo.world import world_zone
    from pipelines.analysis.audit import audited_access, log_home
    from pipelines.analysis.export import check_destination, deliver
    from pipelines.analysis.sandbox import sealed
    log = log_home(args.tables, args.audit_log)
    tables = [] if "://" in args.tables else [Path(args.tables)]
    check_destination(args.format, args.out, tables + [log])
    try:
        with audited_access(log, args.sql, reason=args.reason) as detail:
            result = sealed(args.tables, world_zone(args.world)).sql(args.sql)
            detail.update(deliver(result, args.format, args.out, args.max_rows))
    except duckdb.Error as problem:
        raise ValueError(_sql_problem(problem)) from None
    except OSError as problem:
        if args.out is None:
            raise
        raise ValueError(f"--out {args.out}: {problem.strerror or problem}") from None
    return 0


def _sql_problem(problem: Exception) -> str:
    """DuckDB's error in one line: what went wrong and its hint ("Did you mean …",
    "Candidate bindings: …"), without the echo of the query."""
    import duckdb
    lines = [line.strip() for line in str(problem).splitlines() if line.strip()]
    kept = lines[:1] + [line for line in lines[1:] if line.startswith(("Did you mean", "Candidate bindings"))]
    if isinstance(problem, duckdb.PermissionException) or "configuration has been locked" in str(problem):
        kept.append("(a query reads the current tables and nothing else)")
    return " ".join(kept)


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


LABEL_EXAMPLES = {"day": "2026-11-23", "week": "2026-W47", "month": "2026-11", "custom": "2025-11-29..2026-11-28"}


def _report(args) -> int:
    from pipelines.analysis.report import write_report
    from transforms.measure.periods import Period, bounds
    if args.label and not args.period:
        raise ValueError(f"--label {args.label}: say which kind of period with --period "
                         f"({', '.join(LABEL_EXAMPLES)})")
    if args.label:
        try:
            bounds(Period(args.period, args.label))
        except ValueError:
            raise ValueError(f"--label {args.label}: not a {args.period} "
                             f"(expected one like {LABEL_EXAMPLES[args.period]})") from None
    _folder_exists("--out", args.out)
    with Progress.for_user(args.verbose) as progress:
        period = write_report(args.tables, args.out, args.world, args.period, args.label,
                              progress=progress.step)
    print(f"wrote the safety report for {period[0]} {period[1]} to {args.out}")
    return 0


def _load_watchlist(args) -> int:
    from geo.world import world_zone
    from pipelines.analysis.audit import audit_watchlist_change, log_home
    from transforms.enrich.watchlist_store import load_into_redis, read_watchlist_file
    if not args.reason.strip():
        raise ValueError("a reason is required")
    meta = load_into_redis(read_watchlist_file(args.file, world_zone(args.world)), args.redis, source=str(args.file))
    audit_watchlist_change(log_home(None, args.audit_log), reason=args.reason, source=str(args.file),
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


def _audit_log(args) -> Path:
    from pipelines.analysis.audit import log_home
    return Path(args.log) if args.log else log_home(args.tables, args.audit_log)


def _verify_audit(args) -> int:
    from pipelines.analysis.audit import verify
    result = verify(_audit_log(args), expected_head=args.expected_head)
    if result.ok:
        print(f"audit log intact: {result.entries} entries, head {result.head}")
        return 0
    print(f"audit log TAMPERED: {result.problem}", file=sys.stderr)
    return 1


def _show_audit(args) -> int:
    """The entries asked for; a log that does not verify is shown but named, and fails."""
    from pipelines.analysis.audit import entries, verify
    from pipelines.analysis.tables import render
    log = _audit_log(args)
    found = entries(log, user=args.user, reason=args.reason, since=args.since, until=args.until)
    rows = [(e["seq"], e["at"], e["user"], e["action"], e["reason"], _what(e["detail"])) for e in found]
    print(render(["seq", "at (UTC)", "user", "action", "reason", "what"], rows, max_rows=len(rows),
                 max_cell=args.max_cell))
    result = verify(log)
    if not result.ok:
        print(f"audit log TAMPERED: {result.problem}", file=sys.stderr)
        return 1
    return 0


def _what(detail: dict) -> str:
    """An entry's detail in one line: the SQL or file, then what came of it."""
    subject = detail.get("sql") or detail.get("source") or ""
    facts = [f"{key} {detail[key]}" for key in ("rows", "shown", "format", "out", "count", "version", "error")
             if key in detail]
    return " ".join(f"{subject} [{'; '.join(facts)}]".split()) if facts else " ".join(str(subject).split())


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
    command.add_argument("--audit_log", help="the deployment's hash-chained audit log (default: "
                         "$ROADCHIEF_AUDIT_LOG, else .audit/audit.jsonl in the --tables folder)")


def _day(text: str):
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-29") from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="roadchief", description=(
        "Camera events to interceptions under the road-chief system (路长制): simulate traffic, "
        "run the pipeline, query its tables, manage the watchlist, follow dispatches. "
        "Flags are written --snake_case; --kebab-case is accepted too."))
    top.add_argument("--version", action="version", version=f"%(prog)s {version('roadchief')}")
    commands = top.add_subparsers(dest="command", required=True)

    sim = commands.add_parser("simulate", help="write simulated camera events (JSON Lines)")
    sim.add_argument("--out", required=True, help="events file to write")
    sim.add_argument("--events", type=int, default=50_000, help="lines to write")
    sim.add_argument("--world", default=str(SAMPLE_WORLD))
    sim.add_argument("--start", default="2026-11-29T08:00:00+08:00", help="first event time (ISO-8601)")
    sim.add_argument("--duration_s", type=float, default=3600.0)
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument("--watchlisted_share", type=float, default=0.01)
    sim.add_argument("--ocr_error_rate", type=float, default=0.03)
    sim.add_argument("--missing_read_rate", type=float, default=0.02)
    sim.add_argument("--duplicate_rate", type=float, default=0.005)
    sim.add_argument("--malformed_rate", type=float, default=0.001)
    sim.add_argument("--images", action="store_true",
                     help="render a camera frame for each missing read, for the plate model to read")
    sim.add_argument("--incidents", help="also write incident reports (警情) of the days before --start")
    sim.add_argument("--outcomes", help="also write the outcome reports of past dispatches")
    sim.add_argument("--history_days", type=int, default=730,
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

    query = commands.add_parser("query", help="SQL over the output tables (DuckDB, read-only), audited",
                                description="Read-only SQL over the tables of the current run: the query "
                                            "reaches those tables and nothing else. Every query is audited.")
    query.add_argument("--tables", required=True, help="output folder (or s3:// output) of a run")
    query.add_argument("--reason", required=True, help="why you are looking (recorded in the audit log)")
    query.add_argument("sql")
    query.add_argument("--format", choices=FORMATS, default="table",
                       help="table (long cells cut, marked …), csv, json (one object a line) or parquet")
    query.add_argument("--out", metavar="FILE", help="write the result here instead of standard output")
    query.add_argument("--max_rows", type=int, default=100, help="rows shown by --format table")
    query.add_argument("--world", default=str(SAMPLE_WORLD),
                       help="folder of the world, whose time zone times are shown in")
    _audit_log_option(query)
    query.set_defaults(handler=_query)

    push = commands.add_parser("replay", help="push an events file into a Redis Stream, paced by event time")
    push.add_argument("events", help="JSON Lines camera events")
    push.add_argument("--redis", required=True, help="redis://host:port/db")
    push.add_argument("--stream", default=EVENTS_STREAM)
    push.add_argument("--speed", type=float, default=1.0,
                      help="times real time (0: as fast as Redis takes them)")
    push.add_argument("--end_marker", action="store_true",
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
    load.add_argument("--world", default=str(SAMPLE_WORLD),
                      help="folder of the world, whose time zone the validity days are in")
    _audit_log_option(load)
    load.set_defaults(handler=_load_watchlist)

    follow = commands.add_parser("watch", help="print dispatches as they are published to Redis")
    follow.add_argument("--redis", required=True, help="redis://host:port/db")
    follow.add_argument("--stream", default=DISPATCHES_STREAM)
    follow.add_argument("--from_start", action="store_true",
                        help="also print the dispatches published before")
    follow.add_argument("--count", type=int, default=0, help="stop after this many (0: run until Ctrl-C)")
    follow.set_defaults(handler=_watch)

    acknowledge = commands.add_parser("ack", help="acknowledge a dispatch (stops its escalation)")
    acknowledge.add_argument("dispatch_id")
    acknowledge.add_argument("--redis", required=True, help="redis://host:port/db")
    acknowledge.add_argument("--responder", default="",
                             help="who acknowledges: a responder_id or chief_id the dispatch names")
    acknowledge.set_defaults(handler=_ack)

    climb = commands.add_parser("escalate", help="escalate unacknowledged dispatches up the chief chain")
    climb.add_argument("--redis", required=True, help="redis://host:port/db")
    climb.add_argument("--ack_within_s", type=float, default=120.0,
                       help="each level gets this long to acknowledge before the next is called")
    climb.set_defaults(handler=_escalate)

    audit = commands.add_parser("audit", help="check and read the audit log")
    audit_actions = audit.add_subparsers(dest="action", required=True)
    check = audit_actions.add_parser("verify", help="detect edited, removed or inserted entries")
    check.add_argument("log", nargs="?", help="the audit log (default: as --audit_log finds it)")
    check.add_argument("--expected_head", help="a head hash recorded earlier, to detect truncation")
    show = audit_actions.add_parser("show", help="list entries: who looked at what, why, and what left")
    show.add_argument("log", nargs="?", help="the audit log (default: as --audit_log finds it)")
    show.add_argument("--user", help="only this account's entries")
    show.add_argument("--reason", help="only entries whose reason contains this (any case)")
    show.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="from this UTC day on")
    show.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="up to this UTC day, included")
    show.add_argument("--max_cell", type=int, default=120, help="cut longer cells, marked …")
    for command, handler in ((check, _verify_audit), (show, _show_audit)):
        command.add_argument("--tables", help="the output folder whose .audit/audit.jsonl to read")
        _audit_log_option(command)
        command.set_defaults(handler=handler)

    flink = commands.add_parser("flink", help="a local Flink session cluster (up, down, status)")
    flink.add_argument("action", choices=("up", "down", "status"))
    flink.add_argument("--folder", default="out/flink", help="where the cluster keeps its state and logs")
    flink.add_argument("--taskmanagers", type=int, default=1, help="TaskManagers to start (2 slots each)")
    flink.add_argument("--rest_port", type=int, default=0, help="REST and web UI port (default: a free one)")
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


def snake_case_flags(argv: list[str]) -> list[str]:
    """`--duration-s` and `--duration_s` name the same flag in every command; help shows
    snake_case, the style of Beam's own flags, which `run` passes through."""
    if "--" in argv:
        end = argv.index("--")
        return snake_case_flags(argv[:end]) + argv[end:]
    return ["--" + arg[2:].partition("=")[0].replace("-", "_") + "".join(arg.partition("=")[1:])
            if arg.startswith("--") else arg for arg in argv]


def main(argv=None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    top = parser()
    args, extra = top.parse_known_args(snake_case_flags(sys.argv[1:] if argv is None else argv))
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
    except BrokenPipeError:
        # the reader went away (`roadchief watch | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except (OptionsError, ValueError, RunFailed, ObjectStoreError, FlinkClusterError) as problem:
        print(f"roadchief {args.command}: {problem}", file=sys.stderr)
        return 2
    except redis.RedisError as problem:
        print(f"roadchief {args.command}: Redis: {type(problem).__name__}: {problem}", file=sys.stderr)
        return 3
    except OSError as problem:
        where = f"{problem.filename}: " if problem.filename else ""
        print(f"roadchief {args.command}: {where}{problem.strerror or problem}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as missing:
        if not (missing.name or "").startswith(CHECKOUT_ONLY):
            raise
        print(f"roadchief {args.command}: needs {missing.name}, which the runtime package leaves out: "
              f"run it from a checkout (pip install -e .)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
