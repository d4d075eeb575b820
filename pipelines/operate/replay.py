"""`roadchief replay`: push a JSON Lines file of camera events into a Redis Stream.

It stands in for the cameras when the live pipeline (ReadRedisStream) is
demonstrated or tested: each line becomes one entry, field `event`, paced by
its captured_at so that the stream sees traffic as the cameras sent it, or
faster. Every line is pushed, blank or broken ones too, so that the pipeline
dead-letters them as it would from a file. A retried push after a connection
error may add an entry twice; the pipeline removes duplicates by event_id.
"""
import time
from collections.abc import Callable
from typing import NamedTuple

from transforms.ingest.read_redis_stream import captured_at_us
from transforms.redis_contract import END_FIELD, EVENT_FIELD, EVENTS_STREAM, connect

BATCH = 500
MAX_FUTURE_S = 300.0  # as the pipeline's default --max_future_s: later lines are refused there


class ReplayCounts(NamedTuple):
    """What a replay pushed: entries (lines, plus the end marker), of which undated, and the last id."""
    entries: int
    undated: int
    last_id: str


def replay(events_path: str, redis_url: str, stream: str = EVENTS_STREAM, speed: float = 1.0,
           end_marker: bool = False, sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic,
           wall_clock: Callable[[], float] = time.time,
           progress: Callable[[int], None] | None = None) -> ReplayCounts:
    """Push every line of `events_path` to `stream`, at `speed` times real time (0: at once).

    The first dated line sets the pace; a line without a readable captured_at,
    dated before its predecessors, or dated in the future (one line of 2099
    must not hold the replay for decades), is pushed at once. `end_marker`
    appends an entry that ends a ReadRedisStream in replay mode (stop_at_end).
    ``progress``, if given, is told the entries pushed so far after each batch.
    """
    client = connect(redis_url, timeout_s=10)
    pending: list[dict[str, bytes | str]] = []
    ids, undated = [], 0
    started, first_us = clock(), None

    def flush():
        if pending:
            batch = client.pipeline(transaction=False)
            for fields in pending:
                batch.xadd(stream, fields)
            ids.extend(batch.execute())
            pending.clear()
            if progress:
                progress(len(ids))

    try:
        with open(events_path, "rb") as lines:
            for raw in lines:
                line = raw.rstrip(b"\r\n")
                event_us = captured_at_us(line.decode("utf-8", errors="replace"))
                undated += event_us is None
                if event_us is not None and event_us > (wall_clock() + MAX_FUTURE_S) * 1e6:
                    event_us = None
                if speed > 0 and event_us is not None:
                    first_us = event_us if first_us is None else first_us
                    wait_s = started + (event_us - first_us) / 1e6 / speed - clock()
                    if wait_s > 0:
                        flush()
                        sleep(wait_s)
                pending.append({EVENT_FIELD: line})
                if len(pending) >= BATCH:
                    flush()
        if end_marker:
            pending.append({END_FIELD: "1"})
        flush()
    finally:
        client.close()
    return ReplayCounts(len(ids), undated, ids[-1].decode() if ids else "")


def count_entries(redis_url: str, stream: str = EVENTS_STREAM, after: str = "0") -> int:
    """Event entries after `after`, up to the first end marker: the lines a replay-mode run reads."""
    client = connect(redis_url, timeout_s=10)
    count, start = 0, f"({after}"
    try:
        while True:
            # XRANGE's (id, fields) as RESP2 gives them undecoded; redis-py types them for every protocol
            entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(  # type: ignore[assignment]
                stream, min=start, count=BATCH)
            for _, fields in entries:
                if EVENT_FIELD.encode() not in fields and END_FIELD.encode() in fields:
                    return count
                count += 1
            if len(entries) < BATCH:
                return count
            start = f"({entries[-1][0].decode()}"
    finally:
        client.close()
