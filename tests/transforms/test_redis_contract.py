"""The Redis contract: the names deployed data lives under, entry ids, URL checks and retries."""
import apache_beam as beam
import pytest
import redis
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions

from tests.servers import free_port
from transforms import redis_contract
from transforms.redis_contract import (
    backoff_retry,
    connect,
    entry_id,
    entry_offset,
    entry_time_s,
    is_redis,
    read_streams,
    redis_problem,
    watchlist_entry_key,
)


def test_the_names_are_those_deployed_data_lives_under():
    assert (redis_contract.EVENTS_STREAM, redis_contract.EVENT_FIELD, redis_contract.END_FIELD) == (
        "roadchief:events", "event", "end")
    assert (redis_contract.DISPATCHES_STREAM, redis_contract.PUBLISHED_DISPATCHES) == (
        "roadchief:dispatches", "roadchief:dispatches:published")
    assert (redis_contract.ACKS_STREAM, redis_contract.ESCALATIONS_STREAM, redis_contract.SENT_ESCALATIONS) == (
        "roadchief:acks", "roadchief:escalations", "roadchief:escalations:sent")
    assert redis_contract.WATCHLIST_META == "roadchief:watchlist:meta"
    assert watchlist_entry_key("QC12345") == "roadchief:watchlist:canon:QC12345"
    assert redis_contract.WATCHLIST_ENTRY_PATTERN == "roadchief:watchlist:canon:*"


def test_an_entry_id_gives_its_offset_and_its_time():
    assert entry_offset(entry_id(entry_offset("1764374400123-7"))) == entry_offset("1764374400123-7")
    assert entry_time_s("1764374400123-7") == 1764374400.123


def test_only_redis_urls_are_redis_and_a_closed_port_is_named():
    assert is_redis("redis://localhost:6379/0") and is_redis("rediss://h:6380/0") and is_redis("unix:///r.sock")
    assert not is_redis("watchlist.csv") and not is_redis(None)
    assert redis_problem("http://localhost:6379") == "give a redis:// or rediss:// URL"
    assert redis_problem(f"redis://127.0.0.1:{free_port()}/0").startswith("ConnectionError")


def test_a_live_redis_has_no_problem(redis_url):
    assert redis_problem(redis_url) is None


def test_retries_back_off_exponentially_and_a_refused_password_is_not_retried(monkeypatch):
    waits = []
    monkeypatch.setattr(redis.retry, "sleep", waits.append)
    attempts = []

    def unreachable():
        attempts.append(1)
        raise redis.ConnectionError("down")

    with pytest.raises(redis.ConnectionError):
        backoff_retry(7).call_with_retry(unreachable, lambda error: None)
    assert len(attempts) == 8 and waits == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0])

    def refused():
        attempts.append(1)
        raise redis.AuthenticationError("invalid password")

    attempts.clear()
    with pytest.raises(redis.AuthenticationError):
        backoff_retry().call_with_retry(refused, lambda error: None)
    assert len(attempts) == 1


class _PingClosedPort(beam.DoFn):
    def __init__(self, url):
        self._url = url

    def process(self, _):
        client = connect(self._url, retries=2)
        try:
            client.ping()
        except redis.ConnectionError:
            yield "down"
        finally:
            client.close()


def test_each_retry_of_a_client_is_counted_in_the_beam_metric():
    pipeline = beam.Pipeline(options=PipelineOptions(runner="FnApiRunner"))
    _ = pipeline | beam.Create([None]) | beam.ParDo(_PingClosedPort(f"redis://127.0.0.1:{free_port()}/0"))
    result = pipeline.run()
    result.wait_until_finish()
    counters = result.metrics().query(MetricsFilter().with_namespace("roadchief").with_name("redis_retries"))
    assert sum(counter.committed for counter in counters["counters"]) == 2


def test_read_streams_gives_each_stream_its_decoded_entries_after_the_id_and_none_when_the_block_ends(redis_url):
    client = connect(redis_url, decode_responses=True)
    first = client.xadd("a", {"n": "1"})
    second = client.xadd("a", {"n": "2"})
    client.xadd("b", {"m": "x"})
    read = read_streams(client, {"a": first, "b": "0"}, count=10, block_ms=None)
    assert read == [("a", [(second, {"n": "2"})]), ("b", [(read[1][1][0][0], {"m": "x"})])]
    assert read_streams(client, {"a": second}, count=10, block_ms=50) == []
    client.close()
