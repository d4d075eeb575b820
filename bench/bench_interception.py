"""Does the interception plan reach more flagged vehicles than sending the nearest officers?

Flagged vehicles drive the sample world as `roadchief simulate` drives them:
a random walk that never turns back (except at a dead end), at 0.8–1.3 times
the road's free-flow time per segment, ±10%. A vehicle is flagged at a
camera sighting (its first, or its second, so the plan knows its direction),
at a random time of the demo's hour (08:00–09:00). For the same hit, the
same number of on-duty responders (`--k`) go either

- to the sighting, the nearest first (what a dispatch did before the plan), or
- to the plan's intercept stops (`geo.intercept`), one responder each.

A responder reaches the vehicle if he stands at a junction of its actual path
before it passes (at his destination, where he waits), or meets it head-on
on the way (he is at a junction before the vehicle and drives on down the road
it comes by). Reported: the share of vehicles reached, the median time from
the hit to contact, and the time to plan one hit.

    python bench/bench_interception.py [--vehicles 1000] [--k 3] [--seed 7]
"""
import argparse
import random
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo.intercept import Interceptor, Sighting  # noqa: E402
from geo.network import VEHICLE  # noqa: E402
from geo.responders import ResponderIndex  # noqa: E402
from geo.world import load_world  # noqa: E402
from pipelines.job.options import SAMPLE_WORLD  # noqa: E402

START = datetime.fromisoformat("2026-11-29T08:00:00+08:00")
STEPS = 60  # segments driven, at most: well past any plan's horizon
FOLLOW_S = 30 * 60  # how long after the hit a contact still counts


class Trip(NamedTuple):
    """A flagged vehicle: where it was seen, and when (s after the hit) it passes each junction after."""
    sightings: list[Sighting]
    passes: dict[int, float]  # node → first time after the hit
    came_by: dict[int, int]  # node → the edge it arrives on
    area_type: str  # of the road it was flagged on


def drive(interceptor: Interceptor, area_types: list[str], rnd: random.Random, seen_at: int) -> Trip | None:
    """One flagged vehicle's trip, flagged at its `seen_at`-th camera sighting (1-based)."""
    network = interceptor.network
    edge = rnd.randrange(len(network.edges))
    if not network.usable(edge, VEHICLE):
        return None
    pace = 0.8 + 0.5 * rnd.random()
    hit_us = round((START.timestamp() + 3600 * rnd.random()) * 1e6)
    t, sightings, hit_t, area_type = 0.0, [], None, ""
    passes: dict[int, float] = {}
    came_by: dict[int, int] = {}
    for _ in range(STEPS):
        dt = network.edge_s(edge, VEHICLE) * pace * (0.9 + 0.2 * rnd.random())
        for share, camera, _ in interceptor.cameras_on[edge]:
            if hit_t is None:
                lon, lat = interceptor.camera_lonlat[camera]
                sightings.append((t + share * dt, lon, lat))
                if len(sightings) == seen_at:
                    hit_t, area_type = t + share * dt, area_types[network.edges[edge].segment]
        t += dt
        head = network.edges[edge].head
        if hit_t is not None and head not in passes:
            passes[head], came_by[head] = t - hit_t, edge
        options = [e for e in network.leaving[head] if e != edge ^ 1 and network.usable(e, VEHICLE)]
        edge = rnd.choice(options) if options else edge ^ 1
    if hit_t is None:
        return None
    seen = [Sighting(lon, lat, hit_us + round((s - hit_t) * 1e6)) for s, lon, lat in sightings]
    return Trip(seen, {n: s for n, s in passes.items() if s <= FOLLOW_S}, came_by, area_type)


def contact_s(responders: ResponderIndex, r: int, route: list[int], trip: Trip, waits: bool) -> float | None:
    """When (s after the hit) responder r, leaving at the hit along `route` (and waiting at its
    end if `waits`), meets the vehicle."""
    network = responders.network
    for i, node in enumerate(route):
        vehicle_s = trip.passes.get(node)
        if vehicle_s is None or responders.node_s[r, node] > vehicle_s:
            continue
        waits_here = waits and i == len(route) - 1
        head_on = i + 1 < len(route) and network.edges[trip.came_by[node]].tail == route[i + 1]
        if waits_here or head_on:
            return vehicle_s
    return None


