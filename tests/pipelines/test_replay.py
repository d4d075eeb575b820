"""`replay` pushes an events file into a Redis Stream, in order, at the pace asked."""
import json

import pytest
import redis

from pipelines.operate.replay import replay
from transforms.redis_contract import END_FIELD, EVENT_FIELD, entry_offset


def event_line(n: int, at: str) -> bytes:
    return json.dumps({"event_id": f"e{n}", "camera_id": "QH-BC-001", "captured_at": at,
                       "plate": "琼C12345"}, ensure_ascii=False).encode()


def test_every_line_is_pushed_in_order_at_once_when_speed_is_zero(tmp_path, redis_url):
    lines = [event_line(1, "2026-11-29T08:00:00+08:00"), b"", b"not json \xff",
             event_line(2, "2026-11-29T09:00:00+08:00")]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    sleeps = []
    counts = replay(str(path), redis_url, stream="s", speed=0, end_marker=True, sleep=sleeps.append)
    entries = redis.Redis.from_url(redis_url).xrange("s")
    assert [fields for _, fields in entries] == (
        [{EVENT_FIELD.encode(): line} for line in lines] + [{END_FIELD.encode(): b"1"}])
    assert counts.entries == 5 and counts.undated == 2
    assert counts.last_id == entries[-1][0].decode()
    assert sleeps == []


def test_lines_are_paced_by_captured_at_and_undated_ones_go_at_once(tmp_path, redis_url):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join([event_line(1, "2026-11-29T08:00:00+08:00"),
                                 event_line(2, "2026-11-29T08:00:05+08:00"), b"{}",
                                 event_line(3, "2026-11-29T08:00:10+08:00")]))
    now, sleeps = [0.0], []

    def sleep(seconds: float):
        sleeps.append(seconds)
        now[0] += seconds

    counts = replay(str(path), redis_url, stream="s", speed=50, sleep=sleep, clock=lambda: now[0])
    ids = [entry_id for entry_id, _ in redis.Redis.from_url(redis_url).xrange("s")]
    assert counts.entries == 4 and counts.undated == 1
    assert sorted(ids, key=lambda i: entry_offset(i.decode())) == ids
    # 5 s of event time at 50× is 100 ms: the replay waits that long before lines 2 and 3,
    # and not for the undated line between them.
    assert sleeps == pytest.approx([0.1, 0.1])


def test_a_line_dated_in_the_future_is_pushed_at_once_and_does_not_hold_the_replay(tmp_path, redis_url):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join([event_line(1, "2099-01-01T00:00:00+08:00"),
                                 event_line(2, "2026-11-29T08:00:00+08:00"),
                                 event_line(3, "2099-06-01T00:00:00+08:00"),
                                 event_line(4, "2026-11-29T08:00:01+08:00")]))
    sleeps = []
    counts = replay(str(path), redis_url, stream="s", speed=10, sleep=sleeps.append)
    assert counts.entries == 4 and all(s < 1 for s in sleeps)


def test_progress_hears_the_entries_pushed_after_each_batch(tmp_path, redis_url):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(event_line(n, "2026-11-29T08:00:00+08:00") for n in range(1200)) + b"\n")
    heard = []
    replay(str(path), redis_url, stream="s", speed=0, end_marker=True, progress=heard.append)
    assert heard == [500, 1000, 1201]
