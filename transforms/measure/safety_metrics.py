"""Whether the road-chief system works: safety figures per period and per person answerable.

Incidents, accidents and their deaths and injuries, watchlist hits, and
dispatches with how fast officers acknowledged, arrived and resolved them,
counted per day, ISO week, month and any custom range, for the city (`all`),
each area type, town, segment and road chief. A fact on a segment counts for
every chief in that segment's chain, from its road manager to 总路长, so
each chief's row covers all the roads he answers for.

Each figure is set beside the same period a year earlier. A year-ago figure
is null where that input's data do not reach back to the start of that
period (no data is not zero); a key with data a year ago but none now gets a
row of zeros, because an incident that stopped happening is the point.

Medians and 90th percentiles interpolate linearly between the ordered times.
Arrivals are within target when on scene within the target of the segment's
area type (urban: 3 minutes, the public promise; rural: configurable); a
dispatch off the network is held to the rural target.

Like the camera metrics, records are tallied per bundle first, and a period's
tallies of every key travel together: one element per period and bundle
crosses the shuffles, not one per (period, key), of which two years of a
city's incidents make some 150,000.
"""
from datetime import date

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

from geo.shared import chain_at, world_at
from models.records import Hit, Incident, Response, SafetyMetric
from transforms.measure.metrics import ALL, UNPLACED, SlottedState
from transforms.measure.periods import RANGE, Calendar, Period, bounds, parse_range, shifted

DIMENSIONS = ("segment", "town", "area_type")
COVERAGE = "coverage"
SOURCES = {Incident: "incidents", Hit: "hits", Response: "responses"}
YEAR_AGO = {"incidents": "incidents", "accidents": "incidents", "deaths": "incidents",
            "injuries": "incidents", "hits": "hits", "dispatches": "responses",
            "interceptions": "responses"}
CHANGE = ("incidents", "accidents", "deaths", "injuries", "interceptions")


class SafetyTally(SlottedState):
    """Counts and response times for one period and key; tallies add up by `merge`."""
    __slots__ = ("incidents", "accidents", "deaths", "injuries", "hits", "dispatches", "resolved",
                 "interceptions", "false_hits", "acknowledge", "arrive", "resolve", "within_target")

    def __init__(self) -> None:
        self.incidents = self.accidents = self.deaths = self.injuries = self.hits = 0
        self.dispatches = self.resolved = self.interceptions = self.false_hits = 0
        self.within_target = 0
        self.acknowledge: list[float] = []
        self.arrive: list[float] = []
        self.resolve: list[float] = []

    def add(self, record, target_s: float) -> None:
        if isinstance(record, Incident):
            if record.kind == "traffic_accident":
                self.accidents += 1
            else:
                self.incidents += 1
            self.deaths += record.deaths
            self.injuries += record.injuries
        elif isinstance(record, Hit):
            self.hits += 1
        else:
            self._add_response(record, target_s)

    def _add_response(self, response: Response, target_s: float) -> None:
        self.dispatches += 1
        if response.result is not None:
            self.resolved += 1
            self.interceptions += response.result == "intercepted"
            self.false_hits += response.result == "false_hit"
            assert response.resolve_s is not None, "a result is timed from the dispatch"
            self.resolve.append(response.resolve_s)
        if response.acknowledge_s is not None:
            self.acknowledge.append(response.acknowledge_s)
        if response.arrive_s is not None:
            self.arrive.append(response.arrive_s)
            self.within_target += response.arrive_s <= target_s

    def merge(self, other: "SafetyTally") -> "SafetyTally":
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


def _at_us(record) -> int:
    if isinstance(record, Incident):
        return record.reported_at_us
    return record.captured_at_us if isinstance(record, Hit) else record.dispatched_at_us