def nearest_to_sighting(responders: ResponderIndex, trip: Trip, k: int) -> float | None:
    """The k nearest on-duty responders head for the sighting: the first contact, if any."""
    network, last = responders.network, trip.sightings[-1]
    at = network.locate(*responders.to_metric.transform(last.lon, last.lat))
    on_duty = responders.on_duty(last.at_us).nonzero()[0]
    seconds, _ = responders.to_place(at, on_duty)
    ends = [network.edges[e].tail for e in network.edges_of(at.segment)]
    contacts = []
    for i in seconds.argsort()[:k]:
        r = on_duty[i]
        # to the end of the sighting's segment that is faster for him, then along it
        end, other = sorted(ends, key=lambda n: responders.node_s[r, n])
        contacts.append(contact_s(responders, r, responders.route(r, end) + [other], trip, waits=False))
    found = [c for c in contacts if c is not None]
    return min(found) if found else None


class Planner:
    """Plans each hit and sends each stop's responder to it."""

    def __init__(self, world, interceptor: Interceptor):
        self.interceptor = interceptor
        self.row_of = {str(rid): i for i, rid in enumerate(world.responders.index)}
        self.node_at = {(round(lon, 6), round(lat, 6)): n
                        for n, (lon, lat) in enumerate(interceptor.network.node_lonlat)}

    def contact(self, trip: Trip, k: int) -> tuple[float | None, float]:
        """The first contact, if any, and the time planning took."""
        began = time.perf_counter()
        plan = self.interceptor.plan(trip.sightings, k)
        took = time.perf_counter() - began
        responders = self.interceptor.responders
        contacts = []
        for stop in plan.stops:
            if stop.kind == "intercept":
                r, node = self.row_of[stop.responders[0].responder_id], self.node_at[(stop.lon, stop.lat)]
                contacts.append(contact_s(responders, r, responders.route(r, node), trip, waits=True))
        found = [c for c in contacts if c is not None]
        return (min(found) if found else None), took


def summary(name: str, contacts: list[float | None]) -> str:
    reached = [c for c in contacts if c is not None]
    median = f"{statistics.median(reached) / 60:.1f} min" if reached else "-"
    return f"{name:<28} reached {len(reached):>5} of {len(contacts)} ({len(reached) / len(contacts):.0%}),"\
           f" median time to contact {median}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--k", type=int, default=3, help="responders sent per hit, either way")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    world = load_world(SAMPLE_WORLD)
    responders = ResponderIndex(world)
    interceptor = Interceptor(world, responders)
    planner = Planner(world, interceptor)
    for seen_at in (1, 2):
        rnd = random.Random(f"bench-interception/{args.seed}/{seen_at}")
        trips: list[Trip] = []
        while len(trips) < args.vehicles:
            trip = drive(interceptor, list(world.roads["area_type"]), rnd, seen_at)
            if trip is not None:
                trips.append(trip)
        nearest = [nearest_to_sighting(responders, trip, args.k) for trip in trips]
        plans = [planner.contact(trip, args.k) for trip in trips]
        took_ms = sorted(1000 * took for _, took in plans)
        print(f"flagged at sighting {seen_at}, {args.k} responders per hit, {args.vehicles} vehicles:")
        for area in ("all", "urban", "rural"):
            chosen = [i for i, trip in enumerate(trips) if area in ("all", trip.area_type)]
            print(f"  {area} ({len(chosen)} vehicles)")
            print("    " + summary("nearest to the sighting", [nearest[i] for i in chosen]))
            print("    " + summary("interception plan", [plans[i][0] for i in chosen]))
        print(f"  plan time per hit: median {statistics.median(took_ms):.1f} ms,"
              f" 95th percentile {took_ms[int(0.95 * len(took_ms))]:.1f} ms")


if __name__ == "__main__":
    main()
