"""Who can reach a sighting first: the nearest on-duty responders and their ETA.

Distances are straight lines in the world's metric CRS, lengthened by a detour
factor for the street network, and covered at the slower of the responder's
travel mode and the road class of the segment where the vehicle was seen.
This is an estimate to rank officers by, not a route.
"""
from datetime import UTC, datetime
from typing import Optional
from zoneinfo import ZoneInfo

import numpy as np
from pyproj import Transformer

from models.records import AssignedResponder

MODE_SPEED_KMH = {"car": 60.0, "motorbike": 45.0, "ebike": 20.0, "foot": 5.0}
DETOUR_FACTOR = 1.3


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class ResponderIndex:
    """Responder positions and shifts as arrays, for vectorised nearest queries."""

    def __init__(self, world):
        responders = world.responders
        self._to_metric = Transformer.from_crs("EPSG:4326", world.metric_crs, always_xy=True)
        x, y = self._to_metric.transform(responders.lon.to_numpy(float), responders.lat.to_numpy(float))
        self._xy = np.column_stack([x, y])
        self._start = np.array([_minutes(s) for s in responders.shift_start])
        self._end = np.array([_minutes(s) for s in responders.shift_end])
        self._speed_kmh = np.array([MODE_SPEED_KMH.get(m, MODE_SPEED_KMH["foot"]) for m in responders["mode"]])
        self._rows = list(responders.itertuples())
        self._zone = ZoneInfo(world.timezone)

    def on_duty(self, at_us: int) -> np.ndarray:
        """Mask of responders whose shift covers the local time of `at_us`."""
        local = datetime.fromtimestamp(at_us / 1e6, tz=UTC).astimezone(self._zone)
        minute = local.hour * 60 + local.minute
        same_day = (self._start <= minute) & (minute < self._end)
        overnight = (self._start > self._end) & ((minute >= self._start) | (minute < self._end))
        return same_day | overnight

    def nearest(self, lon: Optional[float], lat: Optional[float], at_us: int, k: int,
                road_speed_kmh: float) -> list[AssignedResponder]:
        """The k nearest on-duty responders, fastest first."""
        if lon is None or lat is None or k <= 0:
            return []
        x, y = self._to_metric.transform(lon, lat)
        candidates = np.flatnonzero(self.on_duty(at_us))
        if candidates.size == 0:
            return []
        distance = np.hypot(self._xy[candidates, 0] - x, self._xy[candidates, 1] - y)
        speed_ms = np.minimum(self._speed_kmh[candidates], road_speed_kmh) / 3.6
        eta = distance * DETOUR_FACTOR / speed_ms
        best = np.lexsort((candidates, eta))[:k]
        return [self._assigned(candidates[i], distance[i], eta[i]) for i in best]

    def _assigned(self, i: int, distance_m: float, eta_s: float) -> AssignedResponder:
        row = self._rows[i]
        return AssignedResponder(str(row.Index), str(row.name), str(row.kind), str(row.unit),
                                 str(row.phone), round(float(distance_m), 1), round(float(eta_s), 1))
