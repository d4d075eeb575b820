"""Safety metrics per event-time window, per segment, town, area type and defence layer.

Each passing, hit and dispatch counts once in each dimension of its window,
plus a city-wide `all` row. A sighting off the network counts under the key
`unplaced`, so the totals of every dimension agree.

Every record would otherwise fan out into five keyed elements, each windowed
on its own; instead each bundle first tallies its records per window and
place (a place is the record's value in every dimension at once), and only
those tallies, one per window a bundle touched, are windowed and combined.
A window's rows are rolled up from its places when they are made, so a plate
seen at one place is held there until then, not once per dimension: the
plates are most of what a replay holds. A place keeps the plates read there as
one buffer of their text, a line each, and they are told apart only when the
rows count them: about 10 bytes a sighting, where a set of strings per place
took some 160, and a window's buffers cross the shuffle as one compressed value
(about half that: the local runner holds several copies of every window's
tallies between the stages that make and merge them). A replay
combines the tallies in the global window, keyed by their window's start (the local runner's fast
path); a live run combines them in their windows, which fire as the
watermark passes.
"""
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.transforms import window
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import Timestamp
from apache_beam.utils.windowed_value import WindowedValue

from models.records import Dispatch, Hit, MetricRow, at_event_time
from transforms.act.dispatch import latest_version
from transforms.enrich.watchlist_store import CATEGORIES
from transforms.packed import packed, unpacked

DIMENSIONS = ("segment", "town", "area_type", "defence_layer")
UNPLACED = "unplaced"
ALL = "all"


class SlottedState:
    """Pickles a slotted accumulator as a plain tuple of its fields: compact across the shuffle."""
    __slots__ = ()

    def __getstate__(self):
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setstate__(self, state):
        for name, value in zip(self.__slots__, state):
            setattr(self, name, value)


class Tally(SlottedState):
    """Counts at one place (or for one key) in one window; tallies add up by `merge`.

    `plates` holds every plate read, repeats included, as UTF-8 lines (a plate
    holds no line break); `distinct_plates()` tells them apart.
    """
    __slots__ = ("passings", "unread", "plates", "hits", "by_category", "dispatches")

    def __init__(self) -> None:
        self.passings = self.unread = self.hits = 0
        self.plates = bytearray()
        self.dispatches = 0
        self.by_category = dict.fromkeys(CATEGORIES, 0)

    def add(self, record) -> None:
        """A hit or a dispatch (passings come in blocks: `add_passings`)."""
        if isinstance(record, Hit):
            self.hits += 1
            self.by_category[record.category] = self.by_category.get(record.category, 0) + 1
        else:
            self.dispatches += 1

    def add_passings(self, count: int, plates_read: list[str]) -> None:
        """`count` passings, of which `plates_read` are the plates read (the rest unread)."""
        self.passings += count
        self.unread += count - len(plates_read)
        if plates_read:
            self.plates += ("\n".join(plates_read) + "\n").encode()

    def distinct_plates(self) -> set[bytes]:
        """The distinct plates read here, each as its UTF-8 text."""
        return set(bytes(self.plates).split(b"\n")) - {b""}

    def merge(self, other: "Tally") -> "Tally":
        self.plates += other.plates
        return self.add_counts(other)

    def add_counts(self, other: "Tally") -> "Tally":
        """Adds in `other`'s counts, not its plates."""
        self.passings += other.passings
        self.unread += other.unread
        self.hits += other.hits
        for category, n in other.by_category.items():
            self.by_category[category] = self.by_category.get(category, 0) + n
        self.dispatches += other.dispatches
        return self


_PLATES = Tally.__slots__.index("plates")


def _packed_plates(plates: tuple[bytearray, ...]) -> tuple[tuple[int, ...], bytes]:
    """The places' plates as (each place's length, all of them packed): about half the bytes."""
    return tuple(map(len, plates)), packed(b"".join(plates))


def _unpacked_plates(packed_plates: tuple[tuple[int, ...], bytes]) -> list[bytearray]:
    lengths, joined_plates = packed_plates
    joined = unpacked(joined_plates)
    plates, start = [], 0
    for length in lengths:
        plates.append(bytearray(joined[start:start + length]))
        start += length
    return plates


