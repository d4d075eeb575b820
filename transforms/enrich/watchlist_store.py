"""Where the watchlist lives: a file (CSV or Parquet) or a Redis database.

Both backends answer the same question for a batch of plates: which entries
share a canonical form (see `models.plate_rules`) with them, and which version
of the list answered. A file is read once; Redis is asked with one MGET per
batch and answers are cached for a few seconds, so an entry added by the
command centre is seen within the TTL.

The Redis key layout (one key per canonical plate, and a meta hash) is part
of the Redis contract, `transforms.redis_contract`.

An empty answer is only evidence that a plate is not listed if the list was
there when Redis answered. Redis restarted without its data, a list never
loaded, a list of no entries or one older than allowed all look like "no
entry" to MGET, so the meta hash is read in the same round trip as the
entries, and any of those is a `WatchlistUnavailable` fault, never an answer.
`GuardedWatchlist` decides what a fault does to a run: cover from a snapshot
file (every answer marked stale), or wait for the list to come back and fail
when it does not.
"""
import csv
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from datetime import time as day_time
from pathlib import Path
from typing import NamedTuple, Optional
from zoneinfo import ZoneInfo

import redis
from apache_beam.metrics import Metrics

from models.plate_rules import canonical, normalise_plate
from transforms.redis_contract import (
    RETRIES,
    WATCHLIST_ENTRY_PATTERN,
    WATCHLIST_META,
    connect,
    is_redis,
    watchlist_entry_key,
)
from transforms.stage_metrics import NAMESPACE, WATCHLIST_CACHE_HITS

CATEGORIES = ("overdue_inspection", "stolen", "wanted", "unpaid_violations", "scrapped", "fake_plate")
ACTIONS = ("intercept", "observe")
COLUMNS = ("entry_id", "plate", "plate_color", "category", "priority", "action",
           "valid_from", "valid_to", "note")
STALE = "stale:"
SNAPSHOT_LOOKUPS = Metrics.counter(NAMESPACE, "watchlist_snapshot_lookups")
PROBE_S = 10.0  # while a snapshot covers, how often the live list is asked whether it answers again
PROBE_TIMEOUT_S = 1.0
FAULTS = Metrics.counter(NAMESPACE, "watchlist_faults")


class WatchlistUnavailable(RuntimeError):
    """The live watchlist cannot answer now; the message says why, for the operator."""


class Answer(NamedTuple):
    """Entries by canonical plate (only those found), and the version of the list that answered."""
    entries: dict
    version: str


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


def _day_bound_us(text: str, end: bool, zone: ZoneInfo) -> int:
    day = date.fromisoformat(text)
    moment = datetime.combine(day, day_time.max if end else day_time.min, zone)
    return round(moment.timestamp() * 1_000_000)


def entry_from_row(row: dict, where: str, zone: ZoneInfo) -> WatchEntry:
    """A validated entry; ValueError naming `where` (file and row) otherwise.

    Its validity days run from midnight to midnight in `zone`, the world's time zone.
    """
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
                           _day_bound_us(str(row["valid_from"]), end=False, zone=zone),
                           _day_bound_us(str(row["valid_to"]), end=True, zone=zone), str(row.get("note") or ""))
    except KeyError as missing:
        raise ValueError(f"{where}: missing column {missing}") from None
    except ValueError as bad:
        raise ValueError(f"{where}: {bad}") from None
    if entry.valid_to_us < entry.valid_from_us:
        raise ValueError(f"{where}: valid_to before valid_from")
    return entry


