"""Match every read plate against the watchlist.

A read matches an entry when both have the same canonical form and differ in
at most `max_substitutions` confusable characters (0 means exact only), and
the entry is valid at the capture time. Reads the recogniser was unsure of
carry alternates; those are tried too, at one more substitution's cost, and so
is every other province in place of the plate model's own where its read is
unsure (`province_variants`: measured on the model's reads, not on cameras').

score = read confidence × 0.8^(substitutions, +1 via an alternate): an exact,
confident read scores 1.0, and every step of doubt lowers it.
"""
from dataclasses import dataclass
from typing import Optional
from zoneinfo import ZoneInfo

import apache_beam as beam

from models.plate_rules import UNSURE_READ_BELOW, canonical, province_variants, substitutions
from models.records import Hit, Passing, place_of
from transforms.buffered import BufferedDoFn
from transforms.enrich.watchlist_store import Answer, WatchEntry, open_watchlist
from transforms.redis_contract import is_redis
from transforms.stage_metrics import HITS, WATCHLIST_LOOKUPS

DOUBT = 0.8
CHECKED = "passings"


def _candidates(passing: Passing) -> list[tuple[str, int]]:
    """(plate, extra substitutions) for the read, each of its alternates and, where the plate
    model was unsure of its read, the read with each other province."""
    read_plate = passing.plate
    assert read_plate is not None, "a passing without a plate is not matched"
    tried = [read_plate, *(alt for alt in passing.plate_alternates if alt != read_plate)]
    if passing.plate_source == "model" and (passing.plate_confidence or 0.0) < UNSURE_READ_BELOW:
        tried += [other for other in province_variants(read_plate) if other not in tried]
    return [(plate, 0 if plate == read_plate else 1) for plate in tried]


def hits_for(passing: Passing, index: dict[str, tuple[WatchEntry, ...]],
             max_substitutions: int, version: str) -> list[Hit]:
    """Every valid entry the passing, whose plate was read, matches, best match per entry."""
    read_plate = passing.plate
    assert read_plate is not None, "a passing without a plate is not matched"
    best: dict[str, Hit] = {}
    confidence = passing.plate_confidence if passing.plate_confidence is not None else 1.0
    for read, extra in _candidates(passing):
        for entry in index.get(canonical(read), ()):
            subs = substitutions(read, entry.plate)
            if subs is None:
                continue
            cost = subs + extra
            if cost > max_substitutions or not entry.valid_at(passing.captured_at_us):
                continue
            hit = _hit(passing, read_plate, entry, cost, round(confidence * DOUBT ** cost, 4), version)
            if entry.entry_id not in best or hit.score > best[entry.entry_id].score:
                best[entry.entry_id] = hit
    return sorted(best.values(), key=lambda hit: (hit.priority, -hit.score, hit.entry_id))


def _hit(passing: Passing, read_plate: str, entry: WatchEntry, cost: int, score: float, version: str) -> Hit:
    return Hit(
        event_id=passing.event_id, captured_at_us=passing.captured_at_us, plate=entry.plate,
        read_plate=read_plate, entry_id=entry.entry_id, category=entry.category,
        priority=entry.priority, action=entry.action, match="exact" if cost == 0 else "fuzzy",
        substitutions=cost, score=score, camera_id=passing.camera_id,
        **place_of(passing)._asdict(), defence_layer=passing.defence_layer, list_version=version)


def _canons(passing: Passing) -> list[str]:
    if not passing.plate:
        return []
    return [canonical(read) for read, _ in _candidates(passing)]


def _marked(passing: Passing, hits: list[Hit], version: str) -> Passing:
    """The passing with the list version that checked it, and whether it hit."""
    if not passing.plate:
        return passing
    return passing._replace(watchlist_hit=bool(hits), list_version=version)


@dataclass(frozen=True)
class WatchlistConfig:
    """Which watchlist MatchWatchlist asks and how far it trusts it.

    `watchlist` is a CSV/Parquet file or a redis:// URL; a file's validity
    days are read in `timezone`, the world's. For Redis: answers are
    cached `ttl_s`; a list loaded more than `max_age_s` ago is a fault (0: any
    age); while the list cannot answer, the `snapshot` file covers, or a lookup
    waits `wait_s` before the run fails.
    """
    watchlist: str
    timezone: str
    max_substitutions: int = 1
    ttl_s: float = 5.0
    snapshot: Optional[str] = None
    wait_s: float = 120.0
    max_age_s: float = 0.0


class _Matcher:
    """The watchlist store of one worker, opened in setup and closed in teardown."""

    def __init__(self, config: WatchlistConfig):
        self._config = config

    def setup(self):
        config = self._config
        self._store = open_watchlist(config.watchlist, ZoneInfo(config.timezone), ttl_s=config.ttl_s,
                                     snapshot=config.snapshot, wait_s=config.wait_s, max_age_s=config.max_age_s)

    def _hits(self, passing: Passing, answer: Answer) -> list[Hit]:
        if not passing.plate or not answer.entries:
            return []
        return hits_for(passing, answer.entries, self._config.max_substitutions, answer.version)

    def teardown(self):
        self._store.close()


class _MatchEach(_Matcher, beam.DoFn):
    """For a watchlist held in memory: one lookup per passing costs nothing (its count is
    reported once a bundle)."""

    def start_bundle(self):
        self._lookups = self._hit_count = 0

    def process(self, passing: Passing):
        canons = _canons(passing)
        answer = self._store.answer(canons)
        hits = self._hits(passing, answer)
        self._lookups += len(canons)
        self._hit_count += len(hits)
        yield from hits
        yield beam.pvalue.TaggedOutput(CHECKED, _marked(passing, hits, answer.version))

    def finish_bundle(self):
        WATCHLIST_LOOKUPS.inc(self._lookups)
        HITS.inc(self._hit_count)


class _MatchBuffer(_Matcher, BufferedDoFn):
    """For Redis: one MGET for a whole buffer of passings."""

    def process_buffer(self, buffer):
        canons = [key for wv in buffer for key in _canons(wv.value)]
        answer = self._store.answer(canons)
        hit_count = 0
        for wv in buffer:
            hits = self._hits(wv.value, answer)
            hit_count += len(hits)
            for hit in hits:
                yield wv.with_value(hit)
            yield beam.pvalue.TaggedOutput(CHECKED, wv.with_value(_marked(wv.value, hits, answer.version)))
        WATCHLIST_LOOKUPS.inc(len(canons))
        HITS.inc(hit_count)


class MatchWatchlist(beam.PTransform):
    """Passings → Hits (main) and the same passings marked `watchlist_hit` (`passings`).

    A Redis watchlist is asked a buffer at a time (one MGET per buffer); a
    file watchlist is in memory and is asked passing by passing. Each
    passing with a plate records the `list_version` that checked it; while
    Redis cannot answer, a `snapshot` covers (versions "stale:…"), or the
    stage waits up to `wait_s` for the list and then fails the run
    (`transforms.enrich.watchlist_store.GuardedWatchlist`).
    """

    def __init__(self, config: WatchlistConfig):
        super().__init__()
        matcher = _MatchBuffer if is_redis(config.watchlist) else _MatchEach
        self._fn = matcher(config)

    def expand(self, passings):
        return passings | beam.ParDo(self._fn).with_outputs(CHECKED, main="hits")
