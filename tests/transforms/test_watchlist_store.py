
import pytest
import redis

from models.plate_rules import canonical
from tests.builders import WATCHLIST_ROWS, ZONE, write_watchlist_csv
from tests.servers import RedisServer
from transforms.enrich.watchlist_store import (
    PROBE_S,
    FileWatchlist,
    GuardedWatchlist,
    RedisWatchlist,
    entry_from_row,
    load_into_redis,
    read_watchlist_file,
)
from transforms.redis_contract import WATCHLIST_ENTRY_PATTERN, watchlist_entry_key


def test_file_watchlist_finds_entries_by_canonical_form(tmp_path):
    store = FileWatchlist(write_watchlist_csv(tmp_path / "w.csv", WATCHLIST_ROWS), ZONE)
    found = store.lookup([canonical("琼C12345"), canonical("京A00000")])
    assert [e.entry_id for e in found[canonical("琼C12345")]] == ["W1", "W2"]
    assert canonical("京A00000") not in found


def test_validity_runs_from_the_first_to_the_last_local_day():
    entry = entry_from_row(WATCHLIST_ROWS[2], "w.csv row 3", ZONE)
    assert entry.valid_at(entry.valid_from_us) and entry.valid_at(entry.valid_to_us)
    assert not entry.valid_at(entry.valid_to_us + 1)
    assert (entry.valid_to_us - entry.valid_from_us) / 86_400e6 == pytest.approx(181, abs=0.01)


@pytest.mark.parametrize("change, message", [
    ({"plate": "nonsense"}, "not a licence plate"),
    ({"category": "parking"}, "category"),
    ({"action": "arrest"}, "action"),
    ({"priority": "9"}, "priority"),
    ({"valid_to": "2020-01-01"}, "valid_to before valid_from"),
    ({"valid_from": "soon"}, "Invalid isoformat"),
])
def test_a_bad_row_is_a_clear_error_naming_file_and_row(tmp_path, change, message):
    path = write_watchlist_csv(tmp_path / "w.csv", [WATCHLIST_ROWS[0], {**WATCHLIST_ROWS[1], **change}])
    with pytest.raises(ValueError, match=rf"w.csv row 2: .*{message}"):
        read_watchlist_file(path, ZONE)


def test_a_missing_column_is_named(tmp_path):
    rows = [{k: v for k, v in WATCHLIST_ROWS[0].items() if k != "category"}]
    with pytest.raises(ValueError, match="missing column 'category'"):
        read_watchlist_file(write_watchlist_csv(tmp_path / "w.csv", rows), ZONE)


def test_redis_answers_like_the_file_after_a_load(tmp_path, redis_url):
    path = write_watchlist_csv(tmp_path / "w.csv", WATCHLIST_ROWS)
    meta = load_into_redis(read_watchlist_file(path, ZONE), redis_url, source=str(path))
    assert meta["count"] == 3
    live, file = RedisWatchlist(redis_url), FileWatchlist(path, ZONE)
    keys = [canonical(p) for p in ("琼C12345", "粤B88888", "京A00000")]
    assert live.lookup(keys) == file.lookup(keys)
    assert live.version == file.version == meta["version"]


def test_a_reload_removes_entries_that_left_the_list(tmp_path, redis_url):
    load_into_redis(read_watchlist_file(write_watchlist_csv(tmp_path / "a.csv", WATCHLIST_ROWS), ZONE), redis_url, "a")
    smaller = write_watchlist_csv(tmp_path / "b.csv", WATCHLIST_ROWS[:1])
    load_into_redis(read_watchlist_file(smaller, ZONE), redis_url, "b")
    client = redis.Redis.from_url(redis_url)
    assert sorted(k.decode() for k in client.scan_iter(WATCHLIST_ENTRY_PATTERN)) == [
        watchlist_entry_key(canonical("琼C12345"))]


