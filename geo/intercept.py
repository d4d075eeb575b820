"""Where to meet a flagged vehicle: its likely paths, and the stops responders can reach first.

From the sightings of one incident the vehicle is put on a directed road: the
direction in which the last two sightings are fastest to join up (one
sighting: either way, even odds), at the pace they imply (one sighting: the
road's speed). From there its paths branch at every junction, for
`HORIZON_S`: it keeps to its road, turns onto a main road, or takes a side
street, with odds in that order (`turns`), never turning back; a
branch less likely than `MIN_BRANCH` is dropped. A dead end is where the
vehicle leaves the area.

A stop is a junction on those paths that an on-duty responder reaches a
safety margin before the vehicle. Stops are chosen greedily, one responder
each, each time the one that catches the most of the paths not yet caught,
so two responders do not wait on the same branch; `chance` is the share of
the paths some stop catches. Paths that no stop catches and that leave the
area get a handover stop: the border checkpoint they pass on the way out,
where the next jurisdiction takes over (the outermost defence line).
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np

from geo.network import VEHICLE, OnRoad, RoadNetwork
from geo.responders import ResponderIndex
from models.records import Intercept

HORIZON_S = 15 * 60
MARGIN_S = 60.0  # a responder is in place this long before the vehicle: time to set up the stop
MIN_BRANCH = 0.02
MAIN_ROADS = {"expressway", "arterial"}
KEEP_ROAD, MAIN_ROAD = 3.0, 2.0  # odds of keeping to the road, of turning onto a main road, against 1
SAME_PLACE_M = 20.0
CAMERA_REACH_M = 50.0  # a fixed camera farther from every road confirms no passage (as --max_camera_distance_m)
DIRECTION_TRUST = 0.85  # two sightings give the right direction this often (bench/bench_interception.py)
PACE_LIMITS = (0.5, 1.5)  # observed speed over the road's, as far as two sightings are trusted
COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


class Sighting(NamedTuple):
    lon: float
    lat: float
    at_us: int


class Branch(NamedTuple):
    """One way the vehicle may go: the junctions it passes, when (s after the last sighting),
    over which edge it comes to each, and its probability. `exits`: it leaves the area at the end."""
    nodes: list[int]
    seconds: list[float]
    via: list[int]
    probability: float
    exits: bool


class _FirstPasses(NamedTuple):
    """Each branch's first pass of each junction on it, branch by branch: when (s) and the
    branch's probability, as parallel arrays that every choice of a stop filters. `junctions`
    are the distinct nodes passed, and `column` each pass's junction as an index into them."""
    branch: np.ndarray
    node: np.ndarray
    seconds: np.ndarray
    probability: np.ndarray
    junctions: np.ndarray
    column: np.ndarray

    @classmethod
    def of(cls, branches: list[Branch]) -> _FirstPasses:
        branch_of: list[int] = []
        nodes: list[int] = []
        seconds: list[float] = []
        for i, branch in enumerate(branches):
            if len(set(branch.nodes)) == len(branch.nodes):  # most branches pass a junction once
                branch_of += [i] * len(branch.nodes)
                nodes += branch.nodes
                seconds += branch.seconds
                continue
            seen: set[int] = set()
            for node, s in zip(branch.nodes, branch.seconds):
                if node not in seen:
                    seen.add(node)
                    branch_of.append(i)
                    nodes.append(node)
                    seconds.append(s)
        passed = np.array(nodes, dtype=int)
        junctions = np.unique(passed)
        return cls(np.array(branch_of, dtype=int), passed, np.array(seconds, dtype=float),
                   np.array([branch.probability for branch in branches], dtype=float),
                   junctions, np.searchsorted(junctions, passed))


class Plan(NamedTuple):
    stops: list[Intercept]
    chance: float
    speed_kmh: Optional[float]


def compass(dx: float, dy: float) -> str:
    """The compass point of a direction given east and north."""
    return COMPASS[round(math.degrees(math.atan2(dx, dy)) / 45) % 8]