class _TallyBundle(beam.DoFn):
    """Tally a bundle's facts per (period, dimension, key); note each input's time span."""

    def __init__(self, world_folder: str, custom: tuple, targets: dict[str, float]):
        self._world_folder = world_folder
        self._custom = custom
        self._targets = targets

    def setup(self):
        self._calendar = Calendar(world_at(self._world_folder).timezone, self._custom)
        self._chains = {segment: [chief.chief_id for chief in chain]
                        for segment, chain in chain_at(self._world_folder).items()}

    def start_bundle(self) -> None:
        self._tallies: dict = {}
        self._spans: dict = {}

    def keys(self, record) -> list[tuple[str, str]]:
        values = (record.segment_id, record.town, record.area_type)
        return ([(ALL, ALL)] + [(dim, value or UNPLACED) for dim, value in zip(DIMENSIONS, values)]
                + [("chief", chief) for chief in self._chains.get(record.segment_id, ())])

    def process(self, record):
        at_us = _at_us(record)
        source = SOURCES[type(record)]
        first, last = self._spans.get(source, (at_us, at_us))
        self._spans[source] = (min(first, at_us), max(last, at_us))
        target_s = self._targets.get(record.area_type, self._targets["rural"])
        keys = self.keys(record)
        for period in self._calendar.periods(at_us):
            tallies = self._tallies.setdefault(tuple(period), {})
            for key in keys:
                tally = tallies.get(key)
                if tally is None:
                    tally = tallies[key] = SafetyTally()
                tally.add(record, target_s)

    def finish_bundle(self):
        for period, tallies in self._tallies.items():
            yield GlobalWindows.windowed_value((period, tallies))
        for source, span in self._spans.items():
            yield beam.pvalue.TaggedOutput(COVERAGE, GlobalWindows.windowed_value((source, span)))
        self._tallies, self._spans = {}, {}


def _merge_tallies(period_tallies) -> dict:
    """A period's tallies from many bundles → one tally per key."""
    merged: dict = {}
    for tallies in period_tallies:
        for key, tally in tallies.items():
            mine = merged.get(key)
            if mine is None:
                mine = merged[key] = SafetyTally()
            mine.merge(tally)
    return merged


def _merge_spans(spans) -> tuple:
    spans = list(spans)
    return min(first for first, _ in spans), max(last for _, last in spans)


