"""What each stage's own work costs per camera event, outside Beam: µs an event by stage.

Calls each stage's DoFn (or the function it maps) directly on 2,000-event blocks of a
simulated events file, in the order the pipeline runs them, and times each. Beam's
per-element cost, the runner's start-up and the hit and safety branches are not in it:
set against `bench/bench_pipeline.py`'s wall time, the difference is what Beam adds.

    python bench/stage_costs.py [--events 200000]
"""
import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pipelines.job.collector  # noqa: E402,F401  (the collector as every worker sets it)
from bench.bench_pipeline import simulated  # noqa: E402
from models.records import EventLine, Passing  # noqa: E402
from pipelines.job.options import SAMPLE_WORLD  # noqa: E402
from transforms.blocks import Block, cut  # noqa: E402
from transforms.enrich.assign_segment import _PlaceBlock  # noqa: E402
from transforms.enrich.match_watchlist import WatchlistConfig, _MatchBlock  # noqa: E402
from transforms.enrich.privacy import KEY_ENV  # noqa: E402
from transforms.enrich.pseudonymise import _Pseudonymise  # noqa: E402
from transforms.ingest.deduplicate import _later_copies  # noqa: E402
from transforms.ingest.parse_events import _ParseBlocks  # noqa: E402
from transforms.ingest.read_events import line_chunks  # noqa: E402
from transforms.ingest.repeated_ids import (  # noqa: E402
    _PackIdsByShard,
    _repeated_in,
    ids_in,
    lines_of_chunks_holding,
)
from transforms.measure.metrics import _TallyBundle, _ToRow  # noqa: E402
from transforms.store.write_tables import arrow_schema, as_table  # noqa: E402


def blocks_out(outputs) -> list[Block]:
    """The blocks among a stage's outputs (dead letters and hits are tagged, or timestamped values)."""
    found = [getattr(output, "value", output) for output in outputs]
    return [block for block in found if isinstance(block, Block)]


def without_later_copies(path: Path, parse: _ParseBlocks, events: list[Block]) -> list[Block]:
    """A replay's duplicate check: the file read twice more as bytes, its ids scanned and gathered
    by shard, the lines holding a repeated id parsed again, their later copies left out."""
    with path.open("rb") as handle:
        chunks = list(line_chunks(handle))
    by_shard = _PackIdsByShard()
    by_shard.start_bundle()
    parts = [part for chunk in chunks for part in by_shard.process(ids_in(chunk))]
    parts += [part.value for part in by_shard.finish_bundle()]
    shards: dict[int, list[bytes]] = {}
    for shard, part in parts:
        shards.setdefault(shard, []).append(part)
    repeated = frozenset().union(*(ids for keyed in shards.items() for ids in _repeated_in(keyed)))
    again = parse.quiet()
    with path.open("rb") as handle:
        held = list(lines_of_chunks_holding(str(path), line_chunks(handle), repeated))
    sources: dict[str, list[str]] = {}
    for copies in blocks_out(output for block in held for output in again.process(block)):
        for event_id, source in zip(copies.column("event_id"), copies.column("source")):
            sources.setdefault(event_id, []).append(source)
    later = frozenset().union(*(output for keyed in sources.items() for output in _later_copies(keyed)
                                if isinstance(output, frozenset)))
    return [block.take([row for row, source in enumerate(block.column("source")) if source not in later])
            for block in events]


def main():
    os.environ.setdefault(KEY_ENV, secrets.token_hex(32))
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    path = simulated(Path(tempfile.gettempdir()) / "roadchief-bench", args.events)
    with path.open(encoding="utf-8") as handle:
        lines = [EventLine(f"{path}:{n}", str(path.parent), text.rstrip("\n")) for n, text in enumerate(handle, 1)]
    seconds: dict[str, float] = {}

    def timed(stage, work):
        started = time.perf_counter()
        result = work()
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - started
        return result

    parse = _ParseBlocks(str(SAMPLE_WORLD), 1e9, time.time)
    parse.setup()
    parse.start_bundle()
    events = timed("parse and validate",
                   lambda: [b for block in cut(Block(lines)) for b in blocks_out(parse.process(block))])
    unique = timed("duplicate check", lambda: without_later_copies(path, parse, events))
    place = _PlaceBlock(str(SAMPLE_WORLD), 50.0)
    place.setup()
    passings = timed("assign road segment", lambda: [b for block in unique for b in blocks_out(place.process(block))])
    match = _MatchBlock(WatchlistConfig(str(SAMPLE_WORLD / "watchlist.csv"), "Asia/Shanghai"))
    match.setup()
    checked = timed("watchlist", lambda: [b for block in passings for b in blocks_out(match.process(block))])
    tokens = _Pseudonymise(None)
    tokens.setup()
    stored = timed("pseudonymise", lambda: [b for block in checked for b in blocks_out(tokens.process(block))])
    tally = _TallyBundle(15 * 60 * 1_000_000, passings=True)
    tally.start_bundle()
    handed_on = timed("metrics tallies", lambda: [value for block in checked for value in tally.process(block)])
    rows = _ToRow(15 * 60 * 1_000_000)
    timed("metrics tallies", lambda: [row for keyed in [*handed_on, *tally.finish_bundle()]
                                      for row in rows.process(keyed.value)])
    schema = arrow_schema(Passing)
    timed("Arrow table for Parquet", lambda: [as_table(block, schema) for block in stored])

    print(f"{len(lines):,} lines, {sum(map(len, stored)):,} passings")
    print(f"{'stage':<28} {'µs an event':>12}")
    for stage, spent in seconds.items():
        print(f"{stage:<28} {spent / len(lines) * 1e6:>12.1f}")
    print(f"{'all stages':<28} {sum(seconds.values()) / len(lines) * 1e6:>12.1f}")


if __name__ == "__main__":
    main()
