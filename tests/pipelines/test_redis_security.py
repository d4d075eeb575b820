"""The Redis watchlist behind a password, ACL users and TLS, on a real redis-server.

The shared `redis_server` fixture runs an open server; these tests start their
own, secured the way docs/threat-model.md asks production to be.
"""
import logging
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from models.plate_rules import canonical
from pipelines.job.options import SAMPLE_WORLD
from tests.builders import ZONE
from tests.servers import RedisServer
from transforms.enrich.watchlist_store import RedisWatchlist, load_into_redis, read_watchlist_file
from transforms.redis_contract import WATCHLIST_PREFIX

pytestmark = [pytest.mark.beam, pytest.mark.redis]

ENTRIES = read_watchlist_file(SAMPLE_WORLD / "watchlist.csv", ZONE)[:50]
PASSWORD = secrets.token_urlsafe(24)
WRONG = secrets.token_urlsafe(24)


def _throwaway_ca_and_server_cert(folder: Path) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1, made with the openssl command line."""
    paths = {name: folder / f"{name}.pem" for name in ("ca", "ca_key", "cert", "key", "csr")}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for command in (
        ["req", "-x509", *ec, "-keyout", paths["ca_key"], "-out", paths["ca"], "-days", "1",
         "-subj", "/CN=roadchief test CA"],
        ["req", *ec, "-keyout", paths["key"], "-out", paths["csr"], "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", paths["csr"], "-CA", paths["ca"], "-CAkey", paths["ca_key"],
         "-CAcreateserial", "-out", paths["cert"], "-days", "1", "-extfile", folder / "san.ext"],
    ):
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    return paths


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis-auth"), password=PASSWORD)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    folder = tmp_path_factory.mktemp("redis-tls")
    server = RedisServer(folder, password=PASSWORD, tls=_throwaway_ca_and_server_cert(folder))
    yield server
    server.stop()


def _round_trip(load_url: str, read_url: str):
    """Load the entries, then look each one up through the pipeline's backend."""
    meta = load_into_redis(ENTRIES, load_url, source="test")
    watchlist = RedisWatchlist(read_url, retries=0)
    try:
        found = watchlist.lookup([canonical(entry.plate) for entry in ENTRIES])
        assert watchlist.version == meta["version"]
    finally:
        watchlist.close()
    assert sorted(e for group in found.values() for e in group) == sorted(ENTRIES)


def test_the_watchlist_works_behind_a_password(secured):
    _round_trip(secured.url, secured.url)


@pytest.mark.parametrize("password", [WRONG, ""])
def test_a_wrong_or_missing_password_is_refused_without_showing_passwords(secured, caplog, password):
    caplog.set_level(logging.DEBUG)
    watchlist = RedisWatchlist(secured.url_for("", password), retries=0)
    with pytest.raises(redis.AuthenticationError) as refused:
        watchlist.lookup(["X"])
    watchlist.close()
    shown = [str(refused.value), repr(refused.value)] + [r.getMessage() for r in caplog.records]
    assert not [text for text in shown if PASSWORD in text or WRONG in text]


def test_the_command_line_does_not_echo_a_wrong_password(secured, tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "watchlist", "load", str(SAMPLE_WORLD / "watchlist.csv"),
         "--redis", secured.url_for("", WRONG), "--reason", "test",
         "--audit-log", str(tmp_path / "audit.jsonl")],
        capture_output=True, text=True, timeout=120)
    assert finished.returncode != 0
    assert "AuthenticationError" in finished.stderr and "Traceback" not in finished.stderr
    assert WRONG not in finished.stdout + finished.stderr


def test_acl_users_separate_loading_from_reading(secured):
    """The pipeline needs only MGET and HGET on the watchlist keys; the loader also writes."""
    admin = redis.Redis.from_url(secured.url)
    reader, loader = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    admin.acl_setuser("pipeline", enabled=True, passwords=["+" + reader], reset=True,
                      keys=[WATCHLIST_PREFIX + "*"], commands=["+mget", "+hget"])
    admin.acl_setuser("loader", enabled=True, passwords=["+" + loader], reset=True,
                      keys=[WATCHLIST_PREFIX + "*"],
                      commands=["+scan", "+set", "+del", "+hset", "+multi", "+exec"])
    admin.flushdb()
    admin.close()
    _round_trip(secured.url_for("loader", loader), secured.url_for("pipeline", reader))
    with pytest.raises(redis.exceptions.NoPermissionError):
        load_into_redis(ENTRIES, secured.url_for("pipeline", reader), source="test")


def test_the_watchlist_works_over_tls_with_a_verified_certificate(tls):
    _round_trip(tls.url, tls.url)


def test_tls_refuses_an_unverified_server_and_plain_connections(tls):
    without_ca = tls.url.split("?")[0]
    plain = without_ca.replace("rediss://", "redis://")
    for url, expected in ((without_ca, "certificate verify failed"),
                          (plain, "Connection (reset by peer|closed by server)")):
        watchlist = RedisWatchlist(url, retries=0)
        with pytest.raises(redis.ConnectionError, match=expected) as refused:
            watchlist.lookup(["X"])
        watchlist.close()
        assert PASSWORD not in str(refused.value)
