"""Each stage counts what an operator watches, in namespace `roadchief`, where the work happens."""
import json
from contextlib import contextmanager

import cv2
import numpy as np
import pytest
from apache_beam.metrics.execution import MetricsContainer
from apache_beam.runners.worker import statesampler
from apache_beam.utils.counters import CounterFactory
from apache_beam.utils.timestamp import Timestamp

from models.records import DeadLetter, EventLine
from tests.builders import WATCHLIST_ROWS, ZONE, camera_event, hit, passing_of, write_watchlist_csv
from transforms.act.dispatch import _MakeDispatch
from transforms.blocks import Block
from transforms.enrich.match_watchlist import WatchlistConfig, _MatchBlock
from transforms.enrich.recognise_plates import RecognitionConfig, _ReadImages
from transforms.enrich.watchlist_store import RedisWatchlist, entry_from_row, load_into_redis
from transforms.ingest.deduplicate import _later_copies
from transforms.ingest.fields import InvalidRecord
from transforms.ingest.parse_events import _ParseFn, parse_event
from transforms.stage_metrics import NAMESPACE, counted, reason_class

GOOD = {"event_id": "e1", "camera_id": "QH-BC-001", "captured_at": "2026-11-29T08:00:00+08:00",
        "plate": "琼C12345"}


@contextmanager
def counting():
    """Runs the block as a stage of a runner would, and yields what its metrics add up to:
    counter name → value, distribution name → (count, sum, max)."""
    container = MetricsContainer("stage")
    sampler = statesampler.StateSampler("test", CounterFactory())
    statesampler.set_current_tracker(sampler)
    sampler.start()
    totals = {}
    try:
        with sampler.scoped_state("stage", "process", metrics_container=container):
            yield totals
            for key, value in container.get_cumulative().counters.items():
                if key.metric.namespace == NAMESPACE:
                    totals[key.metric.name] = value
            for key, value in container.get_cumulative().distributions.items():
                if key.metric.namespace == NAMESPACE:
                    totals[key.metric.name] = (value.count, value.sum, value.max)
    finally:
        sampler.stop()
        statesampler.set_current_tracker(None)


def counted_so_far() -> dict:
    """Inside `counting()`: the counters updated until now."""
    container = statesampler.get_current_tracker().current_state().metrics_container
    return {key.metric.name: value for key, value in container.get_cumulative().counters.items()}


def refusal(change) -> str:
    text = change if isinstance(change, str) else json.dumps({**GOOD, **change}, ensure_ascii=False)
    with pytest.raises(InvalidRecord) as refused:
        parse_event(EventLine("f:1", "/data", text), {"QH-BC-001": "street_grid", "MOB-1": "mobile"},
                    1_796_000_000_000_000)
    return str(refused.value)


@pytest.mark.parametrize("change, label", [
    ("", "empty_line"),
    ("{not json", "bad_json"),
    ("[1]", "bad_json"),
    ("\ufffd{}", "bad_encoding"),
    ({"event_id": None}, "missing_field"),
    ({"event_id": " "}, "missing_field"),
    ({"camera_id": "MOB-1"}, "missing_field"),
    ({"lon": 110.0}, "missing_field"),
    ({"camera_id": "NOPE"}, "unknown_camera"),
    ({"plate": "hello"}, "not_a_plate"),
    ({"plate": None}, "no_plate_or_image"),
    ({"captured_at": "2031-01-01T00:00:00+08:00"}, "future_time"),
    ({"captured_at": "yesterday"}, "bad_value"),
    ({"plate_confidence": "high"}, "bad_value"),
    ({"plate_confidence": 7}, "bad_value"),
    ({"plate_color": "pink"}, "bad_value"),
])
def test_a_parse_refusal_falls_in_a_stable_class_whatever_its_text_says(change, label):
    assert reason_class("parse", refusal(change)) == label


def test_the_other_stages_refuse_for_one_cause_each():
    assert reason_class("deduplicate", "duplicate event_id, first delivered at f:1") == "duplicate"
    assert reason_class("incident_deduplicate", "duplicate incident_id, first delivered at f:1") == "duplicate"
    assert reason_class("recognise", "image: image file not found") == "unusable_image"
    assert reason_class("outcome_follow", "a second result (intercepted) after not_found") == "conflicting_outcome"
    assert reason_class("outcome_parse", "responder_id: not in the responder roster") == "unknown_responder"


