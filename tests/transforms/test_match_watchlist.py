import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from tests.builders import WATCHLIST_INDEX, WATCHLIST_ROWS, ZONE, passing_of, write_watchlist_csv
from transforms.blocks import Block
from transforms.enrich.match_watchlist import MatchWatchlist, WatchlistConfig, hits_for
from transforms.enrich.watchlist_store import entry_from_row, load_into_redis


def matches(p, max_substitutions=1):
    return [(h.entry_id, h.match, h.substitutions, h.score)
            for h in hits_for(p, WATCHLIST_INDEX, max_substitutions, "v1")]


def test_an_exact_read_hits_its_entry_and_a_one_substitution_neighbour():
    assert matches(passing_of("琼C12345")) == [("W1", "exact", 0, 1.0), ("W2", "fuzzy", 1, 0.8)]


def test_exact_only_when_no_substitution_is_allowed():
    assert matches(passing_of("琼C12345"), max_substitutions=0) == [("W1", "exact", 0, 1.0)]


def test_an_ocr_error_within_the_budget_still_hits():
    assert matches(passing_of("琼C7Z34S", confidence=0.9), max_substitutions=3) == [
        ("W1", "fuzzy", 3, pytest.approx(0.9 * 0.8 ** 3, abs=1e-4)),
        ("W2", "fuzzy", 2, pytest.approx(0.9 * 0.8 ** 2, abs=1e-4))]
    assert matches(passing_of("琼C7Z34S"), max_substitutions=1) == []


def test_an_unrelated_plate_or_an_expired_entry_does_not_hit():
    assert matches(passing_of("琼C12349")) == []
    assert matches(passing_of("粤B88888")) == []


def test_an_alternate_read_can_hit_at_one_more_substitution():
    assert matches(passing_of("琼C12349", confidence=0.5, alternates=["琼C12345"])) == [
        ("W1", "fuzzy", 1, 0.4)]


@pytest.mark.beam
def test_the_transform_matches_against_redis(tmp_path, redis_url):
    load_into_redis([entry_from_row(row, "t", ZONE) for row in WATCHLIST_ROWS], redis_url, "t")
    with TestPipeline(runner="FnApiRunner") as p:
        hits = (p | beam.Create([Block([passing_of("琼C12345", event_id="a"), passing_of("京A00000", event_id="b")])])
                | MatchWatchlist(WatchlistConfig(redis_url, ZONE.key, max_substitutions=0))).hits
        assert_that(hits | beam.Map(lambda h: (h.event_id, h.entry_id, h.match)),
                    equal_to([("a", "W1", "exact")]))


@pytest.mark.beam
def test_the_transform_matches_against_a_file(tmp_path):
    path = str(write_watchlist_csv(tmp_path / "w.csv", WATCHLIST_ROWS))
    with TestPipeline(runner="FnApiRunner") as p:
        hits = (p | beam.Create([Block([passing_of("琼C12345", event_id=f"e{i}") for i in range(2)]),
                                     Block([passing_of("琼C12345", event_id="e2")])])
                | MatchWatchlist(WatchlistConfig(path, ZONE.key, max_substitutions=1))).hits
        assert_that(hits | beam.Map(lambda h: (h.event_id, h.entry_id)),
                    equal_to([(f"e{i}", w) for i in range(3) for w in ("W1", "W2")]))


@pytest.mark.beam
def test_passings_come_out_marked_with_whether_they_hit(tmp_path):
    path = str(write_watchlist_csv(tmp_path / "w.csv", WATCHLIST_ROWS))
    with TestPipeline(runner="FnApiRunner") as p:
        checked = (p | beam.Create([Block([passing_of("琼C12345", event_id="a"), passing_of("京A00000", event_id="b"),
                                           passing_of(None, None, event_id="c")])])
                   | MatchWatchlist(WatchlistConfig(path, ZONE.key))).passings
        assert_that(checked | beam.FlatMap(lambda block: [(c.event_id, c.watchlist_hit) for c in block]),
                    equal_to([("a", True), ("b", False), ("c", False)]))


def model_read(plate, confidence):
    return passing_of(plate, confidence=confidence)._replace(plate_source="model")


def test_an_unsure_model_read_hits_an_entry_of_another_province_at_one_substitution():
    """A blurred 琼 read as 粤 at 0.55: the vehicle is still found, as a fuzzy hit with a lower score."""
    assert matches(model_read("粤C12345", 0.55)) == [("W1", "fuzzy", 1, pytest.approx(0.44, abs=1e-4))]
    (hit,) = hits_for(model_read("粤C12345", 0.55), WATCHLIST_INDEX, 1, "v1")
    assert (hit.read_plate, hit.plate) == ("粤C12345", "琼C12345")
    assert [m[0] for m in matches(model_read("粤C1234S", 0.55), max_substitutions=2)] == ["W1", "W2"]


def test_a_confident_model_read_or_a_cameras_read_of_another_province_does_not_hit():
    assert matches(model_read("粤C12345", 0.95)) == []
    assert matches(passing_of("粤C12345", confidence=0.55)) == []
