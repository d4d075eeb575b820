"""The road network as a directed graph: how long it takes to get from here to there.

Nodes are the segments' end points (segments that share an end point meet
there); every segment gives one edge in each direction. A segment whose
optional ``oneway`` column says ``yes`` (traffic only in the direction the line
is drawn) or ``-1`` (only against it), as OpenStreetMap writes it, closes the
other edge to traffic; people on foot still walk it both ways.

A vehicle covers an edge at the road's speed. A responder covers it at the
slower of the road's speed and that of his travel mode, and never on an
expressway on foot or by e-bike. Travel times are Dijkstra's over these edges,
with a binary heap: a city's network has thousands of edges, and the heap
answers in milliseconds without a graph library. Each mode's usable edges are
listed per node once, with their cost, head and length, so the search's inner
loop does no lookups, and a node enters the heap again only when it is reached
sooner (or as soon, by a shorter route) than before.
"""
from __future__ import annotations

import heapq
import math
from typing import NamedTuple

import numpy as np
import shapely

MODE_SPEED_KMH = {"car": 60.0, "motorbike": 45.0, "ebike": 20.0, "foot": 5.0}
OFF_EXPRESSWAYS = {"foot", "ebike"}
VEHICLE = "vehicle"  # the flagged vehicle itself: road speed, one-way rules
WALKERS = {"foot"}  # one-way streets do not bind them


class Edge(NamedTuple):
    """One direction of one segment: from node `tail` to node `head`."""
    tail: int
    head: int
    segment: int  # row of the world's roads
    open_to_traffic: bool  # false against a one-way street


class OnRoad(NamedTuple):
    """A position placed on a segment: how far along it (0 at its first point) and how far off it."""
    segment: int
    fraction: float
    offset_m: float