def _now_and_a_year_later(keyed):
    """A period's tallies as its own `now` and as the `ago` of the period a year later.

    Periods travel as plain (kind, label) tuples, which Beam encodes deterministically.
    """
    period, tallies = keyed
    yield period, ("now", tallies)
    later = shifted(Period(*period), 1)
    if later is not None:
        yield tuple(later), ("ago", tallies)


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between the ordered values (numpy's default method)."""
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _percentiles(values: list[float]) -> tuple:
    """Median and 90th percentile; in plain Python, as most lists hold a handful of times."""
    if not values:
        return None, None
    ordered = sorted(values)
    return round(_quantile(ordered, 0.5), 1), round(_quantile(ordered, 0.9), 1)


def _share(part: int, whole: int):
    return round(part / whole, 4) if whole else None


def _change_pct(now, ago):
    return round((now - ago) / ago * 100, 1) if ago else None


class _ToRow(beam.DoFn):
    """A period's SafetyMetrics, one per key, with the year-ago figures where the data reach."""

    def __init__(self, world_folder: str, custom_labels: frozenset):
        self._world_folder = world_folder
        self._custom_labels = custom_labels

    def setup(self):
        world = world_at(self._world_folder)
        self._calendar = Calendar(world.timezone)
        self._spans = None
        chiefs = world.chiefs
        self._names = {("chief", cid): f"{title} {name} · {unit}" for cid, title, name, unit
                       in zip(chiefs.index, chiefs["title"], chiefs["name"], chiefs["unit"])}
        self._names.update({("segment", sid): f"{road} ({town})" for sid, road, town
                            in zip(world.roads.index, world.roads["road_name"], world.roads["town"])})

    def process(self, keyed, coverage: dict):
        period, sides = keyed
        period, sides = Period(*period), dict(sides)
        now, ago = sides.get("now", {}), sides.get("ago", {})
        start, end = bounds(period)
        if self._spans is None:  # the same side input for every period
            self._spans = {source: tuple(self._calendar.local_date(us) for us in span)
                           for source, span in coverage.items()}
        spans = self._spans
        quiet = [key for key in ago if key not in now]  # data a year ago, none now
        if quiet and not self._worth_a_zero_row(period, start, spans):
            quiet = []
        reached = self._reached(period, spans)
        start_us, end_us = self._calendar.micros(start), self._calendar.micros(end)
        for pair in [*now, *quiet]:
            dimension, key = pair
            yield self._row(period, start_us, end_us, dimension, key, now.get(pair) or SafetyTally(),
                            self._year_ago(ago.get(pair), reached))

    def _worth_a_zero_row(self, period: Period, start: date, spans: dict) -> bool:
        """A key quiet now but not a year ago: only for periods the data reach and someone asked for."""
        if not spans or start > max(last for _, last in spans.values()):
            return False
        return period.kind != "custom" or period.label in self._custom_labels

    @staticmethod
    def _reached(period: Period, spans: dict) -> dict[str, bool]:
        """For each year-ago figure, whether its input's data reach back to the start of the
        same period a year earlier."""
        earlier = shifted(period, -1)
        earlier_start = bounds(earlier)[0] if earlier is not None else None
        return {figure: earlier_start is not None and source in spans and earlier_start >= spans[source][0]
                for figure, source in YEAR_AGO.items()}

    @staticmethod
    def _year_ago(ago, reached: dict[str, bool]) -> dict:
        ago = ago or SafetyTally()
        figures = {figure: getattr(ago, figure) if reached[figure] else None for figure in YEAR_AGO}
        figures["arrive_p50_s"] = _percentiles(ago.arrive)[0] if figures["dispatches"] is not None else None
        return figures

    def _row(self, period: Period, start_us: int, end_us: int, dimension: str, key: str,
             now: SafetyTally, year_ago: dict) -> SafetyMetric:
        acknowledge, arrive, resolve = (_percentiles(v) for v in (now.acknowledge, now.arrive, now.resolve))
        return SafetyMetric(
            period=period.kind, label=period.label, period_start_us=start_us,
            period_end_us=end_us, dimension=dimension, key=key,
            name=self._names.get((dimension, key)),
            incidents=now.incidents, accidents=now.accidents, deaths=now.deaths,
            injuries=now.injuries, hits=now.hits, dispatches=now.dispatches,
            resolved=now.resolved, interceptions=now.interceptions, false_hits=now.false_hits,
            interception_rate=_share(now.interceptions, now.resolved),
            acknowledge_p50_s=acknowledge[0], acknowledge_p90_s=acknowledge[1],
            arrive_p50_s=arrive[0], arrive_p90_s=arrive[1],
            resolve_p50_s=resolve[0], resolve_p90_s=resolve[1],
            arrivals=len(now.arrive), arrivals_within_target=now.within_target,
            within_target_share=_share(now.within_target, len(now.arrive)),
            **{f"{figure}_year_ago": value for figure, value in year_ago.items()},
            **{f"{figure}_change_pct": _change_pct(getattr(now, figure), year_ago[figure])
               for figure in CHANGE})


class SafetyMetrics(beam.PTransform):
    """(Incidents, Hits, Responses) → SafetyMetrics per period and key, with year-ago figures.

    `custom` holds (first day, last day) ranges to report beside the calendar
    periods; the range a year before each is added, so it has its comparison.
    `targets` maps area type (urban, rural) to the arrival target in seconds.
    """

    def __init__(self, world_folder: str, custom: tuple = (), targets: dict[str, float] | None = None):
        super().__init__()
        wanted = []
        for start, end in custom:
            wanted.append((start, end))
            earlier = shifted(Period("custom", f"{start}{RANGE}{end}"), -1)
            if earlier is not None:
                wanted.append(parse_range(earlier.label))
        ranges = tuple(dict.fromkeys(wanted))
        self._tally = _TallyBundle(world_folder, ranges, targets or {"urban": 180.0, "rural": 600.0})
        self._rows = _ToRow(world_folder, frozenset(f"{start}{RANGE}{end}" for start, end in ranges))

    def expand(self, inputs):
        facts = ([records | f"Global{i}" >> beam.WindowInto(GlobalWindows())
                  for i, records in enumerate(inputs)]
                 | "Together" >> beam.Flatten())
        tallied = facts | "TallyBundle" >> beam.ParDo(self._tally).with_outputs(COVERAGE, main="tallies")
        coverage = tallied[COVERAGE] | "Span" >> beam.CombinePerKey(_merge_spans)
        return (tallied.tallies
                | "Merge" >> beam.CombinePerKey(_merge_tallies)
                | "AndAYearLater" >> beam.FlatMap(_now_and_a_year_later)
                | "BesideAYearAgo" >> beam.GroupByKey()
                | "Rows" >> beam.ParDo(self._rows, beam.pvalue.AsDict(coverage)))
