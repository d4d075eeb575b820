"""The application's flags, in one options class, validated before anything runs.

Validation has two halves, and reports what both find at once: flag checks look
at the flags alone and touch nothing, so they are cheap and testable anywhere;
probes look at what the flags name (files, folders, the plate key, Redis,
brokers, the object store) and so need the disk and the network.
"""
import glob
import os
import re
import shutil
import stat
import zipfile
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

from apache_beam.options.pipeline_options import FlinkRunnerOptions, PipelineOptions, PortableOptions, StandardOptions

from geo.intercept import MARGIN_S
from geo.world import world_zone
from models.plates.images import file_kind
from pipelines.errors import OptionsError
from pipelines.flink.tools import EXPANSION_SERVICE_JAR, missing
from pipelines.store.object_store import ObjectStore, scheme_of
from pipelines.store.output_bucket import LEASE_S, output_problem
from transforms.enrich.privacy import KEY_ENV, key_id, load_plate_key
from transforms.enrich.watchlist_store import live_watchlist_problem, read_watchlist_file
from transforms.ingest.read_kafka import EVENTS_TOPIC, unreachable
from transforms.measure.periods import parse_range
from transforms.redis_contract import DISPATCHES_STREAM, EVENTS_STREAM, entry_offset, is_redis, redis_problem

SAMPLE_WORLD = Path(__file__).resolve().parents[2] / "geo" / "data" / "qionghai"
RUNNERS = ("FnApiRunner", "PrismRunner", "BundleBasedDirectRunner", "FlinkRunner")
KAFKA_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")


class RoadchiefOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--events", action="append", default=[],
                            help="camera events: JSON Lines file or glob (repeatable; .gz read too)")
        parser.add_argument("--events_stream", default=None, metavar="REDIS_URL",
                            help="read camera events live from a Redis Stream instead of files "
                                 "(PrismRunner or FlinkRunner with --streaming)")
        parser.add_argument("--stream_name", default=EVENTS_STREAM,
                            help="the Redis Stream of camera events")
        parser.add_argument("--stream_after", default="0", metavar="ENTRY_ID",
                            help="start after this stream entry id (0: from the start)")
        parser.add_argument("--stream_until_end", action="store_true",
                            help="stop at the stream's end marker (roadchief replay --end_marker)")
        parser.add_argument("--events_kafka", default=None, metavar="BOOTSTRAP",
                            help="read camera events live from a Kafka topic instead of files: the "
                                 "brokers' host:port[,host:port] (FlinkRunner with --streaming)")
        parser.add_argument("--kafka_topic", default=EVENTS_TOPIC, help="the Kafka topic of camera events")
        parser.add_argument("--kafka_max_records", type=int, default=None, metavar="N",
                            help="stop after N records (replay and test mode: the topic holds N lines)")
        parser.add_argument("--kafka_expansion_service", default=None, metavar="HOST:PORT",
                            help="a running KafkaIO expansion service (default: roadchief starts the one "
                                 "`make kafka` built)")
        parser.add_argument("--out_of_orderness_s", type=float, default=5.0,
                            help="how far behind the latest event time the stream's watermark is held")
        parser.add_argument("--allowed_lateness_minutes", type=float, default=30.0,
                            help="live: an event arriving this long behind the stream's watermark "
                                 "still counts; later ones are dead letters")
        parser.add_argument("--idle_advance_s", type=float, default=10.0,
                            help="after this long without entries the watermark moves on with the clock")
        parser.add_argument("--incidents", action="append", default=[],
                            help="incident reports (警情): JSON Lines file or glob (repeatable)")
        parser.add_argument("--outcomes", action="append", default=[],
                            help="dispatch outcome reports: JSON Lines file or glob (repeatable)")
        parser.add_argument("--world", default=str(SAMPLE_WORLD),
                            help="folder of the world: roads, cameras, chiefs, responders")
        parser.add_argument("--watchlist", default=None,
                            help="CSV/Parquet file or redis://host:port/db (default: the world's watchlist.csv)")
        parser.add_argument("--output", default=None,
                            help="where the output tables go: a folder, or s3://bucket/prefix on an "
                                 "S3-compatible store (endpoint and credentials: the AWS_* variables)")
        parser.add_argument("--output_lease_s", type=float, default=LEASE_S,
                            help="s3:// output: a writer that stops renewing its lease for this long "
                                 "(a crash) can be taken over by the next run")
        parser.add_argument("--window_minutes", type=float, default=15.0,
                            help="event-time window of the metrics table")
        parser.add_argument("--dedup_window_minutes", type=float, default=10.0,
                            help="event-time horizon within which a repeated event_id is a duplicate")
        parser.add_argument("--cooldown_minutes", type=float, default=30.0,
                            help="a plate hitting again within this gap updates its open dispatch")
        parser.add_argument("--max_substitutions", type=int, default=1,
                            help="confusable-character substitutions a fuzzy match may need (0: exact)")
        parser.add_argument("--min_dispatch_score", type=float, default=0.5,
                            help="hits scoring below this are recorded but dispatch nobody")
        parser.add_argument("--responders_k", type=int, default=3,
                            help="nearest on-duty responders assigned to each dispatch, and"
                                 " interception stops planned for it (one responder each)")
        parser.add_argument("--intercept_margin_s", type=float, default=MARGIN_S,
                            help="a responder must reach an interception point this long before"
                                 " the vehicle")
        parser.add_argument("--max_camera_distance_m", type=float, default=50.0,
                            help="a sighting farther than this from every road gets no segment")
        parser.add_argument("--max_report_distance_m", type=float, default=500.0,
                            help="an incident or dispatch farther than this from every road gets no segment")
        parser.add_argument("--custom_period", action="append", default=[], metavar="FROM..TO",
                            help="also report safety metrics for these dates (inclusive, local), "
                                 "e.g. 2025-11-29..2026-11-28 (repeatable)")
        parser.add_argument("--arrival_target_urban_s", type=float, default=180.0,
                            help="officers on scene within this many seconds count as on target (urban)")
        parser.add_argument("--arrival_target_rural_s", type=float, default=600.0,
                            help="the same target on rural roads")
        parser.add_argument("--max_future_s", type=float, default=300.0,
                            help="events captured later than now + this are dead letters")
        parser.add_argument("--watchlist_snapshot", default=None,
                            help="watchlist file that covers while the Redis list cannot answer "
                                 "(every hit and passing it checks is marked stale)")
        parser.add_argument("--accept_stale_watchlist", action="store_true",
                            help="run on the snapshot, and finish with exit 0, when the Redis list "
                                 "cannot answer (without it such a run is refused or ends non-zero)")
        parser.add_argument("--watchlist_wait_s", type=float, default=120.0,
                            help="without a snapshot, how long a lookup waits for the Redis list to "
                                 "come back before the run fails")
        parser.add_argument("--watchlist_max_age_h", type=float, default=48.0,
                            help="a Redis list loaded longer ago than this is a fault (0: any age)")
        parser.add_argument("--watchlist_ttl_s", type=float, default=5.0,
                            help="how long a Redis watchlist answer is cached")
        parser.add_argument("--publish_dispatches", default=None, metavar="REDIS_URL",
                            help=f"also append each dispatch to the Redis Stream {DISPATCHES_STREAM}")
        parser.add_argument("--plate_key_file", default=None,
                            help=f"key for the plate tokens of non-hit passings (default: ${KEY_ENV})")
        parser.add_argument("--plain_plates", action="store_true",
                            help="store plain plates of every passing (only where the law allows)")
        parser.add_argument("--model", default=None,
                            help="plate reader weights (.keras), read alone (default: the shipped committee of three)")
        parser.add_argument("--min_camera_confidence", type=float, default=0.8,
                            help="camera reads below this are re-read from the image when there is one")
        parser.add_argument("--max_image_bytes", type=int, default=8 * 1024 * 1024,
                            help="largest image file or data: URI accepted")
        parser.add_argument("--image_root", default=None,
                            help="allow absolute image paths under this folder (default: none; "
                                 "relative paths stay inside the events file's folder)")
        parser.add_argument("--max_image_pixels", type=int, default=40_000_000,
                            help="largest image (width × height, read from its header) decoded")
        parser.add_argument("--max_image_decoded_bytes", type=int, default=64 * 1024 * 1024,
                            help="largest image once decoded (pixels × channels × bytes per channel, "
                                 "read from its header)")
        parser.add_argument("--max_image_memory_bytes", type=int, default=256 * 1024 * 1024,
                            help="decoded images one worker process holds at once, all threads together")


