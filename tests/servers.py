"""The real servers the tests start, each on a free loopback port and stopped by its pid:
redis-server, an S3-compatible object store, a Kafka broker and KafkaIO's expansion service;
where the Prism binary is; and how a test feeds Kafka and stops a `roadchief run`.

conftest.py turns them into fixtures; a test or a benchmark that needs a server of its own
(one it restarts, secures or breaks) starts it from here."""
import base64
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

from pipelines.flink.expansion import EXPANSION_ARGS
from pipelines.flink.tools import EXPANSION_SERVICE_JAR, KAFKA_HOME, TOOLS, missing
from pipelines.store.object_store import ObjectStore


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A real redis-server on a free loopback port, with persistence off.

    `password` turns on requirepass; `tls` ({"cert", "key", "ca"} paths) makes
    it listen with TLS only; `persist` keeps a dump in `workdir` that a server
    restarted there loads before it answers.
    """

    def __init__(self, workdir: Path, *, port: int | None = None, password: str | None = None,
                 tls: dict[str, Path] | None = None, persist: bool = False):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server")
        self.port = port or free_port()
        listen = ["--port", str(self.port)]
        if tls:
            listen = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(tls["cert"]),
                      "--tls-key-file", str(tls["key"]), "--tls-ca-cert-file", str(tls["ca"]),
                      "--tls-auth-clients", "no"]
        secured = ["--requirepass", password] if password else []
        self.process = subprocess.Popen(
            [binary, *listen, *secured, "--bind", "127.0.0.1", "--appendonly", "no",
             *([] if persist else ["--save", ""]), "--dir", str(workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self._scheme, self._query = ("rediss", f"?ssl_ca_certs={tls['ca']}") if tls else ("redis", "")
        self.url = self.url_for("", password) if password else self.url_for(None, None)
        deadline = time.monotonic() + 10
        while True:
            try:
                with redis.Redis.from_url(self.url) as client:
                    client.ping()
                return
            except redis.ConnectionError as error:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from error
                time.sleep(0.05)

    def url_for(self, user: str | None, password: str | None) -> str:
        credentials = "" if password is None else f"{user}:{password}@"
        return f"{self._scheme}://{credentials}127.0.0.1:{self.port}/0{self._query}"

    def stop(self, save: bool = False):
        if save:
            redis.Redis.from_url(self.url).save()
        self.process.terminate()
        self.process.wait(timeout=10)



VERSITYGW = TOOLS / "versitygw-1.8.0" / "versitygw"


class ObjectStoreServer:
    """A real S3-compatible server (versitygw, `make versitygw`) on a free loopback port,
    keeping its buckets as folders under `root`, with one account whose secret is fresh."""

    def __init__(self, root: Path):
        if not VERSITYGW.exists():
            raise RuntimeError(f"{VERSITYGW} is missing: run `make versitygw`")
        self.port = free_port()
        self.store = ObjectStore(endpoint_url=f"http://127.0.0.1:{self.port}", access_key_id="roadchief-test",
                                 secret_access_key=secrets.token_hex(16), region="us-east-1")
        self.process = subprocess.Popen(
            [VERSITYGW, "--port", f"127.0.0.1:{self.port}", "--quiet", "posix", str(root)],
            env={**os.environ, "ROOT_ACCESS_KEY_ID": self.store.access_key_id,
                 "ROOT_SECRET_ACCESS_KEY": self.store.secret_access_key},
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.client = self.store.client(timeout_s=5)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.client.list_buckets()
                return
            except Exception as error:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("versitygw did not start") from error
                time.sleep(0.1)

    def environment(self) -> dict[str, str]:
        """The AWS variables that lead boto3, pyarrow and Beam's S3 filesystem to this server."""
        return {"AWS_ENDPOINT_URL": self.store.endpoint_url, "AWS_ACCESS_KEY_ID": self.store.access_key_id,
                "AWS_SECRET_ACCESS_KEY": self.store.secret_access_key, "AWS_REGION": self.store.region}

    def new_bucket(self) -> str:
        name = f"roadchief-{uuid.uuid4().hex[:12]}"
        self.client.create_bucket(Bucket=name)
        return name

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)




