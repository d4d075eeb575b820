import pickle

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from tests.builders import MINUTE, T0, dispatch, hit, passing
from transforms.blocks import Block
from transforms.measure.metrics import WindowedMetrics, _MergeTallies, _TallyBundle, _ToRow

WINDOW = 15 * MINUTE


@pytest.mark.beam
def test_counts_per_window_and_town_match_a_hand_count():
    passings = [passing("a", 1, "琼C12345"), passing("b", 2, "琼C12345"), passing("c", 3, None),
                passing("d", 14, "粤B11111", town="博鳌镇"), passing("e", 16, "琼C12345"),
                passing("f", 20, "琼A00001", town="博鳌镇", segment=None)]
    hits = [hit("a", 1), hit("b", 2, category="wanted"), hit("e", 16)]
    with TestPipeline(runner="FnApiRunner") as p:
        inputs = tuple(p | f"In{i}" >> beam.Create(items)
                       for i, items in enumerate(([Block(passings[:3]), Block(passings[3:])], hits, [dispatch(1)])))
        metrics = inputs | WindowedMetrics(window_minutes=15)
        by_town = (metrics
                   | "Town" >> beam.Filter(lambda m: m.dimension in ("town", "all", "segment"))
                   | beam.Map(lambda m: (m.dimension, (m.window_start_us - T0) // MINUTE, m.key,
                                         m.passings, m.unread, m.unique_plates, m.hits,
                                         m.hits_stolen, m.hits_wanted, m.dispatches)))
        assert_that(by_town, equal_to([
            ("all", 0, "all", 4, 1, 2, 2, 1, 1, 1),
            ("all", 15, "all", 2, 0, 2, 1, 1, 0, 0),
            ("town", 0, "嘉积镇", 3, 1, 1, 2, 1, 1, 1),
            ("town", 0, "博鳌镇", 1, 0, 1, 0, 0, 0, 0),
            ("town", 15, "嘉积镇", 1, 0, 1, 1, 1, 0, 0),
            ("town", 15, "博鳌镇", 1, 0, 1, 0, 0, 0, 0),
            ("segment", 0, "JJ-0001", 4, 1, 2, 2, 1, 1, 1),
            ("segment", 15, "JJ-0001", 1, 0, 1, 1, 1, 0, 0),
            ("segment", 15, "unplaced", 1, 0, 1, 0, 0, 0, 0),
        ]))


@pytest.mark.beam
def test_a_live_dispatch_counts_once_where_it_was_first_seen():
    first = dispatch(1)
    update = first._replace(sightings=2, segment_id="BA-0001", town="博鳌镇", last_seen_us=T0 + 5 * MINUTE)
    with TestPipeline(runner="FnApiRunner") as p:
        inputs = (p | "P" >> beam.Create([Block([passing("a", 1, "琼C12345")])]), p | "H" >> beam.Create([hit("a", 1)]),
                  p | "D" >> beam.Create([first, update]))
        counted = (inputs | WindowedMetrics(window_minutes=15)
                   | beam.Filter(lambda m: m.dispatches) | beam.Map(lambda m: (m.dimension, m.key, m.dispatches)))
        assert_that(counted, equal_to([("all", "all", 1), ("segment", "JJ-0001", 1), ("town", "嘉积镇", 1),
                                       ("area_type", "urban", 1), ("defence_layer", "street_grid", 1)]))


def _rows_of(*bundles, shuffled=lambda tally: tally):
    """MetricRows of blocks of passings, each list a bundle of its own, merged as the shuffle would
    (each bundle's tally passed through `shuffled` on its way)."""
    merge, tallies = _MergeTallies(), []
    for blocks in bundles:
        tally = _TallyBundle(WINDOW, passings=True)
        tally.start_bundle()
        emitted = [value for block in blocks for value in tally.process(Block(block))]
        tallies += [(start, shuffled(window_tally)) for start, window_tally in
                    (value.value for value in [*emitted, *tally.finish_bundle()])]
    by_window = {}
    for start, window_tally in tallies:
        by_window[start] = merge.add_input(by_window.get(start) or merge.create_accumulator(), window_tally)
    return {(row.window_start_us, row.dimension, row.key): (row.passings, row.unread, row.unique_plates)
            for start, acc in by_window.items() for row in _ToRow(WINDOW).process((start, acc))}