class WindowTally(SlottedState):
    """One window's tallies, one per place where anything happened.

    A plate seen at one place is held there, not again in each of the five
    tallies it counts in: the dimensions are rolled up from the places only
    when the window's rows are made (`rolled_up`).
    """
    __slots__ = ("places",)

    def __init__(self) -> None:
        self.places: dict[tuple, Tally] = {}

    def at(self, place: tuple) -> Tally:
        tally = self.places.get(place)
        if tally is None:
            tally = self.places[place] = Tally()
        return tally

    def __getstate__(self):
        """The places, and each field of their tallies as a column: a window's tallies cross the
        runner's shuffle, where a tally pickled by itself costs a Python call and a tuple. The
        plates of all the places cross as one compressed text (`_packed_plates`)."""
        tallies = self.places.values()
        columns = [tuple(getattr(tally, name) for tally in tallies) for name in Tally.__slots__]
        columns[_PLATES] = _packed_plates(columns[_PLATES])
        return tuple(self.places), *columns

    def __setstate__(self, state):
        places, *columns = state
        columns[_PLATES] = _unpacked_plates(columns[_PLATES])
        self.places = {}
        for place, fields in zip(places, zip(*columns)):
            tally = self.places[place] = Tally.__new__(Tally)
            tally.__setstate__(fields)

    def merge(self, other: "WindowTally") -> "WindowTally":
        """Adds `other` in, taking over its tallies where this one has none: `other` is not used again."""
        for place, tally in other.places.items():
            mine = self.places.get(place)
            if mine is None:
                self.places[place] = tally
            else:
                mine.merge(tally)
        return self

    def rolled_up(self) -> Iterator[tuple[tuple[str, str], Tally, int]]:
        """Each (dimension, key) the window's places count in (`metric_keys`), with its tally
        and its number of distinct plates. Each place's plates are told apart once, and each
        key's only while its row is made."""
        places_of: dict[tuple[str, str], list[tuple[Tally, set[bytes]]]] = {}
        for place, tally in self.places.items():
            counted = (tally, tally.distinct_plates())
            for key in metric_keys(place):
                places_of.setdefault(key, []).append(counted)
        for key, places in places_of.items():
            total, plates = Tally(), set[bytes]()
            for tally, read in places:
                total.add_counts(tally)
                plates |= read
            yield key, total, len(plates)


_PLACE_FIELDS = ("segment_id", "town", "area_type", "defence_layer")  # a passing's place in each of DIMENSIONS


def _place(record) -> tuple:
    """The record's value in each of DIMENSIONS."""
    if isinstance(record, Dispatch):  # where it was opened: the same in every live version
        return (record.opened_segment_id, record.opened_town, record.opened_area_type,
                record.opened_defence_layer)
    return tuple(getattr(record, name) for name in _PLACE_FIELDS)


def metric_keys(place: tuple) -> list[tuple[str, str]]:
    return [(ALL, ALL)] + [(dim, value or UNPLACED) for dim, value in zip(DIMENSIONS, place)]


def _event_time(record) -> int:
    return record.created_at_us if isinstance(record, Dispatch) else record.captured_at_us


HELD_WINDOWS = 2


class _TallyBundle(beam.DoFn):
    """Tally a bundle's blocks of records per window and place; emit each window's tally at its end.

    Each window's tally is stamped with the window's last instant, so a live
    run's WindowInto puts it back in that window.
    """

    def __init__(self, window_us: int, passings: bool = False):
        self._window_us = window_us
        self._passings = passings

    def start_bundle(self) -> None:
        self._windows: dict[int, WindowTally] = {}

    def process(self, records):
        if self._passings:
            self._add_passings(records)
        else:
            self._add_records(records)
        yield from self._passed()

    def _passed(self):
        """The tallies of the windows HELD_WINDOWS or more before the latest one the bundle has
        touched, which it is unlikely to touch again: a replay reads its events in about the
        order they were captured, and would otherwise hold every window's tallies to its end.
        A window touched again after all is tallied anew, and the tallies merge downstream."""
        if not self._windows:
            return
        horizon = max(self._windows) - HELD_WINDOWS * self._window_us
        for start in [start for start in self._windows if start < horizon]:
            yield self._emitted(start, self._windows.pop(start))

    def _window(self, start: int) -> WindowTally:
        tally = self._windows.get(start)
        if tally is None:
            tally = self._windows[start] = WindowTally()
        return tally

    def _add_records(self, records) -> None:
        for record in records:
            moment = _event_time(record)
            self._window(moment - moment % self._window_us).at(_place(record)).add(record)

    def _add_passings(self, passings) -> None:
        """Nine events in ten: a block's plates are first gathered per window and place (most
        share a camera's), and each gathering then adds to its place's tally at once."""
        window_us = self._window_us
        starts = [moment - moment % window_us for moment in passings.column("captured_at_us")]
        plates_at: dict[tuple, list] = {}  # (window start, *place) → the plates read there
        for at, plate in zip(zip(starts, *(passings.column(name) for name in _PLACE_FIELDS)),
                             passings.column("plate")):
            plates = plates_at.get(at)
            if plates is None:
                plates = plates_at[at] = []
            plates.append(plate)
        for (start, *place), plates in plates_at.items():
            self._window(start).at(tuple(place)).add_passings(len(plates), [plate for plate in plates if plate])

    def finish_bundle(self):
        windows, self._windows = self._windows, {}
        while windows:
            yield self._emitted(*windows.popitem())

    def _emitted(self, start: int, tally: WindowTally) -> WindowedValue:
        return WindowedValue((start, tally), Timestamp(micros=start + self._window_us - 1), (GlobalWindow(),))


