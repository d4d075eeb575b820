"""Who can reach a place first: on-duty responders and their ETA over the road network.

Each responder walks from where he stands to the nearest road, then travels
the network in his mode (`geo.network`). His travel time to every junction is
computed once, the first time he is on duty for a dispatch, not when the index
is built: a short run pays for the few responders it asks about (or none), a
replay for those on duty during it. An ETA to any place on a road is then a
lookup plus the last stretch along its segment, for all responders at once.
"""
from datetime import UTC, datetime
from typing import Optional
from zoneinfo import ZoneInfo

import numpy as np
from pyproj import Transformer

from geo.network import MODE_SPEED_KMH, OnRoad, RoadNetwork
from models.records import AssignedResponder

MODES = sorted(MODE_SPEED_KMH)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class ResponderIndex:
    """Responders' shifts, and their travel times to every node of the network."""

    def __init__(self, world, network: Optional[RoadNetwork] = None):
        responders = world.responders
        self.network = network or RoadNetwork(world)
        self.to_metric = Transformer.from_crs("EPSG:4326", world.metric_crs, always_xy=True)
        x, y = self.to_metric.transform(responders.lon.to_numpy(float), responders.lat.to_numpy(float))
        self._start = np.array([_minutes(s) for s in responders.shift_start])
        self._end = np.array([_minutes(s) for s in responders.shift_end])
        self.modes = list(responders["mode"])
        self._mode = np.array([MODES.index(m) for m in self.modes])
        self._rows = list(responders.itertuples())
        self._zone = ZoneInfo(world.timezone)
        self.standing = self.network.locate_all(x, y)
        self._standing_segment = np.array([at.segment for at in self.standing], dtype=int)
        self._mode_edge_s = np.array([[self.network.edge_s(e, mode) for e in range(len(self.network.edges))]
                                      for mode in MODES]).reshape(len(MODES), len(self.network.edges))
        self._node_s = np.full((len(self.modes), self.network.nodes), np.inf)
        self._node_m = np.full((len(self.modes), self.network.nodes), np.inf)
        self._searched = np.zeros(len(self.modes), dtype=bool)

    @property
    def node_s(self) -> np.ndarray:
        """Seconds from every responder (row) to every node (column): everyone searched now."""
        self._search(np.arange(len(self.modes)))
        return self._node_s

    @property
    def node_m(self) -> np.ndarray:
        """Metres of those routes, as `node_s`."""
        self._search(np.arange(len(self.modes)))
        return self._node_m

    def seconds_to(self, who: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Seconds from responders `who` (rows) to `nodes` (columns)."""
        self._search(who)
        return self._node_s[:, nodes][who]  # columns first: the smaller copy, twice as fast as np.ix_

    def metres_to(self, r: int, node: int) -> float:
        """Metres of responder r's fastest route to `node`."""
        self._search(np.array([r]))
        return self._node_m[r, node]

    def _search(self, who: np.ndarray) -> None:
        """Fill in the rows of responders `who` not yet searched: each responder's search over
        the network runs once, the first time he is asked for. A row is marked searched only
        once written, so a second thread at worst searches it again, to the same values."""
        for r in who[~self._searched[who]].tolist():
            mode = self.modes[r]
            seeds = self.network.seeds_from(self.standing[r], mode, MODE_SPEED_KMH[mode] / 3.6)
            self._node_s[r], self._node_m[r] = self.network.times(seeds, mode)
            self._searched[r] = True

    def on_duty(self, at_us: int) -> np.ndarray:
        """Mask of responders whose shift covers the local time of `at_us`."""
        local = datetime.fromtimestamp(at_us / 1e6, tz=UTC).astimezone(self._zone)
        minute = local.hour * 60 + local.minute
        same_day = (self._start <= minute) & (minute < self._end)
        overnight = (self._start > self._end) & ((minute >= self._start) | (minute < self._end))
        return same_day | overnight

    def to_place(self, at: OnRoad, who: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Seconds and metres for responders `who` (indices) to reach a place on a road."""
        network, segment = self.network, at.segment
        self._search(who)
        mode = self._mode[who]
        seconds = np.full(len(who), np.inf)
        metres = np.full(len(who), np.inf)
        for e in network.edges_of(segment):
            tail, share = network.edges[e].tail, network.along(e, at.fraction)
            cost = self._mode_edge_s[:, e][mode] * share
            via = self._node_s[who, tail] + cost
            better = via < seconds
            seconds[better] = via[better]
            metres[better] = self._node_m[who, tail][better] + share * network.length_m[segment]
        for i in np.flatnonzero(self._standing_segment[who] == segment):  # beside it: straight along it
            standing, walk_ms = self.standing[who[i]], MODE_SPEED_KMH[MODES[mode[i]]] / 3.6
            gap_m = abs(standing.fraction - at.fraction) * network.length_m[segment]
            direct_s = standing.offset_m / walk_ms + gap_m / (network.speed_ms(segment, MODES[mode[i]]) or walk_ms)
            if direct_s < seconds[i]:
                seconds[i], metres[i] = direct_s, standing.offset_m + gap_m
        return seconds, metres

    def route(self, r: int, node: int) -> list[int]:
        """The nodes responder r passes on his fastest way to `node`, in order, `node` last."""
        self._search(np.array([r]))
        return self.network.route(self._node_s[r], node, self.modes[r])

    def nearest(self, lon: Optional[float], lat: Optional[float], at_us: int, k: int) -> list[AssignedResponder]:
        """The k on-duty responders who reach (lon, lat) first over the roads, fastest first."""
        if lon is None or lat is None or k <= 0:
            return []
        return self.fastest_to(self.network.locate(*self.to_metric.transform(lon, lat)), at_us, k)

    def fastest_to(self, at: OnRoad, at_us: int, k: int) -> list[AssignedResponder]:
        candidates = np.flatnonzero(self.on_duty(at_us))
        seconds, metres = self.to_place(at, candidates)
        best = [i for i in np.lexsort((candidates, seconds))[:k] if np.isfinite(seconds[i])]
        return [self.assigned(candidates[i], metres[i], seconds[i]) for i in best]

    def assigned(self, i: int, distance_m: float, eta_s: float) -> AssignedResponder:
        row = self._rows[i]
        return AssignedResponder(str(row.Index), str(row.name), str(row.kind), str(row.unit),
                                 str(row.phone), round(float(distance_m), 1), round(float(eta_s), 1))
