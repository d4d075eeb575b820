"""An s3:// output keeps the output folder's promises on a real S3-compatible server:
the same tables, one writer at a time, readers that see one whole run, and a crash that
never blocks the output for longer than its lease.

The server is versitygw (`make versitygw`); `roadchief run` processes are real, and
killed with SIGKILL.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from pipelines.analysis.retention import purge
from pipelines.analysis.tables import connect
from pipelines.errors import OptionsError, OutputBusy, RunFailed
from pipelines.job.run import run
from pipelines.store.lease import LeaseLost
from pipelines.store.object_store import ObjectStore, S3Location
from pipelines.store.output_bucket import LEASE, POINTER, VERSIONS, OutputBucket
from tests.builders import large_and_small, repeated
from tests.servers import finish_run, start_run
from tests.tables import all_tables, counts

pytestmark = [pytest.mark.beam, pytest.mark.s3]

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, world_folder):
    """A larger and a smaller events file, whose tables differ in every count."""
    return large_and_small(tmp_path_factory.mktemp("bucket-inputs"), world_folder, seed=11, events=8_000,
                           small_lines=2000)


def objects(output, under: str = "") -> dict[str, bytes]:
    """Every object under the output (or under one of its folders), with its contents."""
    where = S3Location.parse(output)
    client = ObjectStore.from_environment().client()
    keys = [item["Key"] for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=where.bucket, Prefix=where.key(under)) for item in page.get("Contents", [])]
    return {key: client.get_object(Bucket=where.bucket, Key=key)["Body"].read() for key in keys}


def current_version(output) -> str:
    return json.loads(objects(output, POINTER)[S3Location.parse(output).key(POINTER)])["version"]


def test_a_run_to_s3_writes_every_table_a_local_run_writes(inputs, s3_output, tmp_path):
    _, small = inputs
    local = tmp_path / "local"
    for output in (local, s3_output):
        assert run(["--runner", "FnApiRunner", "--events", str(small), "--output", str(output)],
                   summary=False) == 0
    expected, tables = all_tables(local), all_tables(s3_output)
    assert tables == expected and tables["passings"] and tables["dispatches"]
    version = current_version(s3_output)
    reconciliation = objects(s3_output, f"{VERSIONS}/{version}/reconciliation.json")
    assert json.loads(next(iter(reconciliation.values())))["inputs"]["events"]["lines_in"] == 2000
    query = subprocess.run([sys.executable, "-m", "pipelines.cli", "query", "--tables", s3_output,
                            "--reason", "case 2026-119", "--audit-log", str(tmp_path / "audit.jsonl"),
                            "SELECT count(*) AS n FROM passings"], capture_output=True, text=True, timeout=120)
    assert query.returncode == 0 and f"{len(expected['passings'])}" in query.stdout, query.stderr
    with pytest.raises(ValueError, match="purging an s3:// output is not implemented"):
        purge(s3_output)
    with pytest.raises(ValueError, match="nothing under"):
        connect(s3_output + "-mistyped")


def test_a_flink_run_with_workers_outside_the_submitting_process_writes_the_same_tables(
        flink_cluster, inputs, s3_server, s3_output, tmp_path):
    _, small = inputs
    key = tmp_path / "plate.key"
    key.write_text("cd" * 32)  # workers outside this process read the key from a file
    common = ["--events", str(small), "--plate_key_file", str(key)]
    assert run([*common, "--runner", "FnApiRunner", "--output", str(tmp_path / "local")], summary=False) == 0
    # A PROCESS worker gets its environment from its TaskManager, or from the job as here.
    workers = {"command": str(Path(sys.executable).with_name("roadchief-worker-boot")),
               "env": {**s3_server.environment(), "PYTHONPATH": str(REPOSITORY)}}
    assert run([*common, "--runner", "FlinkRunner", "--flink_master", flink_cluster.master, "--output", s3_output,
                "--environment_type", "PROCESS", "--environment_config", json.dumps(workers)], summary=False) == 0
    assert all_tables(s3_output) == all_tables(tmp_path / "local")


def test_a_run_killed_half_way_leaves_the_previous_tables_and_is_cleaned_next_time(inputs, s3_output):
    large, small = inputs
    assert finish_run(start_run(small, s3_output))[0] == 0
    before, published = counts(s3_output), current_version(s3_output)
    reconciliation = objects(s3_output, f"{VERSIONS}/{published}/reconciliation.json")
    victim = start_run(large, s3_output, "--output_lease_s", "2")
    deadline = time.monotonic() + 240
    while not any(f"/{published}/" not in key for key in objects(s3_output, VERSIONS)):
        assert victim.poll() is None and time.monotonic() < deadline, "the run wrote no table in time"
        time.sleep(0.2)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert counts(s3_output) == before
    assert objects(s3_output, f"{VERSIONS}/{published}/reconciliation.json") == reconciliation
    time.sleep(4.5)  # the victim's lease expires unrenewed
    code, _, err = finish_run(start_run(small, s3_output))
    assert code == 0, err
    assert f"took over the lease of pid {victim.pid}" in err and "removed the unfinished tables of run" in err
    versions = {key.split("/")[2] for key in objects(s3_output, VERSIONS)}
    assert versions == {published, current_version(s3_output)} and len(versions) == 2
    where = S3Location.parse(s3_output)
    uploads = ObjectStore.from_environment().client().list_multipart_uploads(Bucket=where.bucket)
    assert not uploads.get("Uploads")
    assert LEASE not in str(list(objects(s3_output)))  # released at the end of the run


def test_a_second_run_is_refused_and_readers_see_one_whole_run_while_the_first_publishes(inputs, s3_output):
    large, small = inputs
    assert finish_run(start_run(small, s3_output))[0] == 0
    before = counts(s3_output)
    seen, failures, stop = [], [], threading.Event()

    def read():
        while not stop.is_set():
            try:
                seen.append(counts(s3_output))
            except Exception as failure:  # noqa: BLE001 - a reader must never fail
                failures.append(failure)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        first = start_run(repeated(large, 5), s3_output)  # still running when the second run asks
        deadline = time.monotonic() + 60
        while not objects(s3_output, LEASE):
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        code, _, err = finish_run(start_run(small, s3_output), timeout=120)
        assert code == 2 and "Traceback" not in err
        assert f"is being written by another roadchief process (pid {first.pid}" in err
        code, _, err = finish_run(first)
        assert code == 0, err
        after = counts(s3_output)
        deadline = time.monotonic() + 30
        while seen[-1] != after and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        reader.join()
    assert not failures and len(seen) > 5 and set(seen) == {before, after} and before != after
    reconciliation = objects(s3_output, f"{VERSIONS}/{current_version(s3_output)}/reconciliation.json")
    assert json.loads(next(iter(reconciliation.values())))["inputs"]["events"]["lines_in"] == 40_000


HOLDER = """
import sys, time
from pipelines.store.output_bucket import OutputBucket
with OutputBucket(sys.argv[1], lease_s=2).writer('holder') as output:
    version = output.new_version()
    print('held', flush=True)
    sys.stdin.readline()
    output.write_text(version, 'note', 'from the holder')
    output.publish(version, [])