def test_a_changed_entry_is_seen_once_the_cache_expires(tmp_path, redis_url):
    now = [0.0]
    load_into_redis(read_watchlist_file(write_watchlist_csv(tmp_path / "v.csv", WATCHLIST_ROWS[2:]), ZONE),
                    redis_url, "v")
    live = RedisWatchlist(redis_url, ttl_s=5, clock=lambda: now[0])
    key = canonical("琼C12345")
    assert live.lookup([key]) == {}
    load_into_redis(read_watchlist_file(write_watchlist_csv(tmp_path / "w.csv", WATCHLIST_ROWS[:1]), ZONE),
                    redis_url, "w")
    now[0] = 4.0
    assert live.lookup([key]) == {}
    now[0] = 5.5
    assert [e.entry_id for e in live.lookup([key])[key]] == ["W1"]


def test_a_full_cache_still_answers_every_plate_of_the_lookup(tmp_path, redis_url):
    """A lookup that mixes plates cached within the TTL with new ones, when the new ones
    overflow the cache, answers all of them (it used to drop the cached ones: KeyError)."""
    now = [0.0]
    path = write_watchlist_csv(tmp_path / "w.csv", WATCHLIST_ROWS)
    load_into_redis(read_watchlist_file(path, ZONE), redis_url, "w")
    live = RedisWatchlist(redis_url, ttl_s=60, clock=lambda: now[0])
    live.max_cached = 1
    cached, new = canonical("琼C12345"), [canonical(p) for p in ("粤B88888", "京A00000", "京A00001")]
    live.lookup([cached, canonical("粤B00000")])
    now[0] = 1.0
    expected = FileWatchlist(path, ZONE).lookup([cached, *new])
    assert live.lookup([cached, *new]) == expected and cached in expected
    assert live.lookup([cached, *new]) == expected


def test_a_parquet_watchlist_reads_like_the_csv(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.Table.from_pylist(WATCHLIST_ROWS), tmp_path / "w.parquet")
    assert read_watchlist_file(tmp_path / "w.parquet", ZONE) == read_watchlist_file(
        write_watchlist_csv(tmp_path / "w.csv", WATCHLIST_ROWS), ZONE)


@pytest.mark.redis
def test_a_snapshot_covers_a_server_that_is_down_without_asking_it_at_every_lookup(tmp_path):
    """While Redis is down, the snapshot answers, and the live list is asked again only once
    PROBE_S has passed and the server answers a ping; then it answers again."""
    now = [0.0]
    path = write_watchlist_csv(tmp_path / "w.csv", WATCHLIST_ROWS)
    server = RedisServer(tmp_path)
    port = server.port
    load_into_redis(read_watchlist_file(path, ZONE), server.url, "w")
    live = RedisWatchlist(server.url, ttl_s=0, clock=lambda: now[0], retries=0)
    guarded = GuardedWatchlist(live, FileWatchlist(path, ZONE, stale=True), wait_s=0, clock=lambda: now[0],
                               sleep=lambda s: None)
    key = canonical("琼C12345")
    assert not guarded.answer([key]).version.startswith("stale:")
    server.stop()
    now[0] = 0.5
    covered = guarded.answer([key])
    assert covered.version.startswith("stale:") and [e.entry_id for e in covered.entries[key]] == ["W1", "W2"]
    revived = RedisServer(tmp_path, port=port)
    try:
        load_into_redis(read_watchlist_file(path, ZONE), revived.url, "w")
        now[0] = PROBE_S / 2
        assert guarded.answer([key]).version.startswith("stale:"), "asked again before PROBE_S passed"
        now[0] = PROBE_S + 1
        again = guarded.answer([key])
        assert not again.version.startswith("stale:") and [e.entry_id for e in again.entries[key]] == ["W1", "W2"]
        revived.stop()
        now[0] = 2 * PROBE_S + 2
        assert guarded.answer([key]).version.startswith("stale:")
        now[0] = 3 * PROBE_S + 3  # still down: the ping fails and the snapshot answers on
        assert not live.reachable() and guarded.answer([key]).version.startswith("stale:")
    finally:
        revived.stop()
        guarded.close()