def _wait_for_port(port: int, process: subprocess.Popen, what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError as error:
            if time.monotonic() > deadline or process.poll() is not None:
                _stop(process)
                raise RuntimeError(f"{what} did not start") from error
            time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class KafkaBroker:
    """A real Kafka broker (`make kafka`) in KRaft mode, broker and controller in one JVM,
    on free loopback ports, with its storage formatted in `workdir`.

    `workdir` also holds its configuration and server.log. It accepts records up to
    `max_record_bytes`, so that the tests can send what the pipeline must cut, and keeps
    records for ever: the tests' traffic is dated days ago, and a broker deletes records
    older than its retention (7 days by default) within minutes. Stopped by its pid.
    """

    def __init__(self, workdir: Path, max_record_bytes: int = 16 * 1024 * 1024):
        problem = missing(KAFKA_HOME / "lib", "kafka")
        if problem:
            raise RuntimeError(problem)
        self.port, controller = free_port(), free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        config = workdir / "server.properties"
        config.write_text("\n".join(f"{key}={value}" for key, value in {
            "process.roles": "broker,controller", "node.id": 1,
            "controller.quorum.voters": f"1@127.0.0.1:{controller}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{controller}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER", "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": workdir / "data", "num.partitions": 1, "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1, "transaction.state.log.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0, "message.max.bytes": max_record_bytes,
            "log.retention.ms": -1}.items()) + "\n")
        logging_config = workdir / "log4j.properties"
        logging_config.write_text(f"log4j.rootLogger=INFO, file\n"
                                  f"log4j.appender.file=org.apache.log4j.FileAppender\n"
                                  f"log4j.appender.file.File={workdir / 'server.log'}\n"
                                  f"log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
                                  f"log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n")
        java = ["java", "-Xmx512m", "-XX:+UseSerialGC", "-XX:ActiveProcessorCount=1",
                f"-Dlog4j.configuration=file:{logging_config}", "-cp", f"{KAFKA_HOME / 'lib'}/*"]
        subprocess.run([*java, "kafka.tools.StorageTool", "format", "-t", _cluster_id(), "-c", str(config)],
                       check=True, capture_output=True, timeout=120)
        self.process = subprocess.Popen([*java, "kafka.Kafka", str(config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        _wait_for_port(self.port, self.process, "the Kafka broker", timeout_s=120)

    def create_topic(self, topic: str, partitions: int = 1) -> None:
        from kafka.admin import KafkaAdminClient, NewTopic
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            admin.create_topics([NewTopic(topic, partitions, 1)])
        finally:
            admin.close()

    def stop(self):
        _stop(self.process)


def _cluster_id() -> str:
    """A KRaft cluster id, as `kafka-storage random-uuid` prints it (never starting with a dash)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


class ExpansionService:
    """KafkaIO's expansion service (`make kafka`) on a free port, started as `roadchief run` starts
    it (pipelines/flink/expansion.py); stopped by its pid."""

    def __init__(self):
        problem = missing(EXPANSION_SERVICE_JAR, "kafka")
        if problem:
            raise RuntimeError(problem)
        self.port = free_port()
        self.address = f"localhost:{self.port}"
        self.process = subprocess.Popen(["java", "-Xmx512m", "-jar", str(EXPANSION_SERVICE_JAR), str(self.port),
                                         *EXPANSION_ARGS], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        _wait_for_port(self.port, self.process, "the expansion service", timeout_s=120)

    def stop(self):
        _stop(self.process)




def produce(bootstrap: str, topic: str, values, timestamps_ms=None, partition: int | None = None,
            key: bytes = b"camera") -> None:
    """Each value as one record of `topic`, with its timestamp (None: the send time). The
    key, which the source does not read, lets a record without a value be sent."""
    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=16 * 1024 * 1024, linger_ms=20)
    try:
        for value, at_ms in zip(values, timestamps_ms or [None] * len(values)):
            producer.send(topic, value=value, key=key, timestamp_ms=at_ms, partition=partition)
        producer.flush()
    finally:
        producer.close()


def produce_events(bootstrap: str, topic: str, events: Path) -> int:
    """Every line of a JSON Lines file as one record, as a camera platform would publish it:
    stamped with its captured_at; a line without one (or dated in the future) with the latest
    capture time so far (the first, before there is one): a record stamped with the send time
    would move KafkaIO's watermark to today. Returns the count."""
    from transforms.ingest.read_redis_stream import event_time_us
    values = events.read_bytes().splitlines()
    dated = [event_time_us(value.decode(errors="replace"), round(time.time() * 1e6)) for value in values]
    latest_us = next((event_us for event_us in dated if event_us is not None), None)
    stamps = []
    for event_us in dated:
        latest_us = latest_us if event_us is None else max(latest_us, event_us)
        at_us = latest_us if event_us is None else event_us
        stamps.append(None if at_us is None else at_us // 1000)
    produce(bootstrap, topic, values, stamps)
    return len(values)



def prism_binary() -> str:
    """Prism, Beam's portable local runner: $ROADCHIEF_PRISM, else `make prism`'s build, else the PATH's."""
    configured = os.environ.get("ROADCHIEF_PRISM")
    if configured:
        return configured
    gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True).stdout.strip()
    built = Path(gopath) / "bin" / "prism"
    if built.exists():
        return str(built)
    found = shutil.which("prism")
    if not found:
        raise RuntimeError("Prism is not built: run `make prism`")
    return found


def start_run(events, output, *extra) -> subprocess.Popen:
    """`roadchief run` on `events` into `output`, in a process of its own."""
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--events", str(events),
                             "--output", str(output), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish_run(process: subprocess.Popen, timeout=300) -> tuple[int, str, str]:
    """The exit code, stdout and stderr of a run started by `start_run`."""
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def stop_run(process: subprocess.Popen, timeout_s: float = 120) -> str:
    """Wait for a `roadchief run` whose job was cancelled to end, so that it stops the job
    server it started; terminate it (then kill its process group) if it does not. Returns stderr."""
    try:
        _, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            _, err = process.communicate()
    return err or ""


def children_running(name: str) -> list[int]:
    """The pids of this process's child processes whose command line names `name`."""
    children = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and name in cmdline:
            children.append(int(proc.name))
    return children
