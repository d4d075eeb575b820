"""`roadchief run`: replay event files through the pipeline on a named runner.

One run writes to an output at a time: a folder, or an s3:// prefix that a
cluster's workers on other hosts can reach (`pipelines.store.output`).
Tables are written into a version folder of their own and published, all
tables at once, only when the whole run succeeded: a run that fails (a full
disk, a crash, a kill) leaves the tables of the previous run as they were
instead of a silent partial table. A live run (`--streaming`) never finishes
as a whole, so its version is published as it starts and each window's files
appear in it as the window closes, each file complete when it appears.
"""
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import TypeVar

import apache_beam as beam
from apache_beam.options.pipeline_options import (
    DebugOptions,
    PipelineOptions,
    PortableOptions,
    SetupOptions,
    StandardOptions,
)

from geo.world import world_zone
from pipelines.analysis.tables import count_lines
from pipelines.errors import RunFailed
from pipelines.flink.submit import FlinkRunnerForOneRun, flink_arguments
from pipelines.job import collector, sampler, signatures
from pipelines.job.flags import unknown_flag_problems
from pipelines.job.graph import build
from pipelines.job.options import RoadchiefOptions, validate, watchlist_spec
from pipelines.job.stage_metrics import print_stage_metrics
from pipelines.job.summary import print_summary, reconcile
from pipelines.operate.replay import count_entries
from pipelines.store.output import Output, Version, output_of
from pipelines.store.output_folder import RECONCILIATION
from transforms.enrich.watchlist_store import live_watchlist_problem
from transforms.redis_contract import is_redis
from transforms.store.write_tables import TABLES

DEFAULT_RUNNER = "FnApiRunner"
JOB_STREAMS_S = 30 * 86400
PRISM_NO_SPLITS = "prism_disable_sdf_split"
ViewT = TypeVar("ViewT", bound=PipelineOptions)


class _ViewedOnce(PipelineOptions):
    """Beam's options, each view of them made once.

    Beam asks a pipeline's options for a view at every transform it applies
    and every type it checks, and each new view parses every flag again (about
    half a millisecond): a thousand of them while this graph is built, a
    quarter of a short run. Every view reads and writes the same values
    (`_all_options`), so one view per class answers as a new one would.
    """

    def view_as(self, cls: type[ViewT]) -> ViewT:
        views = self.__dict__.setdefault("_views", {})
        if cls not in views:
            views[cls] = super().view_as(cls)
        return views[cls]


def pipeline_options(argv: list[str]) -> PipelineOptions:
    """Beam options from the command line, with the runner always named.

    A portable runner's job state and message streams end after
    `--job_server_timeout` (Beam's default: 300 s), and the job with them: a
    live run, or a long replay on Prism, must outlast that, so unless the flag
    is given it is set to thirty days.

    A Flink run gets the job server built from Maven Central and the options a
    Flink job needs (`pipelines.flink.submit`).

    Prism never splits a running bundle here. When Prism splits a slow bundle,
    it releases the keys of the returned half even where the half still running
    holds the same key, so another bundle can read that key's state before the
    first commits it (Prism 2.77, `splitBundle`). The live dispatch then opened a
    second incident for a plate with one already open.

    Every SDK worker imports `pipelines.job.collector`, `pipelines.job.signatures` and
    `pipelines.job.sampler` as it starts (Beam plugins).
    """
    if runner_named(argv) == "FlinkRunner":
        argv = flink_arguments(argv)
    options = _ViewedOnce(argv)
    standard = options.view_as(StandardOptions)
    standard.runner = standard.runner or DEFAULT_RUNNER
    if not any(arg.startswith(("--job_server_timeout", "--job-server-timeout")) for arg in argv):
        options.view_as(PortableOptions).job_server_timeout = JOB_STREAMS_S
    if standard.runner == "PrismRunner":
        options.view_as(DebugOptions).add_experiment(PRISM_NO_SPLITS)
    setup = options.view_as(SetupOptions)
    setup.beam_plugins = [*(setup.beam_plugins or []), collector.__name__, signatures.__name__, sampler.__name__]
    _absolute_paths(options.view_as(RoadchiefOptions))
    return options


