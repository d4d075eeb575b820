"""The ids a replay's files hold: never fewer than parsing reads, and the lines that hold a repeated one."""
import gzip
import io
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
from transforms.ingest.read_events import line_chunks, line_text
from transforms.ingest.repeated_ids import (
    ReadRepeatedLines,
    RepeatedEventIds,
    ids_in,
    lines_holding,
    pack_ids,
    shard_of,
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
@given(st.lists(lines, min_size=1, max_size=20), st.integers(1, 64))
def test_every_event_id_that_parsing_reads_is_found_on_its_line(texts, block_bytes):
    data = "\n".join(texts).encode("utf-8", errors="surrogatepass")  # as a file holds them, halves of pairs too
    read = [line_text(line) for line in data.split(b"\n")]
    chunks = list(line_chunks(io.BytesIO(data), block_bytes=block_bytes))
    events = {row: event for row, event in enumerate(map(parsed, read)) if isinstance(event, CameraEvent)}
    found = [event_id for chunk in chunks for event_id in ids_in(chunk)]
    assert {event.event_id.encode() for event in events.values()} <= set(found)
    for row, event in events.items():
        assert event.event_id.encode() in ids_in(data.split(b"\n")[row])
        assert (row, read[row]) in held(chunks, frozenset([event.event_id.encode()]))


def held(chunks: list[bytes], repeated: frozenset[bytes]) -> list[tuple[int, str]]:
    """(row in the file, text) of each line holding a repeated id, chunk after chunk."""
    first, found = 0, []
    for chunk in chunks:
        found += [(first + row, line_text(line)) for row, line in lines_holding(chunk, repeated)]
        first += chunk.count(b"\n") + 1
    return found


def test_ids_are_read_as_written_and_escaped_ones_as_decoded():
    chunk = b"\n".join([b'{"event_id":"a","camera_id":"x"}', b'{"camera_id":"x", "event_id" : "b"}',
                        b'{"event_id":"c\\u002d1"}', b'{"event_id":1}', b"not json", b'{"event_id":"d"',
                        '{"event_id":"琼"}'.encode()])
    assert sorted(ids_in(chunk)) == [b"a", b"b", b"c-1", b"d", "琼".encode()]


def test_only_the_lines_on_which_a_repeated_id_is_found_are_kept():
    chunk = b"\n".join([b'{"event_id":"a"}\r', b'{"event_id":"\\u0062"}', b'{"event_id":"a\\u0062"}',
                        b'{"event_id":"ab"}', b'{"event_id":"c","note":"a"}'])
    assert lines_holding(chunk, frozenset([b"ab"])) == [(2, b'{"event_id":"a\\u0062"}'), (3, b'{"event_id":"ab"}')]
    assert lines_holding(chunk, frozenset([b"a"])) == [(0, b'{"event_id":"a"}\r')]  # not "ab", nor another field
    assert lines_holding(chunk, frozenset([b"z"])) == []


def test_an_id_shards_alike_as_text_and_as_written():
    assert all(shard_of(event_id) == shard_of(event_id.encode()) for event_id in ["ev-1", "琼C12345", ""])


def test_a_part_of_ids_survives_its_packing():
    ids = [b"ev-1", "琼".encode(), b"", b"a\nb"]
    assert unpack_ids(pack_ids(ids)) == ids


def test_a_shards_ids_cross_the_shuffle_as_one_part_until_it_is_full(monkeypatch):
    monkeypatch.setattr(repeated_ids, "PART_IDS", 2)
    same_shard = [f"ev-{n}".encode() for n in range(300) if shard_of(f"ev-{n}") == 5][:3]
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
        ids = [[b"a", b"b", b"c"], [b"d", b"a"], [f"x{n}".encode() for n in range(500)] + [b"d"]]
        repeated = p | "Ids" >> beam.Create(ids) | "Repeated" >> RepeatedEventIds()
        union = repeated | "Union" >> beam.CombineGlobally(lambda sets: frozenset().union(*sets))
        assert_that(union, equal_to([frozenset([b"a", b"d"])]), label="some")
        none = p | "NoIds" >> beam.Create([[b"a", b"b"]]) | "NoneRepeated" >> RepeatedEventIds()
        assert_that(none, equal_to([]), label="none")


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
    chunk = "\n".join([json.dumps({**GOOD, "event_id": "e1"}), json.dumps({**GOOD, "event_id": "e2"})]).encode()
    assert sorted(ids_in(chunk)) == [b"e1", b"e2"]  # 琼 written as \u743c
    assert [row for row, _ in lines_holding(chunk, frozenset([b"e2"]))] == [1]


def test_a_line_cut_short_hides_no_id_on_the_next():
    chunk = b'{"event_id":"a\n{"event_id":"b","camera_id":"x"}\n{"event_id" :\t"c"}'
    assert ids_in(chunk) == [b"b", b"c"]
    assert [row for row, _ in lines_holding(chunk, frozenset([b"b", b"c"]))] == [1, 2]
