import gzip
import io

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.ingest.read_events import (
    UNDECODABLE,
    ReadEventBlocks,
    ReadEventLines,
    line_chunks,
    line_text,
    line_texts,
)


@pytest.mark.beam
def test_every_line_keeps_its_file_and_number_plain_or_gzipped(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b'{"x": 1}\n\n{"x": 2}')
    with gzip.open(tmp_path / "b.jsonl.gz", "wb") as handle:
        handle.write(b"first\r\n\xff\xfe broken utf-8\n")
    with TestPipeline(runner="FnApiRunner") as p:
        lines = p | ReadEventLines([str(tmp_path / "*.jsonl*")])
        assert_that(lines | beam.Map(lambda line: (line.source.rpartition("/")[2], line.text)),
                    equal_to([("a.jsonl:1", '{"x": 1}'), ("a.jsonl:2", ""), ("a.jsonl:3", '{"x": 2}'),
                              ("b.jsonl.gz:1", "first"),
                              ("b.jsonl.gz:2", f"{UNDECODABLE}{UNDECODABLE} broken utf-8")]))


@pytest.mark.beam
def test_blocks_of_lines_number_every_line_across_their_edges(tmp_path):
    (tmp_path / "c.jsonl").write_text("".join(f"line {n}\n" for n in range(1, 4501)))
    with TestPipeline(runner="FnApiRunner") as p:
        blocks = p | ReadEventBlocks([str(tmp_path / "c.jsonl")])
        assert_that(blocks | beam.Map(len), equal_to([2000, 2000, 500]), label="sizes")
        numbered = blocks | beam.FlatMap(lambda block: [(line.source.rpartition(":")[2], line.text) for line in block])
        assert_that(numbered, equal_to([(str(n), f"line {n}") for n in range(1, 4501)]), label="numbers")


@pytest.mark.beam
def test_no_file_given_reads_no_line():
    with TestPipeline(runner="FnApiRunner") as p:
        assert_that(p | ReadEventLines([]), equal_to([]))


def one_by_one(data: bytes, max_bytes: int) -> list[str]:
    """What reading a line at a time gives: each line cut after max_bytes + 1 bytes, then decoded."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line[:max_bytes + 1].removesuffix(b"\r").decode("utf-8", errors="replace") for line in lines]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b"\n", b"\r", b"\r\n", b"a", b"{}", "琼".encode(), b"\xe7", b"\x90", b"\xff"]),
                max_size=60).map(b"".join),
       st.integers(1, 12), st.integers(1, 40))
def test_lines_read_a_block_at_a_time_are_the_lines_read_one_by_one(data, max_bytes, block_bytes):
    assert list(line_texts(io.BytesIO(data), max_bytes, block_bytes)) == one_by_one(data, max_bytes)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b"\n", b"\r", b"\r\n", b"a", b"{}", "琼".encode(), b"\xe7", b"\xff"]),
                max_size=60).map(b"".join),
       st.integers(1, 12), st.integers(1, 40))
def test_chunks_of_lines_hold_the_lines_read_one_by_one(data, max_bytes, block_bytes):
    chunks = list(line_chunks(io.BytesIO(data), max_bytes, block_bytes))
    lines = [line for chunk in chunks for line in chunk.split(b"\n")]
    assert [line_text(line) for line in lines] == one_by_one(data, max_bytes)
