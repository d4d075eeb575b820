import gzip

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms.ingest.read_events import UNDECODABLE, ReadEventLines


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
def test_no_file_given_reads_no_line():
    with TestPipeline(runner="FnApiRunner") as p:
        assert_that(p | ReadEventLines([]), equal_to([]))
