"""Where the watchlist lives: a file (CSV or Parquet) or a Redis database.

Both backends answer the same question for a batch of plates: which entries
share a canonical form (see `transforms.plates`) with them. A file is read
once; Redis is asked with one MGET per batch and answers are cached for a few
seconds, so an entry added by the command centre is seen within the TTL.

Redis key layout (prefix `roadchief:watchlist:`):
  canon:<canonical plate>  string, JSON list of the entries whose plate has
                           that canonical form (usually one)
  meta                     hash: version, count, loaded_at, source
"""
import csv
import hashlib
import json
import time
from datetime import date, datetime, time as day_time
from pathlib import Path
from typing import Callable, Iterable, NamedTuple, Optional
from zoneinfo import ZoneInfo

from transforms.plates import canonical, normalise_plate
from transforms.redis_retry import with_backoff

PREFIX = "roadchief:watchlist:"
CATEGORIES = ("overdue_inspection", "stolen", "wanted", "unpaid_violations", "scrapped", "fake_plate")
ACTIONS = ("intercept", "observe")
COLUMNS = ("entry_id", "plate", "plate_color", "category", "priority", "action",
           "valid_from", "valid_to", "note")
ZONE = ZoneInfo("Asia/Shanghai")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class WatchEntry(NamedTuple):
    entry_id: str
    plate: str
    plate_color: str
    category: str
    priority: int
    action: str
    valid_from_us: int
    valid_to_us: int
    note: str

    def valid_at(self, at_us: int) -> bool:
        return self.valid_from_us <= at_us <= self.valid_to_us


def _day_bound_us(text: str, end: bool) -> int:
    day = date.fromisoformat(text)
    moment = datetime.combine(day, day_time.max if end else day_time.min, ZONE)
    return round(moment.timestamp() * 1_000_000)


def entry_from_row(row: dict, where: str) -> WatchEntry:
    """A validated entry; ValueError naming `where` (file and row) otherwise."""
    try:
        plate = normalise_plate(row["plate"])
        if plate is None:
            raise ValueError(f"plate {row['plate']!r} is not a licence plate")
        if row["category"] not in CATEGORIES:
            raise ValueError(f"category {row['category']!r} not one of {', '.join(CATEGORIES)}")
        if row["action"] not in ACTIONS:
            raise ValueError(f"action {row['action']!r} not one of {', '.join(ACTIONS)}")
        priority = int(row["priority"])
        if not 1 <= priority <= 5:
            raise ValueError(f"priority {priority} outside 1..5")
        entry = WatchEntry(str(row["entry_id"]), plate, str(row.get("plate_color") or ""),
                           row["category"], priority, row["action"],
                           _day_bound_us(str(row["valid_from"]), end=False),
                           _day_bound_us(str(row["valid_to"]), end=True), str(row.get("note") or ""))
    except KeyError as missing:
        raise ValueError(f"{where}: missing column {missing}") from None
    except ValueError as bad:
        raise ValueError(f"{where}: {bad}") from None
    if entry.valid_to_us < entry.valid_from_us:
        raise ValueError(f"{where}: valid_to before valid_from")
    return entry


