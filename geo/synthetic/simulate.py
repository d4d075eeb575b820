"""Seeded traffic over a world's roads, written as camera events (JSON Lines).

Vehicles enter the network at random times, drive a random walk over the road
graph and are seen by the cameras beside the segments they drive.  Each
sighting becomes one line of the camera-event contract (shared/DESIGN.md),
with the faults real feeds have: misread plates, missing reads, duplicate
deliveries and malformed lines.  A sidecar ``<out>.truth.csv`` says, line by
line, what really happened, so tests and benchmarks can score the pipeline.

Streaming, not buffering: all sightings of a vehicle are known the moment it
enters (its whole trip is drawn then), and vehicles enter in time order, so
every pending sighting earlier than the next vehicle's entry can be written.
The pending heap therefore only holds the sightings of vehicles still on the
road (plus duplicates waiting to be re-sent): memory follows the traffic, not
the number of events.  ``SimulationSummary.max_pending`` reports its peak.
"""

from __future__ import annotations

import csv
import heapq
import itertools
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import geopandas
import numpy as np
import shapely

from geo.synthetic.build_world import random_plates
from geo.world import World
from models.plate_rules import CONFUSABLE

MAX_CAMERA_DISTANCE_M = 50  # a fixed camera farther than this from every road is not placed
MAX_STEPS = 40  # segments in one trip, at most
MEAN_STEPS = 12
MOBILE_SHARE = 0.1  # share of trips seen once by a mobile camera
SAMPLES = 9  # points kept along each segment, to place mobile sightings
LANES = {"expressway": 3, "arterial": 3, "collector": 2}
DUPLICATE, PASSING = 0, 1  # kinds of pending heap items

ImageWriter = Callable[[str, str, Path], None]


@dataclass(frozen=True)
class SimulationSummary:
    """What one run wrote. ``lines`` equals the ``events`` asked for."""

    lines: int
    vehicles: int
    ok: int
    ocr_errors: int
    missing: int
    duplicates: int
    malformed: int
    watchlisted_passings: int
    max_pending: int
    max_trip_s: float
    elapsed_s: float

    @property
    def events_per_s(self) -> float:
        return self.lines / self.elapsed_s if self.elapsed_s else float("inf")