def test_a_dead_letter_is_counted_under_its_class_and_passes_unchanged():
    letter = DeadLetter("f:1", None, "parse", "not valid JSON", "{")
    with counting() as totals:
        assert counted(letter) is letter
        counted(letter)
    assert totals == {"dead_letters_bad_json": 2}


def test_parsing_counts_every_line_in_once_a_bundle_and_each_refusal_by_class(world_folder):
    fn = _ParseFn(world_folder, 300.0, clock=lambda: 1_796_000_000, allowed_lateness_s=None)
    fn.setup()
    lines = [json.dumps({**GOOD, "event_id": f"e{n}"}) for n in range(5)] + ["{", ""]
    with counting() as totals:
        fn.start_bundle()
        for n, text in enumerate(lines):
            list(fn.process(EventLine(f"f:{n}", "/data", text), Timestamp(0)))
        assert "events_in" not in counted_so_far()
        fn.finish_bundle()
    assert totals == {"events_in": 7, "dead_letters_bad_json": 1, "dead_letters_empty_line": 1}


def test_a_duplicate_delivery_is_counted():
    first = camera_event()._replace(source="f:1")
    with counting() as totals:
        out = list(_later_copies((first.event_id, ["f:9", "f:1"])))
    assert len(out) == 2 and totals == {"dead_letters_duplicate": 1}


def test_a_file_watchlist_counts_lookups_and_hits_once_a_block(tmp_path):
    watchlist = str(write_watchlist_csv(tmp_path / "w.csv", WATCHLIST_ROWS))
    fn = _MatchBlock(WatchlistConfig(watchlist, ZONE.key, 1, 5.0, None, 1.0, 0.0))
    fn.setup()
    with counting() as totals:
        list(fn.process(Block([passing_of("琼C12345"), passing_of("京A00000", alternates=["京A0000O"]),
                               passing_of(None, None)])))
    assert totals == {"watchlist_lookups": 3, "hits": 2}


def test_a_redis_watchlist_counts_lookups_per_block_and_answers_from_its_cache(redis_url):
    load_into_redis([entry_from_row(row, "t", ZONE) for row in WATCHLIST_ROWS], redis_url, "t")
    fn = _MatchBlock(WatchlistConfig(redis_url, ZONE.key, 0, 60.0, None, 1.0, 0.0))
    fn.setup()
    with counting() as totals:
        for _ in range(2):
            list(fn.process(Block(passing_of("琼C12345", event_id=f"e{n}") for n in range(3))))
    fn.teardown()
    # the first block fetches the plate from Redis; the second, within the TTL, finds it in the cache
    assert totals == {"watchlist_lookups": 6, "hits": 6, "watchlist_cache_hits": 3}


def test_a_redis_watchlist_counts_no_cache_hit_for_what_it_fetched(redis_url):
    load_into_redis([entry_from_row(row, "t", ZONE) for row in WATCHLIST_ROWS], redis_url, "t")
    now = [0.0]
    live = RedisWatchlist(redis_url, ttl_s=5, clock=lambda: now[0])
    with counting() as totals:
        live.answer(["A", "B"])
        live.answer(["A", "C"])
        now[0] = 10.0
        live.answer(["A"])
    live.close()
    assert totals == {"watchlist_cache_hits": 1}


def test_each_dispatch_is_counted(world_folder):
    fn = _MakeDispatch(world_folder, 3)
    fn.setup()
    with counting() as totals:
        for plate in ("琼C12345", "琼C54321"):
            list(fn.process((plate, [hit("a", 0, plate=plate)])))
    assert totals == {"dispatches": 2}


def test_the_model_counts_the_frames_it_reads_and_how_long_each_call_took(tmp_path):
    from models.plates.training.render import render_plate
    for n in range(3):
        cv2.imwrite(str(tmp_path / f"crop{n}.png"), render_plate("琼C12345", "blue", np.random.default_rng(n)))
    fn = _ReadImages(RecognitionConfig(max_image_bytes=1 << 20, max_image_pixels=10_000_000))
    fn.setup()
    events = [camera_event(None, None, image=f"crop{n}.png", base=str(tmp_path))._replace(event_id=f"e{n}")
              for n in range(3)] + [camera_event(None, None, image="missing.png", base=str(tmp_path))]
    with counting() as totals:
        list(fn.process(Block(events)))
    calls, total_ms, longest_ms = totals.pop("recognition_ms")
    assert totals == {"frames_recognised": 3, "dead_letters_unusable_image": 1}
    assert calls == 1 and 0 <= longest_ms == total_ms