def read_watchlist_file(path: str | Path, zone: ZoneInfo) -> list[WatchEntry]:
    """Entries of a CSV or Parquet watchlist, validated row by row, their days in `zone`."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"watchlist {path}: no such file")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq
        rows = pq.read_table(path).to_pylist()
    else:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    return [entry_from_row(row, f"{path} row {i}", zone) for i, row in enumerate(rows, start=1)]


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

    def __init__(self, path: str | Path, zone: ZoneInfo, stale: bool = False):
        entries = read_watchlist_file(path, zone)
        if not entries:
            raise ValueError(f"watchlist {path}: no entries (an empty list would match nothing)")
        self._index = index_by_canonical(entries)
        self.version = (STALE if stale else "") + entries_version(entries)

    def lookup(self, canons: Iterable[str]) -> dict[str, tuple[WatchEntry, ...]]:
        return {key: self._index[key] for key in canons if key in self._index}

    def answer(self, canons: Iterable[str]) -> Answer:
        return Answer(self.lookup(canons), self.version)

    def close(self):
        pass


class RedisWatchlist:
    """A live watchlist in Redis, read with MGET and a short TTL cache.

    Every round trip also reads the list's meta hash, so an answer always
    names the version that gave it, and a list that is missing, empty or
    older than `max_age_s` (0: any age) raises WatchlistUnavailable.
    """

    max_cached = 200_000  # plates; past it the cache keeps only those of the current lookup

    def __init__(self, url: str, ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 retries: int = RETRIES, max_age_s: float = 0.0, wall_clock: Callable[[], float] = time.time):
        self._client = connect(url, retries=retries)
        self._url = url
        self._quick: Optional[redis.Redis] = None
        self._ttl_s = ttl_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._max_age_s = max_age_s
        self._cache: dict[str, tuple[float, tuple[WatchEntry, ...]]] = {}
        self._version: tuple[float, str] = (float("-inf"), "")

    @property
    def version(self) -> str:
        """The version that answered last, asked again once the TTL has passed."""
        if self._clock() - self._version[0] > self._ttl_s:
            self.answer([])
        return self._version[1]

    def lookup(self, canons: Iterable[str]) -> dict[str, tuple[WatchEntry, ...]]:
        return self.answer(canons).entries

    def answer(self, canons: Iterable[str]) -> Answer:
        """Entries of `canons`; those asked again within the TTL come from the cache (counted
        as `watchlist_cache_hits`)."""
        now = self._clock()
        asked = list(canons)
        wanted = list(dict.fromkeys(asked))
        stale = [key for key in wanted if now - self._cache.get(key, (float("-inf"),))[0] > self._ttl_s]
        if stale or now - self._version[0] > self._ttl_s:
            meta, values = self._fetch(stale)
            self._version = (now, self._checked_version(*meta))
            if len(self._cache) + len(stale) > self.max_cached:
                self._cache = {key: self._cache[key] for key in wanted if key in self._cache}
            for key, value in zip(stale, values):
                self._cache[key] = (now, _decode(value) if value else ())
        entries = {key: self._cache[key][1] for key in wanted if self._cache[key][1]}
        fetched = set(stale)
        WATCHLIST_CACHE_HITS.inc(sum(key not in fetched for key in asked))
        return Answer(entries, self._version[1])

    def reachable(self) -> bool:
        """Whether Redis answers a ping at once: one try, without the retries that ride out a
        restart (a lookup's retries take about 3 s to give up on a server that is down)."""
        if self._quick is None:
            self._quick = connect(self._url, timeout_s=PROBE_TIMEOUT_S, retries=0, connect_timeout_s=PROBE_TIMEOUT_S)
        try:
            return bool(self._quick.ping())
        except redis.RedisError:
            return False

    def _fetch(self, keys: list[str]):
        """The meta fields and the entries of `keys`, in one round trip (HGET and MGET only)."""
        with self._client.pipeline(transaction=False) as batch:
            for field in ("version", "count", "loaded_at"):
                batch.hget(WATCHLIST_META, field)
            if keys:
                batch.mget([watchlist_entry_key(k) for k in keys])
            replies = batch.execute()
        return replies[:3], (replies[3] if keys else [])

    def _checked_version(self, version, count, loaded_at) -> str:
        if version is None:
            raise WatchlistUnavailable("Redis holds no watchlist (restarted without its data, or never "
                                       "loaded: roadchief watchlist load FILE --redis URL)")
        if count is not None and int(count) == 0:
            raise WatchlistUnavailable("the watchlist in Redis has no entries")
        if self._max_age_s and loaded_at is not None:
            age_s = self._wall_clock() - datetime.fromisoformat(loaded_at.decode()).timestamp()
            if age_s > self._max_age_s:
                raise WatchlistUnavailable(f"the watchlist in Redis was loaded {age_s / 3600:.1f} h ago "
                                           f"({loaded_at.decode()}), more than the {self._max_age_s / 3600:g} h "
                                           "allowed (--watchlist_max_age_h)")
        return version.decode()

    def close(self):
        self._client.close()
        if self._quick is not None:
            self._quick.close()


class GuardedWatchlist:
    """The live list, and what a run does when it cannot answer.

    A fault (WatchlistUnavailable, or Redis unreachable after its retries) is
    covered from `snapshot` when there is one: the answer's version starts
    with "stale:", so every hit and passing it touched says so, and the run
    reports it. While covering, the live list is asked again only every
    `probe_s`, and only once Redis answers a ping: asked at every lookup, a
    server that is down would cost each block its retries, about 3 s, and
    hold a live run to one block every 3 s. Without a snapshot the lookup
    waits for the list to come back, up to `wait_s`, then raises: a run
    stops loudly rather than thin silently.
    """

    def __init__(self, live: RedisWatchlist, snapshot: Optional[FileWatchlist], wait_s: float,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 probe_s: float = PROBE_S):
        self._live = live
        self._snapshot = snapshot
        self._wait_s = wait_s
        self._clock = clock
        self._sleep = sleep
        self._probe_s = probe_s
        self._fault: Optional[str] = None
        self._next_probe = float("-inf")

    def answer(self, canons: Iterable[str]) -> Answer:
        canons = list(canons)
        if self._snapshot is not None and self._covering():
            SNAPSHOT_LOOKUPS.inc()
            return self._snapshot.answer(canons)
        deadline = self._clock() + self._wait_s
        delay = 0.2
        while True:
            try:
                answer = self._live.answer(canons)
            except (WatchlistUnavailable, redis.ConnectionError, redis.TimeoutError) as fault:
                self._report(str(fault) if isinstance(fault, WatchlistUnavailable)
                             else f"Redis unreachable ({type(fault).__name__})")
                if self._snapshot is not None:
                    self._next_probe = self._clock() + self._probe_s
                    SNAPSHOT_LOOKUPS.inc()
                    return self._snapshot.answer(canons)
                if self._clock() >= deadline:
                    raise WatchlistUnavailable(f"{self._fault}; waited {self._wait_s:g} s for it "
                                               "(--watchlist_wait_s) and no --watchlist_snapshot "
                                               "was given") from None
                self._sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if self._fault is not None:
                logging.warning("watchlist: the live list answers again (version %s)", answer.version)
                self._fault = None
            return answer

    def _covering(self) -> bool:
        """Whether the snapshot answers without the live list being asked: within `probe_s` of
        the last fault, and after it for as long as Redis does not answer a ping."""
        if self._fault is None:
            return False
        if self._clock() < self._next_probe:
            return True
        self._next_probe = self._clock() + self._probe_s
        return not self._live.reachable()

    def _report(self, reason: str) -> None:
        if reason != self._fault:
            FAULTS.inc()
            cover = "covering from the snapshot, hits marked stale" if self._snapshot else "waiting for it"
            logging.error("watchlist fault: %s; %s", reason, cover)
        self._fault = reason

    def close(self):
        self._live.close()


def load_into_redis(entries: list[WatchEntry], url: str, source: str) -> dict:
    """Replace the watchlist in Redis atomically; returns the new meta."""
    if not entries:
        raise ValueError("the watchlist has no entries: Redis keeps the list it has")
    client = connect(url, timeout_s=None)
    index = index_by_canonical(entries)
    keep = {watchlist_entry_key(key) for key in index}
    stale = [key for key in client.scan_iter(match=WATCHLIST_ENTRY_PATTERN, count=1000)
             if key.decode() not in keep]
    meta: dict[str, str | int] = {"version": entries_version(entries), "count": len(entries),
            "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"), "source": source}
    with client.pipeline(transaction=True) as tx:
        for key, group in index.items():
            tx.set(watchlist_entry_key(key), _encode(group))
        if stale:
            tx.delete(*stale)
        # redis-py types the mapping's keys as its whole encodable union, which no dict[str, ...] is
        tx.hset(WATCHLIST_META, mapping=meta)  # type: ignore[arg-type]
        tx.execute()
    client.close()
    return meta