class RoadNetwork:
    """The world's roads as nodes and directed edges, with lengths, speeds and names."""

    def __init__(self, world) -> None:
        roads = world.roads
        lines = roads.geometry.to_crs(world.metric_crs).to_numpy()
        self.segment_ids = [str(s) for s in roads.index]
        self.road_names = [str(n) for n in roads["road_name"]]
        self.road_classes = [str(c) for c in roads["road_class"]]
        self.speed_kmh = roads["speed_kmh"].to_numpy(float)
        self.length_m = shapely.length(lines)
        self._lines = lines
        self._tree = shapely.STRtree(lines)
        keys: dict[tuple[float, float], int] = {}
        ends = []
        for line in roads.geometry:
            (x0, y0), (x1, y1) = line.coords[0], line.coords[-1]
            ends.append((keys.setdefault((round(x0, 7), round(y0, 7)), len(keys)),
                         keys.setdefault((round(x1, 7), round(y1, 7)), len(keys))))
        self.node_lonlat = np.array(list(keys), dtype=float).reshape(-1, 2)
        oneway = roads["oneway"] if "oneway" in roads else [""] * len(roads)
        self.edges: list[Edge] = []
        for segment, ((a, b), rule) in enumerate(zip(ends, oneway)):
            self.edges.append(Edge(a, b, segment, rule != "-1"))
            self.edges.append(Edge(b, a, segment, rule != "yes"))
        self.leaving: list[list[int]] = [[] for _ in keys]
        for e, edge in enumerate(self.edges):
            self.leaving[edge.tail].append(e)
        self._speed_ms = {mode: self._speeds_ms(mode) for mode in (VEHICLE, *MODE_SPEED_KMH)}
        self._edge_s = {mode: self._edge_seconds(mode) for mode in self._speed_ms}
        self._arcs = {mode: self._arcs_of(mode) for mode in self._edge_s}

    @property
    def nodes(self) -> int:
        return len(self.leaving)

    def speed_ms(self, segment: int, mode: str) -> float:
        """How fast `mode` covers `segment` (0: not at all)."""
        return self._speed_ms[mode][segment]

    def _speeds_ms(self, mode: str) -> np.ndarray:
        """How fast `mode` covers each segment (0: not at all): the road's speed, or the slower
        of the road's and the mode's, and no expressway on foot or by e-bike."""
        if mode == VEHICLE:
            return self.speed_kmh / 3.6
        speed = np.minimum(self.speed_kmh, MODE_SPEED_KMH[mode]) / 3.6
        if mode in OFF_EXPRESSWAYS:
            speed[np.array(self.road_classes) == "expressway"] = 0.0
        return speed

    def usable(self, e: int, mode: str) -> bool:
        edge = self.edges[e]
        return (edge.open_to_traffic or mode in WALKERS) and self.speed_ms(edge.segment, mode) > 0

    def edge_s(self, e: int, mode: str) -> float:
        """Seconds for `mode` to cover edge e end to end (inf where it may not)."""
        return self._edge_s[mode][e]

    def _arcs_of(self, mode: str) -> list[list[tuple[float, int, float]]]:
        """Per node, (seconds, head, metres) of each edge leaving it that `mode` may take:
        everything the search needs from an edge, in one tuple."""
        cost = self._edge_s[mode]
        return [[(cost[e], self.edges[e].head, float(self.length_m[self.edges[e].segment]))
                 for e in leaving if math.isfinite(cost[e])]
                for leaving in self.leaving]

    def _edge_seconds(self, mode: str) -> list[float]:
        """Seconds for `mode` to cover each edge end to end (inf where it may not), all edges at
        once: as `usable` and `speed_ms` say, edge by edge."""
        segment = np.array([edge.segment for edge in self.edges], dtype=int)
        open_to_mode = np.array([edge.open_to_traffic or mode in WALKERS for edge in self.edges], dtype=bool)
        speed = self._speed_ms[mode][segment]
        seconds = np.full(len(self.edges), np.inf)
        np.divide(self.length_m[segment], speed, out=seconds, where=open_to_mode & (speed > 0))
        return seconds.tolist()

    def along(self, e: int, fraction: float) -> float:
        """Share of edge e behind a point at `fraction` of its segment (drawn order)."""
        return fraction if e % 2 == 0 else 1.0 - fraction

    def edges_of(self, segment: int) -> tuple[int, int]:
        """The segment's edge in drawn order, and the one back."""
        return 2 * segment, 2 * segment + 1

    def times(self, seeds: dict[int, tuple[float, float]], mode: str,
              limit_s: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
        """Earliest arrival (s) and its route length (m) at every node for `mode`, starting
        from `seeds` (node → (seconds, metres) already spent getting there); inf beyond
        `limit_s` or out of reach. Of routes that arrive at the same time, the shortest."""
        # Python floats and lists while searching: numpy scalars and elements cost ten times more.
        seconds = [math.inf] * self.nodes
        metres = [math.inf] * self.nodes
        queued_s = [math.inf] * self.nodes  # the best arrival (s, m) that entered the heap so far
        queued_m = [math.inf] * self.nodes
        heap = []
        for node, (s, m) in seeds.items():
            queued_s[node], queued_m[node] = float(s), float(m)
            heap.append((queued_s[node], queued_m[node], node))
        heapq.heapify(heap)
        arcs, push, pop = self._arcs[mode], heapq.heappush, heapq.heappop
        while heap:
            s, m, node = pop(heap)
            if s > limit_s:
                break  # the heap gives arrivals in order: every later one is beyond too
            if s >= seconds[node]:
                continue  # reached before
            seconds[node], metres[node] = s, m
            for cost, head, length in arcs[node]:
                arrive_s = s + cost
                if arrive_s <= queued_s[head]:
                    arrive_m = m + length
                    if arrive_s < queued_s[head] or arrive_m < queued_m[head]:
                        queued_s[head], queued_m[head] = arrive_s, arrive_m
                        push(heap, (arrive_s, arrive_m, head))
        return np.array(seconds), np.array(metres)

    def route(self, seconds: np.ndarray, node: int, mode: str) -> list[int]:
        """The nodes passed on the fastest way to `node`, given the arrival times `seconds`
        that `times` found for `mode`: from where the way joins the network to `node`."""
        path = [node]
        while len(path) <= self.nodes:
            here = path[-1]
            before = [self.edges[e ^ 1].tail for e in self.leaving[here]
                      if math.isclose(seconds[self.edges[e ^ 1].tail] + self.edge_s(e ^ 1, mode), seconds[here],
                                      rel_tol=1e-9, abs_tol=1e-6)]
            if not before:
                break
            path.append(before[0])
        return path[::-1]

    def nearest_node(self, lon: float, lat: float) -> int:
        return int(np.argmin(np.hypot(self.node_lonlat[:, 0] - lon, self.node_lonlat[:, 1] - lat)))

    def locate(self, x: float, y: float) -> OnRoad:
        """The nearest segment to a metric position, and where along it."""
        point = shapely.Point(x, y)
        segment = int(self._tree.nearest(point))
        line = self._lines[segment]
        return OnRoad(segment, float(line.project(point, normalized=True)), float(line.distance(point)))

    def locate_all(self, x: np.ndarray, y: np.ndarray) -> list[OnRoad]:
        """`locate` for many metric positions at once (the same answer for each): a world's
        responders and cameras in one call to GEOS each, instead of one per position."""
        points = shapely.points(x, y)
        segments = self._tree.nearest(points)
        lines = self._lines[segments]
        fractions = shapely.line_locate_point(lines, points, normalized=True)
        offsets = shapely.distance(lines, points)
        return [OnRoad(int(s), float(f), float(o)) for s, f, o in zip(segments, fractions, offsets)]

    def seeds_from(self, at: OnRoad, mode: str, speed_ms: float) -> dict[int, tuple[float, float]]:
        """Starting at a place beside a road: reach the road at `speed_ms`, then either end of
        its segment that `mode` may drive to."""
        seeds: dict[int, tuple[float, float]] = {}
        for e in self.edges_of(at.segment):
            if self.usable(e, mode):
                rest = 1.0 - self.along(e, at.fraction)
                seconds = at.offset_m / speed_ms + rest * self.edge_s(e, mode)
                metres = at.offset_m + rest * self.length_m[at.segment]
                head = self.edges[e].head
                if head not in seeds or seconds < seeds[head][0]:
                    seeds[head] = (seconds, metres)
        return seeds