def plate_key_id(options: RoadchiefOptions) -> str:
    """The public fingerprint of the plate key, or `plain` when plates are kept."""
    return "plain" if options.plain_plates else key_id(load_plate_key(key_file=options.plate_key_file))


def custom_periods(options: RoadchiefOptions) -> tuple:
    return tuple(parse_range(text) for text in options.custom_period)


def arrival_targets(options: RoadchiefOptions) -> dict[str, float]:
    return {"urban": options.arrival_target_urban_s, "rural": options.arrival_target_rural_s}


def watchlist_spec(options: RoadchiefOptions) -> str:
    return options.watchlist or str(Path(options.world) / "watchlist.csv")


def validate(options: PipelineOptions, unknown_flags: list[str] | None = None) -> RoadchiefOptions:
    """The options if they make sense; OptionsError listing every problem otherwise: the
    flags nobody defines (`unknown_flags`, from `pipelines.job.flags`), the flags' own
    problems and, beside them, what the probes of the world outside found."""
    problems = (unknown_flags or []) + flag_problems(options) + probe_problems(options)
    if problems:
        raise OptionsError("; ".join(problems))
    return options.view_as(RoadchiefOptions)


# Flag checks: the flags alone (ranges, combinations, formats), with no disk or network.

def flag_problems(options: PipelineOptions) -> list[str]:
    """Every problem the flags show by themselves."""
    app = options.view_as(RoadchiefOptions)
    runner = options.view_as(StandardOptions).runner
    streaming = options.view_as(StandardOptions).streaming
    problems = []
    if runner not in RUNNERS:
        problems.append(f"--runner: name one of {', '.join(RUNNERS)} "
                        f"(got {runner!r}; the implicit DirectRunner tries to download Prism)")
    if not (app.events or app.events_stream or app.events_kafka or app.incidents or app.outcomes):
        problems.append("--events: give at least one file or glob (or --events_stream, --events_kafka, "
                        "--incidents, --outcomes)")
    problems += _stream_flag_problems(app, runner, streaming)
    problems += _kafka_flag_problems(app, runner, streaming)
    for text in app.custom_period:
        try:
            parse_range(text)
        except ValueError as bad:
            problems.append(f"--custom_period: {bad}")
    problems += _output_flag_problems(app)
    if app.publish_dispatches and not is_redis(app.publish_dispatches):
        problems.append("--publish_dispatches: give a redis:// or rediss:// URL")
    if app.watchlist_wait_s < 0 or app.watchlist_max_age_h < 0:
        problems.append("--watchlist_wait_s, --watchlist_max_age_h: must not be negative")
    for name in ("window_minutes", "dedup_window_minutes", "cooldown_minutes",
                 "max_camera_distance_m", "watchlist_ttl_s", "max_report_distance_m",
                 "arrival_target_urban_s", "arrival_target_rural_s"):
        if getattr(app, name) <= 0:
            problems.append(f"--{name}: must be positive")
    if not 0 <= app.max_substitutions <= 3:
        problems.append("--max_substitutions: must be 0..3")
    if not 0 <= app.min_dispatch_score <= 1:
        problems.append("--min_dispatch_score: must be in [0, 1]")
    if app.intercept_margin_s < 0:
        problems.append("--intercept_margin_s: must not be negative")
    if not 0 <= app.responders_k <= 50:
        problems.append("--responders_k: must be 0..50")
    if not 0 <= app.min_camera_confidence <= 1:
        problems.append("--min_camera_confidence: must be in [0, 1]")
    if min(app.max_image_bytes, app.max_image_pixels, app.max_image_decoded_bytes) <= 0:
        problems.append("--max_image_bytes, --max_image_pixels, --max_image_decoded_bytes: must be positive")
    if app.max_image_memory_bytes < app.max_image_decoded_bytes:
        problems.append("--max_image_memory_bytes: must hold at least one image of --max_image_decoded_bytes")
    if app.max_future_s < 0:
        problems.append("--max_future_s: must not be negative")
    return problems


