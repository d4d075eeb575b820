"""What `roadchief run --runner FlinkRunner` adds to Beam's flags, unless they are given.

- `--flink_job_server_jar`: the job server `make flink` built from Maven Central; without
  it Beam would try to download a job-server jar from the internet. Beam starts it for the
  run, and `FlinkRunnerForOneRun` stops it when the run ends. (`--job_endpoint HOST:PORT`
  uses a job server that is already running instead.)
- `FLINK_CONF_DIR`: the Flink configuration that job server builds each job from
  (`conf-jobserver/`).
- `--environment_type LOOPBACK`: the Python workers run inside `roadchief run`, which
  suits a cluster on this machine. A cluster on other hosts runs them beside each
  TaskManager: `--environment_type EXTERNAL --environment_config HOST:PORT` with
  `roadchief worker-pool` (docs/deploy-flink.md).
- `--beam_plugins models.records`: a worker started by an SDK container (DOCKER)
  imports the records' fixed schemas before it decodes a row.
- A streaming run closes each bundle after at most 100 ms (`--max_bundle_time_mills`;
  the Flink runner's default is 1,000 ms). A bundle's outputs leave only when it closes,
  so with the default a hit waited up to a second in every fused stage on its way to a
  dispatch: on this project's live bench the p99 from event to dispatch went from
  4.0 s to 1.8 s (docs/performance.md).
- A live run that does not stop at an end marker checkpoints every 10 s, finishing its
  bundles first: a TaskManager lost mid-stream is replaced and the job resumes from its
  last checkpoint. (`--stream_until_end` and `--kafka_max_records` runs end when their
  source does: with checkpoints on, Beam's Flink runner keeps such a job running after its
  sources end.)
"""
import os

from apache_beam.runners.portability.flink_runner import FlinkRunner

from pipelines.flink.hang_up import quiet_hang_ups
from pipelines.flink.tools import JOB_SERVER_CONF, JOB_SERVER_JAR

CHECKPOINT_INTERVAL_MS = 10_000
LIVE_BUNDLE_MS = 100

# The Flink runner's own flags (Java's FlinkPipelineOptions in the job server of 2.62, in the
# snake_case the job server describes them in): Beam's Python side learns them from the job
# server only at submission, so `roadchief run` names them here to let them through its check.
FLINK_RUNNER_FLAGS = frozenset("--" + name for name in (
    "flink_master", "parallelism", "max_parallelism", "checkpointing_interval", "checkpointing_mode",
    "checkpoint_timeout_millis", "min_pause_between_checkpoints", "num_concurrent_checkpoints",
    "fail_on_checkpointing_errors", "finish_bundle_before_checkpointing", "unaligned_checkpoint_enabled",
    "force_unaligned_checkpoint_enabled", "shutdown_sources_after_idle_ms", "number_of_execution_retries",
    "job_check_interval_in_secs", "attached_mode", "execution_retry_delay", "object_reuse",
    "operator_chaining", "state_backend", "state_backend_storage_path", "disable_metrics",
    "retain_externalized_checkpoints_on_cancellation", "max_bundle_size", "max_bundle_time_mills",
    "latency_tracking_interval", "auto_watermark_interval", "execution_mode_for_batch", "savepoint_path",
    "allow_non_restored_state", "report_checkpoint_duration", "re_iterable_group_by_key_result",
    "faster_copy", "flink_conf_dir", "file_input_split_max_size_m_b", "enable_stable_input_drain"))


def given(argv: list[str], flag: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in argv)


def flink_arguments(argv: list[str]) -> list[str]:
    """`argv` with what a Flink run needs and was not told."""
    extra = []
    if not (given(argv, "--job_endpoint") or given(argv, "--flink_job_server_jar")):
        extra += ["--flink_job_server_jar", str(JOB_SERVER_JAR)]
    if not given(argv, "--environment_type"):
        extra += ["--environment_type", "LOOPBACK"]
    if not given(argv, "--beam_plugins"):
        extra += ["--beam_plugins", "models.records"]
    if given(argv, "--streaming") and not given(argv, "--max_bundle_time_mills"):
        extra += ["--max_bundle_time_mills", str(LIVE_BUNDLE_MS)]
    ending = given(argv, "--stream_until_end") or given(argv, "--kafka_max_records")
    live = given(argv, "--streaming") and not ending
    if live and not given(argv, "--checkpointing_interval"):
        extra += ["--checkpointing_interval", str(CHECKPOINT_INTERVAL_MS), "--finish_bundle_before_checkpointing"]
    os.environ.setdefault("FLINK_CONF_DIR", str(JOB_SERVER_CONF))
    return argv + extra


class FlinkRunnerForOneRun(FlinkRunner):
    """Beam's FlinkRunner, whose job server stops when the run ends (`stop_job_server`).

    Beam stops the job server it starts only when the process exits: a process that runs
    several pipelines (a scheduler, the tests) would otherwise keep one JVM per run. An
    in-process worker's threads end quietly when the TaskManager hangs up on them
    (`hang_up`).
    """

    _job_server = None

    def run_pipeline(self, pipeline, options):
        quiet_hang_ups()
        return super().run_pipeline(pipeline, options)

    def default_job_server(self, options):
        self._job_server = super().default_job_server(options)
        return self._job_server

    def stop_job_server(self) -> None:
        if self._job_server is not None:
            self._job_server.stop()
            self._job_server = None
