"""Who can reach a place first: on-duty responders and their ETA over the road network.

Each responder walks from where he stands to the nearest road, then travels
the network in his mode (`geo.network`). His travel time to every junction is
computed once, when the index is built; an ETA to any place on a road is then
a lookup plus the last stretch along its segment, for all responders at once.
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
        self.standing = [self.network.locate(px, py) for px, py in zip(x, y)]
        routes = [self.network.times(self.network.seeds_from(at, mode, MODE_SPEED_KMH[mode] / 3.6), mode)
                  for at, mode in zip(self.standing, self.modes)]
        self.node_s = np.array([seconds for seconds, _ in routes]).reshape(len(routes), self.network.nodes)
        self.node_m = np.array([metres for _, metres in routes]).reshape(len(routes), self.network.nodes)

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
        mode = self._mode[who]
        seconds = np.full(len(who), np.inf)
        metres = np.full(len(who), np.inf)
        for e in network.edges_of(segment):
            tail, share = network.edges[e].tail, network.along(e, at.fraction)
            cost = np.array([network.edge_s(e, m) for m in MODES])[mode] * share
            via = self.node_s[who, tail] + cost
            better = via < seconds
            seconds[better] = via[better]
            metres[better] = self.node_m[who, tail][better] + share * network.length_m[segment]
        same = np.array([self.standing[r].segment == segment for r in who], dtype=bool)
        for i in np.flatnonzero(same):  # already beside this segment: straight along it
            standing, walk_ms = self.standing[who[i]], MODE_SPEED_KMH[MODES[mode[i]]] / 3.6
            gap_m = abs(standing.fraction - at.fraction) * network.length_m[segment]
            direct_s = standing.offset_m / walk_ms + gap_m / (network.speed_ms(segment, MODES[mode[i]]) or walk_ms)
            if direct_s < seconds[i]:
                seconds[i], metres[i] = direct_s, standing.offset_m + gap_m
        return seconds, metres

    def route(self, r: int, node: int) -> list[int]:
        """The nodes responder r passes on his fastest way to `node`, in order, `node` last."""
        return self.network.route(self.node_s[r], node, self.modes[r])

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