"""


def hold(output) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, output], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_live_lease_is_renewed_and_an_expired_one_taken_over_by_exactly_one_writer(s3_output):
    holder = hold(s3_output)
    time.sleep(6)  # three terms: only renewals keep it
    with pytest.raises(OutputBusy, match=f"pid {holder.pid} .*holder"):
        with OutputBucket(s3_output).writer("second"):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with pytest.raises(OutputBusy, match=f"pid {holder.pid}"):
        with OutputBucket(s3_output).writer("too early"):
            pass
    time.sleep(6)  # past its term and the store's one-second clock grain, with room for a late renewal
    barrier, won, refused = threading.Barrier(2), [], []

    def take_over():
        output = OutputBucket(s3_output)
        barrier.wait()
        try:
            with output.writer("racer"):
                won.append(output.clean_leftovers())
                time.sleep(1)
        except OutputBusy as busy:
            refused.append(str(busy))

    racers = [threading.Thread(target=take_over) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert len(won) == 1 and len(refused) == 1, (won, refused)
    assert f"took over the lease of pid {holder.pid}" in won[0][0]
    assert f"pid {os.getpid()}" in refused[0]


def next_writer(stack: ExitStack, location: str, deadline_s: float = 30.0) -> OutputBucket:
    """The next writer, once the lease it waits for has expired by the store's clock: a renewal
    in flight when its holder stopped can land a moment later on a loaded machine."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return stack.enter_context(OutputBucket(location).writer("the next run"))
        except OutputBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_a_writer_that_hung_past_its_lease_publishes_nothing(s3_output):
    holder = hold(s3_output)
    holder.send_signal(signal.SIGSTOP)  # its heartbeat stops with it
    try:
        time.sleep(4.5)
        with ExitStack() as stack:
            output = next_writer(stack, s3_output)
            assert "took over the lease" in output.clean_leftovers()[0]
            holder.send_signal(signal.SIGCONT)
            _, err = holder.communicate("publish\n", timeout=60)
    finally:
        holder.send_signal(signal.SIGCONT)
    assert holder.returncode != 0 and LeaseLost.__name__ in err and "publishes nothing" in err
    assert not objects(s3_output, POINTER)


def test_a_pointer_changed_behind_the_lease_is_never_overwritten(s3_output):
    where = S3Location.parse(s3_output)
    with OutputBucket(s3_output).writer("this run") as output:
        ObjectStore.from_environment().client().put_object(Bucket=where.bucket, Key=where.key(POINTER),
                                                          Body=b'{"version": "another"}')
        with pytest.raises(RunFailed, match="another writer published after this run took the lease"):
            output.publish(output.new_version(), [])
    assert output.current() == "another"


@pytest.mark.parametrize("output", ["gs://roadchief/out", "hdfs://namenode/out", "ftp://host/out"])
def test_an_unsupported_scheme_is_refused_up_front(inputs, tmp_path, output):
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--events", str(inputs[1]),
                           "--output", output], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(REPOSITORY)})
    scheme = output.split(":")[0]
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"--output: {scheme}:// is not supported; give a local folder or s3://bucket/prefix" in done.stderr
    assert list(tmp_path.iterdir()) == []  # no folder named `gs:` or the like


def test_a_wrong_secret_is_refused_up_front(inputs, s3_output, tmp_path):
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--events", str(inputs[1]),
                           "--output", s3_output], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "AWS_SECRET_ACCESS_KEY": "not-the-secret"})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"--output: cannot write to {s3_output} (the secret access key was refused" in done.stderr
    assert objects(s3_output) == {}


@pytest.mark.parametrize("change, message", [
    ({"AWS_ACCESS_KEY_ID": "nobody"}, "the access key id is unknown"),
    ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, "Could not connect to the endpoint URL"),
])
def test_an_unreachable_store_is_refused_up_front_with_the_reason(inputs, s3_output, monkeypatch, change, message):
    for name, value in change.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(OptionsError, match=message):
        run(["--events", str(inputs[1]), "--output", s3_output], summary=False)


def test_a_missing_bucket_is_refused_up_front(inputs, s3_output):
    with pytest.raises(OptionsError, match="the bucket does not exist"):
        run(["--events", str(inputs[1]), "--output", "s3://roadchief-no-such-bucket/x"], summary=False)