class _MergeTallies(beam.CombineFn):
    """A window's tallies from every bundle, merged: a place new to the window takes the
    input's tally over, not a copy of it."""

    def create_accumulator(self):
        return WindowTally()

    def add_input(self, acc, tally):
        return acc.merge(tally)

    def merge_accumulators(self, accumulators):
        merged = None
        for acc in accumulators:
            merged = acc if merged is None else merged.merge(acc)
        return merged if merged is not None else WindowTally()

    def extract_output(self, acc):
        return acc


class _ToRow(beam.DoFn):
    def __init__(self, window_us: int):
        self._window_us = window_us

    def process(self, keyed):
        start, window_tally = keyed
        for (dimension, key), tally, unique_plates in window_tally.rolled_up():
            yield MetricRow(
                window_start_us=start, window_end_us=start + self._window_us,
                dimension=dimension, key=key, passings=tally.passings, unread=tally.unread,
                unique_plates=unique_plates, hits=tally.hits,
                **{f"hits_{category}": tally.by_category.get(category, 0) for category in CATEGORIES},
                dispatches=tally.dispatches)


class WindowedMetrics(beam.PTransform):
    """(blocks of passings, hits, dispatches) → MetricRows in fixed event-time windows.

    A dispatch counts once, in the window and at the place where it was
    opened. A live dispatch arrives once per version; versions share that
    window and place, and the latest to arrive in time stands for them all.
    A live run (`streaming`) emits each window's rows once the watermark
    passes its end; a replay emits all rows when its input ends.
    """

    def __init__(self, window_minutes: float = 15.0, streaming: bool = False):
        super().__init__()
        self._window_us = round(window_minutes * 60 * 1_000_000)
        self._streaming = streaming

    def expand(self, inputs):
        passings, hits, dispatches = inputs
        latest = (dispatches
                  | "AtCreation" >> beam.Map(
                      lambda d: at_event_time((d.dispatch_id, d), d.created_at_us)
                  ).with_output_types(tuple[str, Dispatch])
                  | "CreationWindow" >> beam.WindowInto(window.FixedWindows(self._window_us / 1e6))
                  | "LatestVersion" >> beam.CombinePerKey(latest_version)
                  | "Dispatch" >> beam.Values())
        one_by_one = [records | f"AsBlock{i}" >> beam.Map(lambda record: [record])
                      for i, records in enumerate((hits, latest))]
        # Each input is tallied where it is made and only the tallies meet: the
        # FnApiRunner holds every element of a Flatten's inputs until all of them end.
        tallies = [
            (blocks if isinstance(blocks.windowing.windowfn, window.GlobalWindows)
             else blocks | f"Global{i}" >> beam.WindowInto(window.GlobalWindows()))
            | f"TallyBundle{i}" >> beam.ParDo(_TallyBundle(self._window_us, passings=i == 0)).with_output_types(
                tuple[int, WindowTally])
            for i, blocks in enumerate((passings, *one_by_one))] | "Together" >> beam.Flatten()
        if self._streaming:
            tallies = tallies | "Window" >> beam.WindowInto(window.FixedWindows(self._window_us / 1e6))
        return (tallies
                | "Merge" >> beam.CombinePerKey(_MergeTallies())
                | "Rows" >> beam.ParDo(_ToRow(self._window_us)))