def read_watchlist_file(path: str | Path) -> list[WatchEntry]:
    """Entries of a CSV or Parquet watchlist, validated row by row."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"watchlist {path}: no such file")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq
        rows = pq.read_table(path).to_pylist()
    else:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    return [entry_from_row(row, f"{path} row {i}") for i, row in enumerate(rows, start=1)]


def index_by_canonical(entries: Iterable[WatchEntry]) -> dict[str, tuple[WatchEntry, ...]]:
    index: dict[str, list[WatchEntry]] = {}
    for entry in entries:
        index.setdefault(canonical(entry.plate), []).append(entry)
    return {key: tuple(sorted(group)) for key, group in index.items()}


def _encode(entries: tuple[WatchEntry, ...]) -> str:
    return json.dumps([list(entry) for entry in entries], ensure_ascii=False)


def _decode(text) -> tuple[WatchEntry, ...]:
    return tuple(WatchEntry(*fields) for fields in json.loads(text))


def entries_version(entries: Iterable[WatchEntry]) -> str:
    digest = hashlib.sha256(_encode(tuple(sorted(entries))).encode()).hexdigest()
    return digest[:16]


class FileWatchlist:
    """A watchlist read once from a file and held in memory.

    A `stale` list is a snapshot standing in for an unreachable Redis; its
    version says so, and so does every hit matched against it.
    """

    def __init__(self, path: str | Path, stale: bool = False):
        entries = read_watchlist_file(path)
        self._index = index_by_canonical(entries)
        self.version = ("stale:" if stale else "") + entries_version(entries)

    def lookup(self, canons: Iterable[str]) -> dict[str, tuple[WatchEntry, ...]]:
        return {key: self._index[key] for key in canons if key in self._index}

    def close(self):
        pass


class RedisWatchlist:
    """A live watchlist in Redis, read with MGET and a short TTL cache."""

    def __init__(self, url: str, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 retries: int = 5):
        import redis
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._ttl_s = ttl_s
        self._clock = clock
        self._retries = retries
        self._cache: dict[str, tuple[float, tuple[WatchEntry, ...]]] = {}
        self._version: tuple[float, str] = (float("-inf"), "")

    @property
    def version(self) -> str:
        now = self._clock()
        if now - self._version[0] > self._ttl_s:
            raw = self._with_retries(lambda: self._client.hget(PREFIX + "meta", "version"))
            self._version = (now, raw.decode() if raw else "empty")
        return self._version[1]

    def lookup(self, canons: Iterable[str]) -> dict[str, tuple[WatchEntry, ...]]:
        now = self._clock()
        wanted = list(dict.fromkeys(canons))
        stale = [key for key in wanted if now - self._cache.get(key, (float("-inf"),))[0] > self._ttl_s]
        if stale:
            values = self._with_retries(lambda: self._client.mget([PREFIX + "canon:" + k for k in stale]))
            if len(self._cache) > 200_000:
                self._cache.clear()
            for key, value in zip(stale, values):
                self._cache[key] = (now, _decode(value) if value else ())
        return {key: self._cache[key][1] for key in wanted if self._cache[key][1]}

    def _with_retries(self, call):
        return with_backoff(call, self._retries)

    def close(self):
        self._client.close()


def load_into_redis(entries: list[WatchEntry], url: str, source: str) -> dict:
    """Replace the watchlist in Redis atomically; returns the new meta."""
    import redis
    client = redis.Redis.from_url(url)
    index = index_by_canonical(entries)
    keep = {PREFIX + "canon:" + key for key in index}
    stale = [key for key in client.scan_iter(match=PREFIX + "canon:*", count=1000)
             if key.decode() not in keep]
    meta = {"version": entries_version(entries), "count": len(entries),
            "loaded_at": datetime.now(ZONE).isoformat(timespec="seconds"), "source": source}
    with client.pipeline(transaction=True) as tx:
        for key, group in index.items():
            tx.set(PREFIX + "canon:" + key, _encode(group))
        if stale:
            tx.delete(*stale)
        tx.hset(PREFIX + "meta", mapping=meta)
        tx.execute()
    client.close()
    return meta


def redis_problem(url: str) -> Optional[str]:
    """Why the Redis at `url` cannot serve the watchlist now, or None if it can."""
    import redis
    try:
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        client.ping()
        client.close()
        return None
    except redis.RedisError as failure:
        return f"{type(failure).__name__}: {failure}"


def open_watchlist(spec: str, ttl_s: float = 5.0, snapshot: Optional[str] = None):
    """A backend for `--watchlist`: a redis:// or rediss:// URL, or a file path.

    With a `snapshot` file, an unreachable Redis falls back to that file,
    marked stale, instead of failing.
    """
    if not is_redis(spec):
        return FileWatchlist(spec)
    if snapshot and redis_problem(spec):
        return FileWatchlist(snapshot, stale=True)
    return RedisWatchlist(spec, ttl_s=ttl_s)


def is_redis(spec: Optional[str]) -> bool:
    return bool(spec) and spec.startswith(REDIS_SCHEMES)