def _absolute_paths(app: RoadchiefOptions) -> None:
    """Files named relative to where `roadchief run` starts: a worker runs in a folder of its own."""
    local = lambda path: path if path is None or "://" in path else os.path.abspath(path)  # noqa: E731
    for name in ("events", "incidents", "outcomes"):
        setattr(app, name, [local(pattern) for pattern in getattr(app, name)])
    for name in ("world", "output", "plate_key_file", "watchlist_snapshot", "model", "image_root"):
        setattr(app, name, local(getattr(app, name)))
    if app.watchlist and not is_redis(app.watchlist):
        app.watchlist = local(app.watchlist)


def runner_named(argv: list[str]) -> str:
    return PipelineOptions(argv).view_as(StandardOptions).runner or DEFAULT_RUNNER


def _cause(failure: BaseException, full: bool = False) -> str:
    """The line of a failure that names the error; with `full` (--verbose) all of it: the
    traceback, with a portable runner's report of the worker's traceback inside."""
    if full:
        return "".join(traceback.format_exception(failure)).strip()
    lines = [line for line in str(failure).splitlines() if line.strip()]
    named = [line for line in lines if "Error" in line or "error" in line]
    return (named or lines or [type(failure).__name__])[-1].strip()[:500]


def run(argv: list[str], summary: bool = True, verbose: bool = False,
        progress: Callable[[str], None] = lambda step: None) -> int:
    """Run the pipeline; `progress` is told each phase as it begins (pipelines.progress)."""
    progress("checking the flags")
    options = pipeline_options(argv)
    app = validate(options, unknown_flag_problems(argv, runner_named(argv)))
    _warn_if_running_on_the_snapshot(app)
    folder = output_of(options)
    with folder.writer(" ".join(["roadchief run", *argv])):
        for line in folder.clean_leftovers():
            print(line, file=sys.stderr)
        return _run_into(folder, options, app, summary, verbose, progress)


def _warn_if_running_on_the_snapshot(app) -> None:
    """The operator accepted a stale list; the run still says so, first thing."""
    spec = watchlist_spec(app)
    if not (is_redis(spec) and app.watchlist_snapshot):
        return
    problem = live_watchlist_problem(spec, app.watchlist_max_age_h * 3600)
    if problem:
        print(f"WARNING: the live watchlist cannot answer ({problem}): plates are checked against the "
              f"snapshot {app.watchlist_snapshot} and every hit is marked stale", file=sys.stderr)


def _run_into(folder: Output[Version], options: PipelineOptions, app, summary: bool, verbose: bool,
              progress: Callable[[str], None]) -> int:
    live = options.view_as(StandardOptions).streaming
    runner = options.view_as(StandardOptions).runner
    version = folder.new_version()
    if live:
        folder.publish(version, list(TABLES))
    started = time.perf_counter()
    flink = FlinkRunnerForOneRun() if options.view_as(StandardOptions).runner == "FlinkRunner" else None
    progress(f"{'running live' if live else 'running the pipeline'} on {runner}")
    try:
        with beam.Pipeline(runner=flink, options=options) as pipeline:
            build(pipeline, app, str(version))
    except Exception as failure:
        if not live:
            folder.discard(version)
        changed = "windows written before it stopped stay" if live else "changed no table"
        raise RunFailed(f"the run failed and {changed} under {folder.location}: "
                        f"{_cause(failure, full=verbose)}") from failure
    finally:
        if flink:
            flink.stop_job_server()
    elapsed = time.perf_counter() - started
    progress("counting the lines in")
    lines_in = {name: count_lines(getattr(app, name)) for name in ("events", "incidents", "outcomes")}
    if app.events_stream:
        lines_in["events"] = count_entries(app.events_stream, app.stream_name, app.stream_after)
    if app.events_kafka:  # a Kafka run that ends has read its --kafka_max_records records
        lines_in["events"] = app.kafka_max_records
    total = sum(lines_in.values())
    print(f"{total:,} lines in {elapsed:.1f} s ({total / elapsed:,.0f} lines/s) "
          f"on {runner}; tables under {folder.location}")
    progress("reconciling")
    accounts = reconcile(folder.connect(version), lines_in, app.accept_stale_watchlist)
    folder.write_text(version, RECONCILIATION, json.dumps(accounts, indent=2) + "\n")
    if not live:
        progress("publishing the tables")
        folder.publish(version, list(TABLES))
    print(accounts["verdict"])
    if summary:
        print_summary(folder.connect(), world_zone(app.world))
        print_stage_metrics(pipeline.result)
    return 0 if accounts["ok"] else 1
