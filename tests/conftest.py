"""Shared fixtures: a private redis-server and object store, a Kafka broker and KafkaIO's
expansion service, the Prism binary, a Flink session cluster, the sample world and a plate key.

Each test is also filed in the lanes (tests/lanes.py) of the fixtures it uses."""
import logging
import os
import secrets

import pytest
import redis

from pipelines.job.options import SAMPLE_WORLD
from tests.lanes import lanes
from tests.servers import ExpansionService, KafkaBroker, ObjectStoreServer, RedisServer, prism_binary

# Beam stops the Prism job server at interpreter exit and logs it after pytest
# has closed its capture streams; that late log line is not a test failure.
logging.raiseExceptions = False


def pytest_collection_modifyitems(items):
    for item in items:
        marks = {mark.name for mark in item.iter_markers()}
        for lane in sorted(lanes(item.fixturenames, marks) - marks):
            item.add_marker(lane)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """A clean database on the shared server for each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    return redis_server.url


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = ObjectStoreServer(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


@pytest.fixture
def s3_output(s3_server, monkeypatch) -> str:
    """An s3:// output in a bucket of its own, with the AWS variables set for this test
    and the processes it starts."""
    for name in ("AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.environment().items():
        monkeypatch.setenv(name, value)
    return f"s3://{s3_server.new_bucket()}/roadchief"


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory):
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_expansion():
    service = ExpansionService()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def prism() -> str:
    """The path of the Prism binary, Beam's portable local runner."""
    return prism_binary()


@pytest.fixture(scope="session")
def flink_cluster(tmp_path_factory):
    """A real Flink session cluster (JobManager and one TaskManager of two slots) for the session."""
    from pipelines.flink.cluster import FlinkCluster
    cluster = FlinkCluster(tmp_path_factory.mktemp("flink"))
    cluster.up(taskmanagers=1)
    yield cluster
    cluster.down()


@pytest.fixture(scope="session")
def world_folder() -> str:
    return str(SAMPLE_WORLD)


@pytest.fixture(autouse=True, scope="session")
def plate_key():
    """A throwaway plate key for the whole run, as an operator would set it."""
    from transforms.enrich.privacy import KEY_ENV
    os.environ[KEY_ENV] = secrets.token_hex(32)
    yield os.environ[KEY_ENV]