class Interceptor:
    """Plans stops for an incident's sightings over one world's network and responders."""

    def __init__(self, world, responders: ResponderIndex, margin_s: float = MARGIN_S):
        self.network: RoadNetwork = responders.network
        self.responders = responders
        self.margin_s = margin_s
        network = self.network
        names: list[set[str]] = [set() for _ in range(network.nodes)]
        for edge in network.edges:
            names[edge.tail].add(network.road_names[edge.segment])
        self.place_names = ["/".join(sorted(n)) for n in names]
        self.cameras_on = self._cameras_on_edges(world)
        self.camera_names = {str(c): str(n) for c, n in world.cameras["name"].items()}
        self.camera_lonlat = {str(c): (lon, lat) for c, lon, lat in
                              zip(world.cameras.index, world.cameras.lon, world.cameras.lat)}
        self._turns: dict[int, list[tuple[int, float]]] = {}
        self._ways: dict[int, list[tuple[int, float, int, float]]] = {}

    def _cameras_on_edges(self, world) -> list[list[tuple[float, str, str]]]:
        """Per edge: (share of the edge before it, camera id, defence layer) of the fixed
        cameras beside it, in driving order."""
        network = self.network
        on_edge: list[list[tuple[float, str, str]]] = [[] for _ in network.edges]
        fixed = world.cameras[world.cameras["defence_layer"] != "mobile"]
        x, y = self.responders.to_metric.transform(fixed.lon.to_numpy(float), fixed.lat.to_numpy(float))
        for camera_id, layer, at in zip(fixed.index, fixed["defence_layer"], network.locate_all(x, y)):
            if at.offset_m <= CAMERA_REACH_M:
                for e in network.edges_of(at.segment):
                    on_edge[e].append((network.along(e, at.fraction), str(camera_id), str(layer)))
        return [sorted(cameras) for cameras in on_edge]

    def place(self, sighting: Sighting) -> OnRoad:
        return self.network.locate(*self.responders.to_metric.transform(sighting.lon, sighting.lat))

    def heading(self, sightings: list[Sighting], last: OnRoad) -> tuple[list[tuple[int, float]], float]:
        """(edge, probability) the vehicle is on at its last sighting (placed at `last`), and its pace."""
        network = self.network
        edges = [e for e in network.edges_of(last.segment) if network.usable(e, VEHICLE)]
        earlier = self._seen_before(sightings, last)
        if earlier is None or len(edges) < 2:
            return [(e, 1.0 / len(edges)) for e in edges], 1.0
        seen_before, before = earlier
        if before.segment == last.segment:
            forward = last.fraction >= before.fraction
            free_s = abs(last.fraction - before.fraction) * network.edge_s(edges[0], VEHICLE)
            best = edges[0] if forward else edges[1]
        else:
            slowest_s = (sightings[-1].at_us - seen_before.at_us) / 1e6 / PACE_LIMITS[0]
            seconds, _ = network.times(network.seeds_from(before, VEHICLE, math.inf), VEHICLE,
                                       limit_s=slowest_s + network.edge_s(edges[0], VEHICLE))
            reach = {e: seconds[network.edges[e].tail] + network.along(e, last.fraction) * network.edge_s(e, VEHICLE)
                     for e in edges}
            best = min(reach, key=lambda e: reach[e])
            free_s = reach[best]
        taken_s = (sightings[-1].at_us - seen_before.at_us) / 1e6
        pace = min(max(free_s / taken_s, PACE_LIMITS[0]), PACE_LIMITS[1]) if math.isfinite(free_s) else 1.0
        return [(best, DIRECTION_TRUST), (best ^ 1, 1 - DIRECTION_TRUST)], pace

    def _seen_before(self, sightings: list[Sighting], last: OnRoad) -> Optional[tuple[Sighting, OnRoad]]:
        """The latest sighting earlier than the last and not at the same place (None if there is
        none): the one that gives the direction. Searched from the end, so that only the
        sightings up to it are placed on the roads."""
        for sighting in reversed(sightings[:-1]):
            if sighting.at_us < sightings[-1].at_us:
                at = self.place(sighting)
                if not self._same_place(at, last):
                    return sighting, at
        return None

    def _same_place(self, a: OnRoad, b: OnRoad) -> bool:
        """Within SAME_PLACE_M along one segment: a vehicle seen twice there shows no direction."""
        return a.segment == b.segment and abs(a.fraction - b.fraction) * self.network.length_m[a.segment] < SAME_PLACE_M

    def turns(self, e: int) -> list[tuple[int, float]]:
        """The ways on from the end of edge e, never back, with their odds: keep to the road, a
        main road, any other. Worked out once per edge: every branch through it asks again."""
        turns = self._turns.get(e)
        if turns is None:
            network = self.network
            options = [o for o in network.leaving[network.edges[e].head]
                       if o != e ^ 1 and network.usable(o, VEHICLE)]
            road = network.road_names[network.edges[e].segment]
            weights = [KEEP_ROAD if network.road_names[network.edges[o].segment] == road else
                       MAIN_ROAD if network.road_classes[network.edges[o].segment] in MAIN_ROADS else 1.0
                       for o in options]
            total = sum(weights)
            turns = self._turns[e] = [(o, weight / total) for o, weight in zip(options, weights)]
        return turns

    def _ways_on(self, e: int) -> list[tuple[int, float, int, float]]:
        """`turns(e)` with each way's head node and the vehicle's seconds along it at road
        speed: all that `branches` looks up per step, once per edge."""
        ways = self._ways.get(e)
        if ways is None:
            network = self.network
            ways = self._ways[e] = [(o, w, network.edges[o].head, network.edge_s(o, VEHICLE))
                                    for o, w in self.turns(e)]
        return ways

    def branches(self, e: int, fraction: float, pace: float, probability: float) -> list[Branch]:
        """Every way on from `fraction` along edge e's segment, within the horizon."""
        network = self.network
        out: list[Branch] = []
        first_s = (1 - network.along(e, fraction)) * network.edge_s(e, VEHICLE) / pace
        stack = [([network.edges[e].head], [first_s], [e], probability)]
        while stack:
            nodes, seconds, via, p = stack.pop()
            ways = self._ways_on(via[-1])
            if not ways or seconds[-1] >= HORIZON_S:
                out.append(Branch(nodes, seconds, via, p, exits=not ways))
                continue
            kept = [way for way in ways if p * way[1] >= MIN_BRANCH]
            if not kept:
                out.append(Branch(nodes, seconds, via, p, exits=False))
            for o, w, head, edge_s in kept:
                stack.append((nodes + [head], seconds + [seconds[-1] + edge_s / pace], via + [o], p * w))
        return out

    def plan(self, sightings: list[Sighting], k: int) -> Plan:
        """Up to k intercept stops (one responder each), and handovers at the border."""
        sightings = sorted(sightings, key=lambda s: s.at_us)
        last = sightings[-1]
        start = self.place(last)
        heading, pace = self.heading(sightings, start)
        branches = [b for e, p in heading for b in self.branches(e, start.fraction, pace, p)]
        if not branches:
            return Plan([], 0.0, None)
        responders = np.flatnonzero(self.responders.on_duty(last.at_us))
        passes = _FirstPasses.of(branches)
        etas = self.responders.seconds_to(responders, passes.junctions)  # on duty × junctions passed
        caught = np.zeros(len(branches), dtype=bool)
        stops: list[Intercept] = []
        while len(stops) < k:
            best = self._best_stop(passes, caught, etas)
            if best is None:
                break
            column, row, eta_s, catches = best
            etas[row] = np.inf  # sent to this stop: free for no other
            r, node = int(responders[row]), int(passes.junctions[column])
            sent = [self.responders.assigned(r, self.responders.metres_to(r, node), eta_s)]
            stops.append(self._stop(branches, catches, node, last.at_us, sent, start.fraction))
            caught |= catches
        chance = _mass(branches, caught)
        stops += self._handovers(branches, caught, last.at_us, start.fraction)
        speed_kmh = round(float(pace * self.network.speed_kmh[start.segment]), 1)
        return Plan(stops, round(chance, 3), speed_kmh)

    def _best_stop(self, passes: _FirstPasses, caught: np.ndarray,
                   etas: np.ndarray) -> Optional[tuple[int, int, float, np.ndarray]]:
        """The junction (column of `etas`) and the free responder (row; a responder already
        sent has inf there) that catch the most probability not yet caught; of junctions that
        catch as much, the one the open paths pass first. Of responders equally fast, the
        first row."""
        if etas.size == 0:
            return None
        open_paths = ~caught[passes.branch]
        fastest = etas.argmin(axis=0)
        junction_eta = etas[fastest, np.arange(etas.shape[1])]
        met = open_paths & (junction_eta[passes.column] + self.margin_s <= passes.seconds)
        gains = np.bincount(passes.column[met], weights=passes.probability[passes.branch[met]],
                            minlength=etas.shape[1])
        best = _likeliest_first(gains, passes.column[open_paths])
        if best is None:
            return None
        catches = np.zeros(caught.size, dtype=bool)
        catches[passes.branch[met & (passes.column == best)]] = True
        return best, int(fastest[best]), float(junction_eta[best]), catches

    def _stop(self, branches: list[Branch], catches: np.ndarray, node: int, at_us: int,
              sent: list, fraction: float) -> Intercept:
        """The intercept stop at `node` for the branches in `catches`, as the likeliest sees it."""
        likely = max((b for b, c in zip(branches, catches) if c), key=lambda b: b.probability)
        step = likely.nodes.index(node)
        tail = self.network.edges[likely.via[step]].tail
        cameras = self._cameras_before(likely, step, fraction)
        return self._intercept("intercept", self.place_names[node], self.network.node_lonlat[node],
                               self.network.node_lonlat[tail], likely.seconds[step], at_us,
                               _mass(branches, catches), sent, cameras)

    def _cameras_before(self, branch: Branch, steps: int, fraction: float, until: float = 1.0) -> list[str]:
        """The fixed cameras the vehicle passes on a branch from where it was last seen
        (`fraction` along the first edge's segment) to `until` along its edge number `steps`."""
        behind = self.network.along(branch.via[0], fraction)
        return [camera for step, e in enumerate(branch.via[:steps + 1])
                for share, camera, _ in self.cameras_on[e]
                if (step or share > behind) and (step < steps or share <= until)]

    def _handovers(self, branches: list[Branch], caught: np.ndarray, at_us: int,
                   fraction: float) -> list[Intercept]:
        """For uncaught paths that leave the area: the border checkpoint on their way out."""
        leaving: dict[str, list[int]] = {}
        passing: dict[str, tuple[Branch, int, float]] = {}
        for i, branch in enumerate(branches):
            if caught[i] or not branch.exits:
                continue
            for step, e in enumerate(branch.via):
                border = [(share, camera) for share, camera, layer in self.cameras_on[e]
                          if layer == "border_checkpoint"]
                if border:
                    share, camera = border[0]
                    leaving.setdefault(camera, []).append(i)
                    if camera not in passing or branch.probability > passing[camera][0].probability:
                        passing[camera] = (branch, step, share)
                    break
        stops = []
        for camera, indices in leaving.items():
            branch, step, share = passing[camera]
            edge = self.network.edges[branch.via[step]]
            before_s = branch.seconds[step - 1] if step else 0.0
            seconds = before_s + share * (branch.seconds[step] - before_s)
            catches = np.zeros(len(branches), dtype=bool)
            catches[indices] = True
            cameras = self._cameras_before(branch, step, fraction, until=share)
            stops.append(self._intercept("handover", self.camera_names[camera], self.camera_lonlat[camera],
                                         self.network.node_lonlat[edge.tail], seconds, at_us,
                                         _mass(branches, catches), [], cameras))
        return stops

    @staticmethod
    def _intercept(kind: str, place: str, where, came_from, seconds: float, at_us: int,
                   probability: float, sent: list, cameras: list[str]) -> Intercept:
        (lon, lat), (from_lon, from_lat) = where, came_from
        direction = compass((from_lon - lon) * math.cos(math.radians(lat)), from_lat - lat)
        eta_s = round(float(seconds), 1)
        return Intercept(kind=kind, place=place, lon=round(float(lon), 6), lat=round(float(lat), 6),
                         vehicle_at_us=at_us + round(eta_s * 1e6), vehicle_eta_s=eta_s,
                         from_direction=direction, probability=round(probability, 3), responders=sent,
                         cameras=list(dict.fromkeys(cameras)))


def _likeliest_first(gains: np.ndarray, passed: np.ndarray) -> Optional[int]:
    """The junction of the highest gain, going through the junctions in the order the open
    paths first pass them (`passed`: each open pass's junction, in order), a later one
    taking over only with a gain higher by more than rounding. None if nothing gains."""
    gaining = np.flatnonzero(gains > 1e-9)  # the only ones that can take over from nothing
    first = np.full(gains.size, passed.size)
    np.minimum.at(first, passed, np.arange(passed.size))
    best, best_gain = None, 0.0
    for j in gaining[np.argsort(first[gaining])].tolist():
        if gains[j] > best_gain + 1e-9:
            best, best_gain = j, gains[j]
    return best


def _mass(branches: list[Branch], chosen: np.ndarray) -> float:
    return float(sum(b.probability for b, c in zip(branches, chosen) if c))
