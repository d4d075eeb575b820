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

from models.plate_rules import UNSURE_READ_BELOW, canonical, canonicals, province_variants, substitutions
from models.records import Hit, Passing, at_event_time, place_of
from transforms.blocks import Block
from transforms.enrich.watchlist_store import Answer, WatchEntry, open_watchlist
from transforms.stage_metrics import HITS, WATCHLIST_LOOKUPS

DOUBT = 0.8
CHECKED = "passings"
HITS_TAG = "hits"


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


def _canons_of(passings: Block) -> list[list[str]]:
    """The canonical forms each passing is looked up by: none without a plate, a camera's read
    alone (most passings, their forms found together), or else every candidate's."""
    plates, alternates, sources = (passings.column(name) for name in ("plate", "plate_alternates", "plate_source"))
    forms = canonicals([plate or "" for plate in plates])
    return [([form] if not alternate and source != "model"
             else canonicals([read for read, _ in _candidates(passings[row])])) if plate else []
            for row, (plate, alternate, source, form) in enumerate(zip(plates, alternates, sources, forms))]


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


class _MatchBlock(_Matcher, beam.DoFn):
    """One answer for a whole block (one MGET of its plates for Redis, a few dict probes for a
    file): each hit goes on alone at its capture time, the block goes on marked."""

    def process(self, passings: Block):
        canons_of = _canons_of(passings)
        answer = self._store.answer(key for canons in canons_of for key in canons)
        listed, version = answer.entries.keys(), answer.version
        hit_rows, hit_count = set(), 0
        for row in [row for row, canons in enumerate(canons_of) if not listed.isdisjoint(canons)]:
            hits = self._hits(passings[row], answer)
            hit_count += len(hits)
            if hits:
                hit_rows.add(row)
            for hit in hits:
                yield beam.pvalue.TaggedOutput(HITS_TAG, at_event_time(hit, hit.captured_at_us))
        plates = passings.column("plate")
        # a passing with a plate records the list version that checked it, and whether it hit
        yield passings.with_columns(
            watchlist_hit=[row in hit_rows for row in range(len(plates))],
            list_version=[version if plate else earlier
                          for plate, earlier in zip(plates, passings.column("list_version"))])
        WATCHLIST_LOOKUPS.inc(sum(map(len, canons_of)))
        HITS.inc(hit_count)


class MatchWatchlist(beam.PTransform):
    """Blocks of Passings → the same blocks, each passing marked `watchlist_hit` (`passings`),
    and Hits one by one (`hits`).

    The watchlist is asked a block at a time: one MGET per block for Redis. Each
    passing with a plate records the `list_version` that checked it; while
    Redis cannot answer, a `snapshot` covers (versions "stale:…"), or the
    stage waits up to `wait_s` for the list and then fails the run
    (`transforms.enrich.watchlist_store.GuardedWatchlist`).
    """

    def __init__(self, config: WatchlistConfig):
        super().__init__()
        self._fn = _MatchBlock(config)

    def expand(self, passings):
        return passings | beam.ParDo(self._fn).with_output_types(Block).with_outputs(HITS_TAG, main=CHECKED)
