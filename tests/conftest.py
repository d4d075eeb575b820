"""Shared fixtures: a private redis-server, the sample world, a fixed clock."""
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from pipelines.options import SAMPLE_WORLD


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A real redis-server on a free loopback port, with persistence off."""

    def __init__(self, workdir: Path, *extra: str, port: int | None = None):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server")
        self.port = port or _free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(workdir), *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.05)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


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
def world_folder() -> str:
    return str(SAMPLE_WORLD)


@pytest.fixture(autouse=True, scope="session")
def plate_key():
    """A throwaway plate key for the whole run, as an operator would set it."""
    import os
    import secrets

    from transforms.privacy import KEY_ENV
    os.environ[KEY_ENV] = secrets.token_hex(32)
    yield os.environ[KEY_ENV]