def _stream_flag_problems(app: RoadchiefOptions, runner: str, streaming: bool) -> list[str]:
    if not app.events_stream:
        return []
    problems = []
    if app.events or app.incidents or app.outcomes:
        problems.append("--events_stream: read either files (--events, --incidents, --outcomes) or a "
                        "stream; safety metrics come from a batch run over the files")
    if runner not in ("PrismRunner", "FlinkRunner") or not streaming:
        problems.append("--events_stream: an unbounded source needs --runner PrismRunner (or FlinkRunner) "
                        "and --streaming")
    if not is_redis(app.events_stream):
        problems.append("--events_stream: give a redis:// or rediss:// URL")
    try:
        entry_offset(app.stream_after)
    except ValueError:
        problems.append(f"--stream_after: {app.stream_after!r} is not a stream entry id (ms-seq)")
    if app.out_of_orderness_s < 0 or app.idle_advance_s <= 0 or app.allowed_lateness_minutes < 0:
        problems.append("--out_of_orderness_s and --allowed_lateness_minutes must not be negative, "
                        "--idle_advance_s must be positive")
    return problems


def _kafka_flag_problems(app: RoadchiefOptions, runner: str, streaming: bool) -> list[str]:
    """The Kafka source runs Java's KafkaIO inside the Flink job: it needs Flink and streaming."""
    if not app.events_kafka:
        return []
    problems = []
    if app.events or app.incidents or app.outcomes or app.events_stream:
        problems.append("--events_kafka: read either files (--events, --incidents, --outcomes), a Redis "
                        "stream or a Kafka topic; safety metrics come from a batch run over the files")
    if runner != "FlinkRunner" or not streaming:
        problems.append("--events_kafka: the Kafka source is Java's KafkaIO, run inside a Flink job: "
                        "give --runner FlinkRunner and --streaming")
    if not KAFKA_TOPIC.fullmatch(app.kafka_topic):
        problems.append(f"--kafka_topic: {app.kafka_topic!r} is not a Kafka topic name "
                        "(letters, digits, '.', '_', '-')")
    if app.kafka_max_records is not None and app.kafka_max_records <= 0:
        problems.append("--kafka_max_records: must be positive")
    if app.allowed_lateness_minutes < 0:
        problems.append("--allowed_lateness_minutes: must not be negative")
    return problems


def _output_flag_problems(app: RoadchiefOptions) -> list[str]:
    """A folder, or an s3:// prefix with a lease long enough to renew."""
    if not app.output:
        return ["--output: give a folder or s3://bucket/prefix for the tables"]
    scheme = scheme_of(app.output)
    if scheme not in (None, "s3"):
        return [f"--output: {scheme}:// is not supported; give a local folder or s3://bucket/prefix"]
    if scheme == "s3" and app.output_lease_s < 1:
        return ["--output_lease_s: must be at least 1"]
    return []


# Probes: what the flags name must be there and answer (files, folders, keys, Redis, brokers).

def probe_problems(options: PipelineOptions) -> list[str]:
    """Every problem found by looking at the files, folders and servers the flags name; a flag
    whose own form is wrong (flag_problems) is not probed."""
    app = options.view_as(RoadchiefOptions)
    runner = options.view_as(StandardOptions).runner
    problems = []
    if is_redis(app.events_stream):
        problem = redis_problem(app.events_stream)
        if problem:
            problems.append(f"--events_stream: {problem}")
    problems += _kafka_probe_problems(app)
    problems += _flink_problems(options, runner)
    for flag in ("events", "incidents", "outcomes"):
        for pattern in getattr(app, flag):
            problems += _input_problems(flag, pattern)
    if not _output_flag_problems(app):
        problems += _output_problems(options, app)
    zone = _world_zone_or_problem(app.world, problems)
    spec = watchlist_spec(app)
    for flag, path in (("--watchlist", None if is_redis(spec) else spec),
                       ("--watchlist_snapshot", app.watchlist_snapshot)):
        if path and zone:
            try:
                if not read_watchlist_file(path, zone):
                    raise ValueError(f"{path} has no entries (an empty list would match nothing)")
            except ValueError as bad:
                problems.append(f"{flag}: {bad}")
    if is_redis(app.publish_dispatches):
        problem = redis_problem(app.publish_dispatches)
        if problem:
            problems.append(f"--publish_dispatches: {problem}")
    problems += _live_watchlist_problems(app, spec)
    if not app.plain_plates:
        try:
            load_plate_key(key_file=app.plate_key_file)
        except ValueError as bad:
            problems.append(f"--plate_key_file: {bad}, or pass --plain_plates")
    if app.model is not None:
        problems += _model_problems(Path(app.model))
    if app.image_root is not None and not Path(app.image_root).is_dir():
        problems.append(f"--image_root: {app.image_root} is not a folder")
    return problems