class _Roads:
    """The road graph as plain Python lists, indexed by directed edge.

    Segment i gives directed edges 2i (first to last point) and 2i + 1 (back),
    so ``d ^ 1`` is the U-turn.  Nodes are the segments' end coordinates.
    """

    def __init__(self, world: World):
        roads = world.roads
        metric = roads.geometry.to_crs(world.metric_crs)
        lengths = metric.length.to_numpy()
        speeds = roads["speed_kmh"].to_numpy(dtype=float)
        ends = [(line.coords[0], line.coords[-1]) for line in roads.geometry]
        keys: dict[tuple[float, float], int] = {}
        start = [keys.setdefault((round(x, 7), round(y, 7)), len(keys))
                 for pair in ends for x, y in pair]  # node where directed edge d starts
        edges = range(len(start))
        leaving: list[list[int]] = [[] for _ in keys]
        for d in edges:
            leaving[start[d]].append(d)
        # Where edge d may go next: any edge leaving its end (start[d ^ 1]) but
        # the U-turn, unless the road ends there.
        self.options = [tuple(e for e in leaving[start[d ^ 1]] if e != d ^ 1) or (d ^ 1,) for d in edges]
        self.base_s = [lengths[d // 2] / speeds[d // 2] * 3.6 for d in edges]
        self.length_kmh = [lengths[d // 2] * 3.6 for d in edges]
        self.lanes = [LANES.get(c, 1) for c in roads["road_class"] for _ in (0, 1)]
        first, last = shapely.get_point(metric, 0), shapely.get_point(metric, -1)
        dx = shapely.get_x(last) - shapely.get_x(first)
        dy = shapely.get_y(last) - shapely.get_y(first)
        forward = np.degrees(np.arctan2(dx, dy)) % 360
        self.bearing = [int(b + 180 * back) % 360 for b in forward for back in (0, 1)]
        fractions = np.linspace(0, 1, SAMPLES)
        points = shapely.line_interpolate_point(
            roads.geometry.to_numpy()[:, None], fractions[None, :], normalized=True)
        self.samples = [list(zip(shapely.get_x(row), shapely.get_y(row))) for row in points]
        self.cameras = self._fixed_cameras(world, metric)
        self.mobile = self._mobile_cameras(world)
        self.max_trip_s = float(MAX_STEPS * max(self.base_s) * 1.3 * 1.1)  # slowest driver, worst noise

    def _fixed_cameras(self, world: World, metric: geopandas.GeoSeries) -> list[tuple]:
        """Per directed edge: (fraction along it, quoted camera id), in driving order."""
        fixed = world.cameras[world.cameras["defence_layer"] != "mobile"]
        points = geopandas.GeoSeries(geopandas.points_from_xy(fixed["lon"], fixed["lat"]),
                                     index=fixed.index, crs="EPSG:4326").to_crs(world.metric_crs)
        lines = geopandas.GeoDataFrame(geometry=metric.reset_index(drop=True))
        near = geopandas.sjoin_nearest(geopandas.GeoDataFrame(geometry=points), lines,
                                       max_distance=MAX_CAMERA_DISTANCE_M, how="inner")
        near = near[~near.index.duplicated()]  # a camera equidistant from two segments
        on_edge: list[list[tuple[float, str]]] = [[] for _ in range(2 * len(metric))]
        for camera_id, seg in zip(near.index, near["index_right"]):
            frac = float(metric.iloc[seg].project(points[camera_id], normalized=True))
            quoted = json.dumps(camera_id, ensure_ascii=False)
            on_edge[2 * seg].append((frac, quoted))
            on_edge[2 * seg + 1].append((1 - frac, quoted))
        return [tuple(sorted(cams)) for cams in on_edge]

    def _mobile_cameras(self, world: World) -> list[tuple[str, ...]]:
        """Per segment: the mobile cameras of its town (or all of them)."""
        mobile = world.cameras[world.cameras["defence_layer"] == "mobile"]
        everywhere = tuple(json.dumps(c, ensure_ascii=False) for c in mobile.index)
        by_town = {town: tuple(json.dumps(c, ensure_ascii=False) for c in group.index)
                   for town, group in mobile.groupby("town")}
        return [by_town.get(town, everywhere) for town in world.roads["town"]]


class _Vehicle(NamedTuple):
    plate: str
    colour: str
    quoted: str  # the plate as a JSON string
    truth: str  # "plate,watchlisted" for the truth sidecar
    watchlisted: bool


class _Fleet:
    """Plates for new vehicles: a share from the watchlist, the rest random."""

    def __init__(self, world: World, seed: int, on: date, watchlisted_share: float):
        with world.watchlist_path.open(encoding="utf-8", newline="") as f:
            entries = [(r["plate"], r["plate_color"], r["valid_from"] <= on.isoformat() <= r["valid_to"])
                       for r in csv.DictReader(f)]
        self.listed = {plate for plate, _, _ in entries}
        self.valid = [(p, c) for p, c, ok in entries if ok]
        self.any = [(p, c) for p, c, _ in entries]
        self.share = watchlisted_share
        self.rng = np.random.default_rng([seed, 1])
        self.pick = random.Random(f"fleet/{seed}").random
        self.batch: list[tuple[str, str]] = []

    def next(self) -> _Vehicle:
        r = self.pick
        if self.any and r() < self.share:
            pool = self.valid if self.valid and r() < 0.9 else self.any
            plate, colour = pool[int(r() * len(pool))]
        else:
            while not self.batch:
                self.batch = [pc for pc in random_plates(self.rng, 4096) if pc[0] not in self.listed]
                self.batch.reverse()
            plate, colour = self.batch.pop()
        listed = plate in self.listed
        truth = _csv_field(plate) + (",1" if listed else ",0")
        return _Vehicle(plate, colour, json.dumps(plate, ensure_ascii=False), truth, listed)


def _csv_field(value: str) -> str:
    """value as one CSV field, quoted only if it must be."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


class _Clock:
    """ISO-8601 local time with offset and milliseconds, cached per second."""

    def __init__(self, start: datetime, timezone: str):
        self.epoch = start.timestamp()
        self.zone = ZoneInfo(timezone)
        self.second: int | None = None
        self.prefix = self.offset = ""

    def iso(self, t: float) -> str:
        epoch = self.epoch + t
        second = math.floor(epoch)
        if second != self.second:
            stamp = datetime.fromtimestamp(second, self.zone).isoformat()
            self.second, self.prefix, self.offset = second, stamp[:19], stamp[19:]
        return f"{self.prefix}.{min(999, int((epoch - second) * 1000)):03d}{self.offset}"


def simulate(world: World, out_path: Path, *, events: int, start: datetime, duration_s: float,
             seed: int, watchlisted_share: float = 0.01, ocr_error_rate: float = 0.03,
             missing_read_rate: float = 0.02, duplicate_rate: float = 0.005,
             malformed_rate: float = 0.001,
             image_writer: ImageWriter | None = None,
             progress: Callable[[int], None] | None = None) -> SimulationSummary:
    """Write exactly ``events`` lines of camera events to out_path, and their truth.

    Counting rule: ``events`` is the number of lines in the file, whatever
    they are: sightings (ok, misread or missing), duplicate deliveries and
    malformed lines all count.  Each line has one row in ``<out>.truth.csv``,
    in the same order.  Rates are per line: a sighting is a missing read with
    probability ``missing_read_rate``, else misread with ``ocr_error_rate``;
    it is re-sent 0.5-20 s later with ``duplicate_rate``, and a malformed line
    (a broken copy with its own id) precedes it with ``malformed_rate``.

    Vehicles enter during [start, start + duration_s); a trip lasts at most
    ``max_trip_s`` (in the summary), so every well-formed line's captured_at
    lies in [start, start + duration_s + max_trip_s].  Lines are in event-time
    order except duplicates.  Missing reads carry no plate; with image_writer
    they carry an image written under ``<out stem>_images/`` beside the file.
    ``progress``, if given, is told the lines written so far as they grow.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if events < 0 or duration_s <= 0:
        raise ValueError("events must be >= 0 and duration_s > 0")
    began = time.perf_counter()
    out_path = Path(out_path)
    roads = _Roads(world)
    if not any(roads.cameras) and not any(roads.mobile):
        raise ValueError(f"{world.folder}: no camera lies within {MAX_CAMERA_DISTANCE_M} m of a road")
    fleet = _Fleet(world, seed, start.astimezone(ZoneInfo(world.timezone)).date(), watchlisted_share)
    rnd = random.Random(f"traffic/{seed}")
    with out_path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as lines, \
            Path(f"{out_path}.truth.csv").open("w", encoding="utf-8", newline="\n",
                                                buffering=1 << 20) as truth:
        truth.write("event_id,true_plate,watchlisted,kind\n")
        traffic = _Traffic(roads, fleet, rnd)
        writer = _Writer(lines, truth, roads, _Clock(start, world.timezone), rnd, traffic.order,
                         events, (ocr_error_rate, missing_read_rate, duplicate_rate, malformed_rate),
                         image_writer, out_path)
        t = 0.0
        while writer.written < events:
            remaining = events - writer.written - len(traffic.pending)
            if remaining <= 0:  # what is on the road already fills the file
                writer.flush(traffic.pending, math.inf)
                break
            # Next entry: the first of the vehicles still expected, spread
            # uniformly over what is left of the window (order statistics).
            expected = max(1, math.ceil(remaining / traffic.per_vehicle()))
            t += (duration_s - t) * (1 - (1 - rnd.random()) ** (1 / expected))
            writer.flush(traffic.pending, t)
            if progress:
                progress(writer.written)
            if writer.written < events:
                traffic.spawn(t)
    c = writer.counts
    return SimulationSummary(
        lines=writer.written, vehicles=traffic.vehicles, ok=c["ok"], ocr_errors=c["ocr_error"],
        missing=c["missing"], duplicates=c["duplicate"], malformed=c["malformed"],
        watchlisted_passings=writer.watchlisted, max_pending=traffic.max_pending,
        max_trip_s=roads.max_trip_s, elapsed_s=time.perf_counter() - began)


class _Traffic:
    """Draws whole trips and keeps their sightings in a heap until written."""

    def __init__(self, roads: _Roads, fleet: _Fleet, rnd: random.Random):
        self.roads, self.fleet, self.rnd = roads, fleet, rnd
        self.pending: list[tuple] = []
        self.order = itertools.count()  # ties in time keep their drawing order
        self.vehicles = self.sightings = self.max_pending = 0

    def per_vehicle(self) -> float:
        return self.sightings / self.vehicles if self.sightings else 1.0

    def spawn(self, t: float) -> None:
        """One vehicle's trip from time t: a random walk without U-turns."""
        roads, pending, order, push, r = self.roads, self.pending, self.order, heapq.heappush, self.rnd.random
        base_s, cameras, options = roads.base_s, roads.cameras, roads.options
        vehicle = self.fleet.next()
        pace = 0.8 + 0.5 * r()  # > 1: a slow driver
        steps = min(MAX_STEPS, 3 + int(self.rnd.expovariate(1 / (MEAN_STEPS - 3))))
        mobile_step = int(r() * steps) if r() < MOBILE_SHARE else -1
        d = int(r() * len(options))
        before = len(pending)
        for step in range(steps):
            dt = base_s[d] * pace * (0.9 + 0.2 * r())
            for frac, camera in cameras[d]:
                push(pending, (t + frac * dt, next(order), PASSING, vehicle, camera, d,
                               roads.length_kmh[d] / dt, None))
            if step == mobile_step and roads.mobile[d // 2]:
                push(pending, self._mobile_sighting(t, dt, d, vehicle))
            t += dt
            choices = options[d]
            d = choices[int(r() * len(choices))]
        self.vehicles += 1
        self.sightings += len(pending) - before
        self.max_pending = max(self.max_pending, len(pending))

    def _mobile_sighting(self, t: float, dt: float, d: int, vehicle: _Vehicle) -> tuple:
        """A patrol car or drone of the town sees the vehicle somewhere along edge d."""
        r, roads = self.rnd.random, self.roads
        cams = roads.mobile[d // 2]
        u = r()
        lon, lat = roads.samples[d // 2][round((u if d % 2 == 0 else 1 - u) * (SAMPLES - 1))]
        spot = (lon + (r() - 0.5) * 2.4e-4, lat + (r() - 0.5) * 2.2e-4)  # about ±12 m
        return (t + u * dt, next(self.order), PASSING, vehicle, cams[int(r() * len(cams))], d,
                roads.length_kmh[d] / dt, spot)


class _Writer:
    """Turns pending sightings into lines (with their faults) and truth rows."""

    def __init__(self, lines, truth, roads: _Roads, clock: _Clock, rnd: random.Random,
                 order: itertools.count, limit: int, rates: tuple[float, float, float, float],
                 image_writer: ImageWriter | None, out_path: Path):
        self.lines, self.truth, self.roads, self.clock = lines, truth, roads, clock
        self.rnd, self.order, self.limit = rnd, order, limit
        self.ocr, self.missing, self.duplicate, self.malformed = rates
        self.image_writer = image_writer
        self.images = out_path.parent / f"{out_path.stem}_images"
        if image_writer is not None:
            self.images.mkdir(exist_ok=True)
        self.written = self.watchlisted = 0
        self.counts = dict.fromkeys(("ok", "ocr_error", "missing", "duplicate", "malformed"), 0)

    def flush(self, pending: list[tuple], until: float) -> None:
        """Write pending items earlier than ``until``, stopping at the line limit."""
        pop, r = heapq.heappop, self.rnd.random
        while pending and pending[0][0] < until and self.written < self.limit:
            item = pop(pending)
            vehicle = item[3]
            if item[2] == DUPLICATE:
                self._emit(item[4], item[5], vehicle, "duplicate")
                continue
            if r() < self.malformed:
                event_id = self._next_id()
                self._emit(event_id, _malform(self._line(event_id, item, "ok"), r), vehicle, "malformed")
                if self.written >= self.limit:
                    break
            u = r()
            kind = ("missing" if u < self.missing else
                    "ocr_error" if u < self.missing + self.ocr else "ok")
            if kind == "ocr_error" and not any(c in CONFUSABLE for c in vehicle.plate[1:]):
                kind = "ok"  # nothing on this plate can be misread
            event_id = self._next_id()
            line = self._line(event_id, item, kind)
            self._emit(event_id, line, vehicle, kind)
            self.watchlisted += vehicle.watchlisted
            if r() < self.duplicate:  # the same bytes again, 0.5-20 s later
                heapq.heappush(pending, (item[0] + 0.5 + 19.5 * r(), next(self.order), DUPLICATE,
                                         vehicle, event_id, line))

    def _next_id(self) -> str:
        """A new event is named after its line number (0-based); duplicates keep theirs."""
        return f"ev-{self.written:09d}"

    def _emit(self, event_id: str, line: str, vehicle: _Vehicle, kind: str) -> None:
        self.lines.write(line)
        self.truth.write(f"{event_id},{vehicle.truth},{kind}\n")
        self.counts[kind] += 1
        self.written += 1

    def _line(self, event_id: str, item: tuple, kind: str) -> str:
        """One event line for a sighting, as the camera would send it."""
        t, _, _, vehicle, camera, d, kmh, spot = item
        r, roads = self.rnd.random, self.roads
        if kind == "ok":
            read = f'"plate":{vehicle.quoted},"plate_confidence":{0.88 + 0.115 * r():.3f},'
        elif kind == "ocr_error":
            misread = json.dumps(_misread(vehicle.plate, self.rnd), ensure_ascii=False)
            read = f'"plate":{misread},"plate_confidence":{0.55 + 0.3 * r():.3f},'
        elif self.image_writer is not None:
            self.image_writer(vehicle.plate, vehicle.colour, self.images / f"{event_id}.jpg")
            read = f'"image":"{self.images.name}/{event_id}.jpg","image_kind":"frame",'
        else:
            read = ""
        where = f',"lon":{spot[0]:.6f},"lat":{spot[1]:.6f}' if spot else ""
        return (f'{{"event_id":"{event_id}","camera_id":{camera},"captured_at":"{self.clock.iso(t)}",'
                f'{read}"plate_color":"{vehicle.colour}","heading_deg":{roads.bearing[d]},'
                f'"speed_kmh":{kmh:.1f},"lane":{1 + int(r() * roads.lanes[d])}{where}}}\n')


def _misread(plate: str, rnd: random.Random) -> str:
    """The plate with one (sometimes two) characters swapped for another of their
    confusion class (`models.plate_rules`), as cameras misread them.

    The province character is never touched.
    """
    chars = list(plate)
    spots = [i for i in range(1, len(chars)) if chars[i] in CONFUSABLE]
    for i in rnd.sample(spots, min(len(spots), 2 if rnd.random() < 0.2 else 1)):
        chars[i] = rnd.choice(CONFUSABLE[chars[i]])
    return "".join(chars)


def _malform(line: str, r: Callable[[], float]) -> str:
    """A broken copy of a good line, in one of the ways feeds break."""
    body = json.loads(line)
    way = int(r() * 6)
    if way == 0:  # cut off mid-write
        return line[: 10 + int(r() * (len(line) - 20))] + "\n"
    if way == 1:  # not JSON at all: Python-style quoting
        return line.replace('"', "'")
    if way == 2:
        del body["camera_id"]
    elif way == 3:
        body["camera_id"] = f"QH-UNKNOWN-{int(r() * 1000):03d}"
    elif way == 4:
        body["captured_at"] = "2099" + body["captured_at"][4:]
    else:
        body["speed_kmh"] = f"{body['speed_kmh']:.0f} km/h"
        body["lane"] = "left"
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"
