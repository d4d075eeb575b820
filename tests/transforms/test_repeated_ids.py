"""The ids a replay's files hold: never fewer than parsing reads, and the lines that hold a repeated one."""
import gzip
import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st

from models.records import CameraEvent, EventLine
from transforms.ingest import repeated_ids
from transforms.ingest.fields import InvalidRecord
from transforms.ingest.parse_events import parse_event
from transforms.ingest.repeated_ids import (
    ReadRepeatedLines,
    RepeatedEventIds,
    ids_on,
    lines_holding,
    pack_ids,
    unpack_ids,
)

CAMERAS = {"CAM-1": "street_grid"}
NOW_US = 1_796_500_000_000_000
GOOD = {"event_id": "e1", "camera_id": "CAM-1", "captured_at": "2026-11-29T08:00:00+08:00", "plate": "琼C12345"}
# event_ids as cameras and hostile files write them: escapes, other scripts, quotes, halves of UTF-16 pairs
written_ids = (st.text(max_size=12) | st.integers()
               | st.sampled_from(["ev-1", 'a"b', "a\\b", "琼", "\u2028", "e1", "\ud800"]))
ways = st.sampled_from([
    lambda event: json.dumps(event, ensure_ascii=False),
    lambda event: json.dumps(event),  # non-ASCII as \\u escapes
    lambda event: json.dumps(event, separators=(" , ", " : ")),
    lambda event: json.dumps({**event, "event_id": "decoy", "again": 1}).replace(
        '"again": 1', '"event_id": ' + json.dumps(event["event_id"])),  # a second event_id key: the last wins
])
good_lines = st.builds(lambda event_id, way: way({**GOOD, "event_id": event_id}), written_ids, ways)
lines = good_lines | st.builds(lambda line, cut: line[:cut], good_lines, st.integers(0, 80)) | st.text(max_size=40)


def parsed(text: str):
    try:
        return parse_event(EventLine("f:1", "/d", text), CAMERAS, NOW_US)
    except InvalidRecord as refused:
        return refused


@settings(max_examples=400, deadline=None)
@given(st.lists(lines, min_size=1, max_size=20))
def test_every_event_id_that_parsing_reads_is_found_on_its_line(texts):
    events = {row: event for row, event in enumerate(map(parsed, texts)) if isinstance(event, CameraEvent)}
    assert {event.event_id for event in events.values()} <= set(ids_on(texts))
    for row, event in events.items():
        assert event.event_id in ids_on([texts[row]])
        assert row in lines_holding(texts, frozenset([event.event_id]))
    if all(map(is_utf8, texts)):  # as every line read from a file is: each id found crosses a shuffle as text
        assert all(map(is_utf8, ids_on(texts)))


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_ids_are_read_as_written_and_escaped_ones_as_decoded():
    texts = ['{"event_id":"a","camera_id":"x"}', '{"camera_id":"x", "event_id" : "b"}',
             '{"event_id":"c\\u002d1"}', '{"event_id":1}', "not json", '{"event_id":"d"']
    assert sorted(ids_on(texts)) == ["a", "b", "c-1", "d"]


def test_only_the_lines_on_which_a_repeated_id_is_found_are_kept():
    texts = ['{"event_id":"a"}', '{"event_id":"b"}', '{"event_id":"a\\u0062"}', '{"event_id":"ab"}',
             '{"event_id":"c","note":"a"}']
    assert lines_holding(texts, frozenset(["ab"])) == [2, 3]
    assert lines_holding(texts, frozenset(["a"])) == [0]  # not in "ab", nor in another field
    assert lines_holding(texts, frozenset(["z"])) == []


def test_a_part_of_ids_survives_its_packing():
    ids = ["ev-1", "琼", "", "a\nb"]
    assert unpack_ids(pack_ids(ids)) == ids


def test_a_shards_ids_cross_the_shuffle_as_one_part_until_it_is_full(monkeypatch):
    monkeypatch.setattr(repeated_ids, "PART_IDS", 2)
    same_shard = [f"ev-{n}" for n in range(300) if repeated_ids.shard_of(f"ev-{n}") == 5][:3]
    by_shard = repeated_ids._PackIdsByShard()
    by_shard.start_bundle()
    assert list(by_shard.process(same_shard[:1])) == []  # one of two: held for the next list
    full = list(by_shard.process(same_shard[1:]))
    rest = list(by_shard.finish_bundle())
    assert [(shard, unpack_ids(part)) for shard, part in full] == [(5, same_shard[:2])]
    assert [(part.value[0], unpack_ids(part.value[1])) for part in rest] == [(5, same_shard[2:])]


@pytest.mark.beam
def test_the_ids_written_more_than_once_are_found_across_lists_and_shards():
    with TestPipeline(runner="FnApiRunner") as p:
        repeated = (p | "Ids" >> beam.Create([["a", "b", "c"], ["d", "a"], [f"x{n}" for n in range(500)] + ["d"]])
                    | "Repeated" >> RepeatedEventIds())
        assert_that(repeated, equal_to([frozenset(["a", "d"])]), label="some")
        none = p | "NoIds" >> beam.Create([["a", "b"]]) | "NoneRepeated" >> RepeatedEventIds()
        assert_that(none, equal_to([frozenset()]), label="none")


@pytest.mark.beam
def test_the_lines_holding_a_repeated_id_are_read_from_every_file(tmp_path):
    def event(event_id):
        return json.dumps({**GOOD, "event_id": event_id})
    (tmp_path / "a.jsonl").write_text("\n".join([event("e1"), event("e2"), "{bad", event("e3")]) + "\n")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as handle:
        handle.write("\n".join([event("e3"), event("e4"), event("e1")]) + "\n")
    with TestPipeline(runner="FnApiRunner") as p:
        held = (p | ReadRepeatedLines([str(tmp_path / "*.jsonl*")])
                | beam.FlatMap(lambda block: [(line.source.rsplit("/", 1)[1], line.text) for line in block]))
        assert_that(held, equal_to([("a.jsonl:1", event("e1")), ("a.jsonl:4", event("e3")),
                                    ("b.jsonl.gz:1", event("e3")), ("b.jsonl.gz:3", event("e1"))]))


def test_an_id_on_a_line_with_an_escape_elsewhere_is_found_once():
    texts = [json.dumps({**GOOD, "event_id": "e1"}), json.dumps({**GOOD, "event_id": "e2"})]  # 琼 as \u743c
    assert sorted(ids_on(texts)) == ["e1", "e2"]


def test_a_line_cut_short_hides_no_id_on_the_next():
    texts = ['{"event_id":"a', '{"event_id":"b","camera_id":"x"}', '{"event_id" :\t"c"}']
    assert ids_on(texts) == ["b", "c"]
    assert lines_holding(texts, frozenset(["b", "c"])) == [1, 2]