def test_a_plate_seen_at_two_places_counts_once_in_each_dimension_they_share():
    rows = _rows_of([[passing("a", 1, "琼C12345"), passing("b", 2, "琼C12345", segment="JJ-0002")]],
                    [[passing("c", 3, "琼C12345", town="博鳌镇", segment="BA-0001"), passing("d", 4, None)]])
    assert rows[(T0, "all", "all")] == (4, 1, 1)
    assert rows[(T0, "town", "嘉积镇")] == (3, 1, 1)
    assert rows[(T0, "town", "博鳌镇")] == (1, 0, 1)
    assert rows[(T0, "segment", "JJ-0001")] == (2, 1, 1)
    assert rows[(T0, "segment", "JJ-0002")] == (1, 0, 1)
    assert rows[(T0, "area_type", "urban")] == (4, 1, 1)
    assert len(rows) == 8  # all, two towns, three segments, one area type, one defence layer


def test_merging_bundles_counts_what_one_bundle_would():
    passings = [passing(str(n), n % 40, f"琼C{n % 7:05d}", segment=f"JJ-{n % 3:04d}") for n in range(60)]
    assert _rows_of([passings[:25]], [passings[25:50]], [passings[50:]]) == _rows_of([passings])


def test_a_bundle_hands_on_the_windows_it_has_left_behind_and_counts_a_late_passing_alike():
    minutes = [1, 20, 50, 70, 5, 100, 3]
    passings = [passing(str(n), minute, f"琼C{n % 4:05d}") for n, minute in enumerate(minutes)]
    tally = _TallyBundle(WINDOW, passings=True)
    tally.start_bundle()
    handed_on = [[(value.value[0] - T0) // MINUTE for value in tally.process(Block([one]))] for one in passings]
    # a window more than two behind the latest goes on at once, a late passing's window again
    assert handed_on == [[], [], [0], [15], [0], [45], [0]]
    assert sorted((value.value[0] - T0) // MINUTE for value in tally.finish_bundle()) == [60, 90]
    assert _rows_of([[one] for one in passings]) == _rows_of([passings])


def test_a_window_tally_crosses_a_shuffle_whole():
    passings = [passing(str(n), n % 40, f"琼C{n % 7:05d}" if n % 5 else None, segment=f"JJ-{n % 3:04d}")
                for n in range(60)]
    assert _rows_of([passings[:30]], [passings[30:]],
                    shuffled=lambda tally: pickle.loads(pickle.dumps(tally))) == _rows_of([passings])



def test_a_window_tally_crosses_a_shuffle_in_fewer_bytes_than_its_plates():
    passings = [passing(str(n), n % 15, f"琼{'ABCDE'[n % 5]}{n * 7919 % 100_000:05d}", segment=f"JJ-{n % 3:04d}")
                for n in range(3000)]
    tally = _TallyBundle(WINDOW, passings=True)
    tally.start_bundle()
    assert not list(tally.process(Block(passings)))  # one window, still open
    (_, window_tally), = (value.value for value in tally.finish_bundle())
    plates = sum(len(place.plates) for place in window_tally.places.values())
    crossed = pickle.loads(pickle.dumps(window_tally))
    assert len(pickle.dumps(window_tally)) < 0.7 * plates
    assert {place: bytes(t.plates) for place, t in crossed.places.items()} == {
        place: bytes(t.plates) for place, t in window_tally.places.items()}


def test_plates_that_share_their_first_characters_are_told_apart():
    rows = _rows_of([[passing("a", 1, "琼C1234"), passing("b", 2, "琼C12345"), passing("c", 3, "琼C12345"),
                      passing("d", 4, "琼C123456")]])
    assert rows[(T0, "all", "all")] == (4, 0, 3)
    assert _rows_of([[passing("a", 1, None)]])[(T0, "all", "all")] == (1, 1, 0)