def _world_zone_or_problem(world: str, problems: list[str]) -> Optional[ZoneInfo]:
    """The world's time zone, which the watchlist files' days are read in; None after noting
    why the world cannot give it."""
    if not Path(world).is_dir():
        problems.append(f"--world: {world} is not a folder")
        return None
    try:
        return world_zone(world)
    except ValueError as bad:
        problems.append(f"--world: {bad}")
        return None


def _input_problems(flag: str, pattern: str) -> list[str]:
    """Every match must be a regular file that can be read: a FIFO would block the run,
    a device stream without end, a folder or a symlink loop fail half-way."""
    matches = glob.glob(pattern)
    if not matches:
        return [f"--{flag}: nothing matches {pattern}"]
    problems = []
    for path in sorted(matches):
        try:
            mode = os.stat(path).st_mode
        except OSError as failure:
            problems.append(f"--{flag}: {path}: {failure.strerror}")
            continue
        if not stat.S_ISREG(mode):
            problems.append(f"--{flag}: {path} is {file_kind(mode)}, not a regular file")
        elif not os.access(path, os.R_OK):
            problems.append(f"--{flag}: {path} cannot be read (permission denied)")
    return problems


def _writable(folder: Path) -> list[str]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".roadchief-probe"
        probe.write_bytes(b"")
        probe.unlink()
        return []
    except OSError as refused:
        return [f"--output: cannot write to {folder} ({refused.strerror})"]


def _output_problems(options: PipelineOptions, app: RoadchiefOptions) -> list[str]:
    """A folder that can be written, or an s3:// prefix the store lets this run write."""
    if scheme_of(app.output) is None:
        return _writable(Path(app.output))
    problem = output_problem(app.output, ObjectStore.for_run(options))
    return [f"--output: {problem}"] if problem else []


def _model_problems(path: Path) -> list[str]:
    """A quick look inside a .keras file (a zip with the model's config), without TensorFlow."""
    try:
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                return [f"--model: {path} is not a Keras model file (no config.json inside)"]
            return []
    except (OSError, zipfile.BadZipFile) as bad:
        return [f"--model: {path} is not a readable Keras model file ({bad})"]


def _kafka_probe_problems(app: RoadchiefOptions) -> list[str]:
    """A broker that answers, and an expansion service: one that answers, or the one
    `make kafka` built with java to run it."""
    if not app.events_kafka:
        return []
    problems = []
    problem = unreachable(app.events_kafka)
    if problem:
        problems.append(f"--events_kafka: no broker answers ({problem})")
    if app.kafka_expansion_service:
        problem = unreachable(app.kafka_expansion_service)
        if problem:
            problems.append(f"--kafka_expansion_service: nothing answers ({problem})")
    else:
        problem = missing(EXPANSION_SERVICE_JAR, "kafka") or (
            None if shutil.which("java") else "java is not installed (the expansion service is a Java program)")
        if problem:
            problems.append(f"--kafka_expansion_service: {problem}")
    return problems


def _flink_problems(options: PipelineOptions, runner: str) -> list[str]:
    """The job server Beam is to start must be there (`make flink`)."""
    jar = options.view_as(FlinkRunnerOptions).flink_job_server_jar
    if runner != "FlinkRunner" or options.view_as(PortableOptions).job_endpoint or not jar:
        return []
    problem = missing(Path(jar))
    return [f"--flink_job_server_jar: {problem}"] if problem else []


def _live_watchlist_problems(app: RoadchiefOptions, spec: str) -> list[str]:
    """A Redis list that cannot answer at start: refused, unless the operator accepts the snapshot."""
    if not is_redis(spec):
        return []
    problem = live_watchlist_problem(spec, app.watchlist_max_age_h * 3600)
    if problem is None:
        return []
    if not app.watchlist_snapshot:
        return [f"--watchlist: {problem}; give --watchlist_snapshot FILE --accept_stale_watchlist "
                "to run on a snapshot"]
    if not app.accept_stale_watchlist:
        return [f"--watchlist: {problem}; every plate would be checked against the snapshot "
                f"{app.watchlist_snapshot} instead: pass --accept_stale_watchlist to run on it"]
    return []
