"""Safety metrics per event-time window, per segment, town, area type and defence layer.

Each passing, hit and dispatch contributes to one row per dimension of its
window (plus a city-wide `all` row). A sighting off the network counts under
the key `unplaced`, so the totals of every dimension agree.
"""
from typing import Iterable, NamedTuple, Optional

import apache_beam as beam
from apache_beam.transforms import window

from transforms.records import Dispatch, Hit, MetricRow, Passing
from transforms.watchlist_store import CATEGORIES

DIMENSIONS = ("segment", "town", "area_type", "defence_layer")
UNPLACED = "unplaced"
ALL = "all"


class Contribution(NamedTuple):
    kind: str
    plate: Optional[str]
    category: Optional[str]


def _keys(segment_id, town, area_type, defence_layer) -> list[tuple[str, str]]:
    values = (segment_id, town, area_type, defence_layer)
    return [(ALL, ALL)] + [(dim, value or UNPLACED) for dim, value in zip(DIMENSIONS, values)]


def _contributions(record) -> Iterable:
    if isinstance(record, Passing):
        item = Contribution("passing", record.plate, None)
    elif isinstance(record, Hit):
        item = Contribution("hit", None, record.category)
    else:
        item = Contribution("dispatch", None, None)
    moment = record.created_at_us if isinstance(record, Dispatch) else record.captured_at_us
    for key in _keys(record.segment_id, record.town, record.area_type, record.defence_layer):
        yield window.TimestampedValue((key, item), moment / 1e6)


class _Tally(beam.CombineFn):
    """Accumulator: [passings, unread, plates, hits, {category: n}, dispatches]."""

    def create_accumulator(self):
        return [0, 0, set(), 0, dict.fromkeys(CATEGORIES, 0), 0]

    def add_input(self, acc, item: Contribution):
        if item.kind == "passing":
            acc[0] += 1
            if item.plate:
                acc[2].add(item.plate)
            else:
                acc[1] += 1
        elif item.kind == "hit":
            acc[3] += 1
            acc[4][item.category] = acc[4].get(item.category, 0) + 1
        else:
            acc[5] += 1
        return acc

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for acc in accumulators:
            merged[0] += acc[0]
            merged[1] += acc[1]
            merged[2] |= acc[2]
            merged[3] += acc[3]
            for category, n in acc[4].items():
                merged[4][category] = merged[4].get(category, 0) + n
            merged[5] += acc[5]
        return merged

    def extract_output(self, acc):
        return acc


class _ToRow(beam.DoFn):
    def process(self, keyed, win=beam.DoFn.WindowParam):
        (dimension, key), (passings, unread, plates, hits, by_category, dispatches) = keyed
        yield MetricRow(
            window_start_us=win.start.micros, window_end_us=win.end.micros,
            dimension=dimension, key=key, passings=passings, unread=unread,
            unique_plates=len(plates), hits=hits,
            **{f"hits_{category}": by_category.get(category, 0) for category in CATEGORIES},
            dispatches=dispatches)


class WindowedMetrics(beam.PTransform):
    """(passings, hits, dispatches) → MetricRows in fixed event-time windows."""

    def __init__(self, window_minutes: float = 15.0):
        super().__init__()
        self._window_s = window_minutes * 60

    def expand(self, inputs):
        windowed = [
            records
            | f"Contribute{i}" >> beam.FlatMap(_contributions)
            | f"Window{i}" >> beam.WindowInto(window.FixedWindows(self._window_s))
            for i, records in enumerate(inputs)]
        return (windowed
                | "Together" >> beam.Flatten()
                | "Tally" >> beam.CombinePerKey(_Tally())
                | "Rows" >> beam.ParDo(_ToRow()))
