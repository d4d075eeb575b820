"""What roadchief keeps in Redis, and how it talks to it: the one place that names it.

Cameras, the pipeline, the command centre's consoles and the watchlist
loader meet in Redis; deployed data depends on every name below, so they
never change.

Streams (entries are field/value pairs; entry ids are Redis's own `ms-seq`):
  roadchief:events          camera events: field `event` holds one JSON line;
                            an entry with `end` and no `event` is an end
                            marker (`roadchief replay --end_marker`)
  roadchief:dispatches      one entry per dispatch version (fields in
                            transforms.act.publish_dispatches)
  roadchief:acks            acknowledgements: dispatch_id, responder_id, at
  roadchief:escalations     escalation steps up the chief chain

Sets that make appends idempotent (see APPEND_ONCE):
  roadchief:dispatches:published   `<dispatch_id>:<sightings>` already published
  roadchief:escalations:sent       `<dispatch_id>:<level>` already escalated

Watchlist (prefix `roadchief:watchlist:`):
  canon:<canonical plate>   string, JSON list of the entries with that canonical form
  meta                      hash: version, count, loaded_at, source

There are no consumer groups: every reader keeps its own position (the
pipeline in its checkpointed restriction, `watch` and the escalator in
memory, rebuilt from the streams on start), so nothing is acknowledged to
Redis and a reader never hides an entry from another.

Stream entry ids map to sortable integer offsets, ms * 2^20 + seq, so that a
Beam restriction can range over a stream.

A Redis URL starts with redis://, rediss:// (TLS) or unix://. Every client
comes from `connect`, whose commands are retried with redis-py's Retry after
a connection error or a timeout, backing off 0.1, 0.2, 0.4 … (at most 5)
seconds. A refused password is not retried (it will not get better). Each
retry is counted in the Beam metric `roadchief/redis_retries`, so a run can
show that it survived an outage rather than never having met one.
"""
from typing import Optional

import redis
from apache_beam.metrics import Metrics
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from transforms.stage_metrics import NAMESPACE

EVENTS_STREAM = "roadchief:events"
EVENT_FIELD = "event"
END_FIELD = "end"
DISPATCHES_STREAM = "roadchief:dispatches"
PUBLISHED_DISPATCHES = "roadchief:dispatches:published"
ACKS_STREAM = "roadchief:acks"
ESCALATIONS_STREAM = "roadchief:escalations"
SENT_ESCALATIONS = "roadchief:escalations:sent"
WATCHLIST_PREFIX = "roadchief:watchlist:"
WATCHLIST_META = WATCHLIST_PREFIX + "meta"
WATCHLIST_ENTRY_PATTERN = WATCHLIST_PREFIX + "canon:*"

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
SEQ_BITS = 20
RETRIES = 5
CONNECT_TIMEOUT_S = 5.0
RETRIES_COUNTER = Metrics.counter(NAMESPACE, "redis_retries")

# KEYS[1] set of appended markers, KEYS[2] stream; ARGV[1] marker; ARGV[2..] field, value pairs.
APPEND_ONCE = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
end
return false
"""

# KEYS[1] stream; ARGV: exclusive start id, count, longest field kept, bytes a read may hold.
READ_CUT = """
local entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])
local cut, budget, held = tonumber(ARGV[3]), tonumber(ARGV[4]), 0
local out = {}
for _, entry in ipairs(entries) do
  local fields = entry[2]
  for i = 1, #fields do
    if #fields[i] > cut then fields[i] = string.sub(fields[i], 1, cut) end
    held = held + #fields[i]
  end
  out[#out + 1] = entry
  if held > budget then break end
end
return out
"""


def watchlist_entry_key(canonical_plate: str) -> str:
    """The key that holds the watchlist entries of one canonical plate."""
    return WATCHLIST_PREFIX + "canon:" + canonical_plate


def entry_offset(entry_id: str) -> int:
    """The sortable offset of a stream entry id `ms-seq` (or `ms`)."""
    ms_text, _, seq_text = entry_id.partition("-")
    ms, seq = int(ms_text), int(seq_text or 0)
    if ms < 0 or not 0 <= seq < 2 ** SEQ_BITS:
        raise ValueError(f"entry id {entry_id!r} outside ms-seq with seq < 2^{SEQ_BITS}")
    return (ms << SEQ_BITS) | seq


def entry_id(offset: int) -> str:
    """The stream entry id at `offset`: the inverse of entry_offset."""
    return f"{offset >> SEQ_BITS}-{offset & (2 ** SEQ_BITS - 1)}"


def entry_time_s(entry_id: str) -> float:
    """When Redis appended the entry, in seconds since the epoch (its id's milliseconds)."""
    return int(entry_id.split("-")[0]) / 1000


def is_redis(spec: Optional[str]) -> bool:
    """Whether `spec` names a Redis (rather than, say, a file)."""
    return spec is not None and spec.startswith(REDIS_SCHEMES)


def redis_problem(url: str) -> Optional[str]:
    """Why the Redis at `url` cannot be used now (not a Redis URL, unreachable, refused), or None."""
    if not is_redis(url):
        return "give a redis:// or rediss:// URL"
    client = connect(url, timeout_s=3, retries=0)  # a check at start asks once
    try:
        client.ping()
        return None
    except redis.RedisError as failure:
        return f"{type(failure).__name__}: {failure}"
    finally:
        client.close()


class CountedRetry(Retry):
    """redis-py's Retry that counts each retry and never retries a refused password.

    The client runs every command (and every pipeline) through its Retry, so
    this is the one place where a retry can be seen: the backoff loop stays
    redis-py's own.
    """

    def call_with_retry(self, do, fail, is_retryable=None, with_failure_count=False):
        def on_failure(error, failures):
            if self.get_retries() < 0 or failures <= self.get_retries():
                RETRIES_COUNTER.inc()
            return fail(error, failures) if with_failure_count else fail(error)

        def retryable(error):
            return (not isinstance(error, redis.AuthenticationError)
                    and (is_retryable is None or is_retryable(error)))

        return super().call_with_retry(do, on_failure, retryable, with_failure_count=True)


def backoff_retry(retries: int = RETRIES) -> CountedRetry:
    """Up to `retries` retries after 0.1, 0.2, 0.4 … (at most 5) seconds."""
    return CountedRetry(ExponentialBackoff(cap=5.0, base=0.05), retries)


def connect(url: str, timeout_s: Optional[float] = 5.0, *, retries: int = RETRIES,
            decode_responses: bool = False, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> redis.Redis:
    """A client for `url` whose every command rides out a restart (module docstring).

    A reply is awaited up to `timeout_s` (None: as long as it takes; a
    blocking read needs its block time on top), a connection up to
    `connect_timeout_s`.
    """
    return redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=connect_timeout_s,
                                retry=backoff_retry(retries), decode_responses=decode_responses)


# An entry of a stream, (id, fields), as a client that decodes responses reads it.
StreamEntry = tuple[str, dict[str, str]]


def read_streams(client: redis.Redis, after: dict[str, str], count: int,
                 block_ms: Optional[int]) -> list[tuple[str, list[StreamEntry]]]:
    """XREAD: each stream's entries after its id in `after`, none when the block times out.

    `client` decodes responses and speaks RESP2 (see connect); redis-py types the reply
    for every protocol and either decoding, and wants a dict keyed by any key type."""
    reply: list[list] = client.xread(after, count=count, block=block_ms) or []  # type: ignore[arg-type, assignment]
    return [(stream, entries) for stream, entries in reply]