def live_watchlist_problem(url: str, max_age_s: float = 0.0) -> Optional[str]:
    """Why the Redis list at `url` cannot answer now (unreachable, refused, missing,
    empty, too old), or None if it can."""
    live = RedisWatchlist(url, retries=0, max_age_s=max_age_s)
    try:
        live.answer([])
        return None
    except WatchlistUnavailable as fault:
        return str(fault)
    except redis.AuthenticationError as failure:
        return f"Redis refused ({type(failure).__name__}: {failure})"
    except (redis.ConnectionError, redis.TimeoutError) as failure:
        return f"Redis unreachable ({type(failure).__name__}: {failure})"
    except redis.RedisError as failure:
        return f"Redis refused ({type(failure).__name__}: {failure})"
    finally:
        live.close()


def open_watchlist(spec: str, zone: ZoneInfo, ttl_s: float = 5.0, snapshot: Optional[str] = None,
                   wait_s: float = 120.0, max_age_s: float = 0.0):
    """A backend for `--watchlist`: a file path, or a redis:// or rediss:// URL guarded by
    `GuardedWatchlist` (covered from the `snapshot` file, if given, while Redis cannot answer).
    A file's validity days are read in `zone`."""
    if not is_redis(spec):
        return FileWatchlist(spec, zone)
    return GuardedWatchlist(RedisWatchlist(spec, ttl_s=ttl_s, max_age_s=max_age_s),
                            FileWatchlist(snapshot, zone, stale=True) if snapshot else None, wait_s)

