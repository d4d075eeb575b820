"""Seeded years of police incidents and dispatch outcomes for a world.

The safety figures compare a period with the same period a year earlier, so
they need history: this writes incident reports (警情) and the outcome reports
of past dispatches, over any number of days ending at a given moment, in the
contracts of docs/safety-metrics.md.

What is drawn, and why it is plausible for the world:

- Public-order incidents fall on urban and rural segments at separate daily
  rates, spread by road length and class; traffic accidents likewise, with
  deaths and injuries per accident. Evenings and weekends are busier.
- Every rate changes year on year by a factor (the defaults are the changes
  Qionghai reported after adopting the road-chief system: street incidents
  −13.8%, rural −25.5%, accidents −11.4%, deaths −33.3%, injuries −27.9%),
  applied smoothly over time, so any period compares with the year before.
- A past dispatch happens at a fixed camera; the nearest on-duty responder
  acknowledges after a short delay (shrinking year on year), takes his
  network ETA (`geo.responders`) with traffic noise, and intercepts more often
  the sooner he arrives; a few hits prove false.
- Feeds are imperfect: a share of lines is malformed and a share of outcome
  reports is delivered twice.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import shapely

from geo.placement import SegmentLocator
from geo.responders import ResponderIndex
from geo.world import World

DAY_S = 86_400
CLASS_WEIGHT = {"expressway": 0.4, "arterial": 1.6, "collector": 1.2, "local": 1.0, "rural": 0.8}
# Share of each hour of the day, for public-order incidents and for accidents.
ORDER_HOURS = np.array([3, 2, 2, 1, 1, 1, 2, 3, 4, 4, 4, 5, 5, 5, 5, 5, 6, 6, 7, 8, 8, 7, 6, 4], float)
ACCIDENT_HOURS = np.array([2, 1, 1, 1, 1, 2, 4, 7, 8, 5, 4, 4, 5, 4, 4, 5, 6, 8, 8, 6, 4, 3, 3, 2], float)
ORDER_CATEGORIES = ("theft", "dispute", "fight", "fraud", "disturbance", "robbery")
ACCIDENT_CATEGORIES = ("collision", "single_vehicle", "pedestrian", "motorbike")


@dataclass(frozen=True)
class HistoryRates:
    """Daily rates in the first year, and the factor each changes by per year."""

    urban_incidents: float = 12.0
    rural_incidents: float = 6.0
    urban_accidents: float = 2.5
    rural_accidents: float = 1.5
    deaths_per_accident: float = 0.05
    injuries_per_accident: float = 0.7
    injuries_per_incident: float = 0.05
    dispatches: float = 8.0
    urban_incidents_yoy: float = 0.862
    rural_incidents_yoy: float = 0.745
    accidents_yoy: float = 0.886
    deaths_yoy: float = 0.667
    injuries_yoy: float = 0.721
    acknowledge_yoy: float = 0.8
    median_acknowledge_s: float = 45.0
    false_hit_share: float = 0.04
    malformed_rate: float = 0.001
    duplicate_rate: float = 0.005


@dataclass
class HistorySummary:
    incidents: int = 0
    accidents: int = 0
    deaths: int = 0
    injuries: int = 0
    dispatches: int = 0
    outcome_lines: int = 0
    malformed: int = 0
    duplicates: int = 0
    by_result: dict = field(default_factory=dict)


class _Stamp:
    """ISO-8601 local times with offset for seconds after the start."""

    def __init__(self, start: datetime, zone: str):
        self.start = start.astimezone(ZoneInfo(zone))

    def iso(self, t: float) -> str:
        return (self.start + timedelta(seconds=round(t))).isoformat()


def simulate_history(world: World, incidents_path: Path, outcomes_path: Path, *, end: datetime,
                     days: int, seed: int, rates: HistoryRates = HistoryRates()) -> HistorySummary:
    """Write `days` days of incidents and dispatch outcomes ending at `end`."""
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    if days <= 0:
        raise ValueError("days must be positive")
    rng = np.random.default_rng([seed, 6])
    lines = random.Random(f"history/{seed}")
    stamp = _Stamp(end - timedelta(days=days), world.timezone)
    summary = HistorySummary()
    incidents = _incidents(world, rng, stamp, days, rates, summary)
    outcomes = _outcomes(world, rng, stamp, days, rates, summary)
    _write(incidents_path, incidents, lines, rates, summary)
    _write(outcomes_path, outcomes, lines, rates, summary, resend=True)
    summary.outcome_lines = len(outcomes) + summary.duplicates
    return summary


def _weekday_factor(start: datetime, day: int) -> float:
    return 1.15 if (start + timedelta(days=day)).weekday() >= 5 else 1.0


def _incidents(world: World, rng, stamp: _Stamp, days: int, rates: HistoryRates,
               summary: HistorySummary) -> list[tuple[float, dict]]:
    roads = world.roads
    lengths = roads.geometry.to_crs(world.metric_crs).length.to_numpy()
    weights = lengths * roads["road_class"].map(CLASS_WEIGHT).fillna(1.0).to_numpy()
    urban = (roads["area_type"] == "urban").to_numpy()
    kinds = (("public_order", "urban", rates.urban_incidents, rates.urban_incidents_yoy, ORDER_HOURS),
             ("public_order", "rural", rates.rural_incidents, rates.rural_incidents_yoy, ORDER_HOURS),
             ("traffic_accident", "urban", rates.urban_accidents, rates.accidents_yoy, ACCIDENT_HOURS),
             ("traffic_accident", "rural", rates.rural_accidents, rates.accidents_yoy, ACCIDENT_HOURS))
    out = []
    for kind, area, daily, yoy, hours in kinds:
        pool = np.flatnonzero(urban if area == "urban" else ~urban)
        p = weights[pool] / weights[pool].sum()
        for day in range(days):
            years = day / 365.0
            n = rng.poisson(daily * yoy ** years * _weekday_factor(stamp.start, day))
            for segment in rng.choice(pool, size=n, p=p):
                t = day * DAY_S + (rng.choice(24, p=hours / hours.sum()) + rng.random()) * 3600
                lon, lat = _near(roads.geometry.iloc[segment], rng)
                if kind == "traffic_accident":
                    deaths = int(rng.poisson(rates.deaths_per_accident
                                             * (rates.deaths_yoy / rates.accidents_yoy) ** years))
                    injuries = int(rng.poisson(rates.injuries_per_accident
                                               * (rates.injuries_yoy / rates.accidents_yoy) ** years))
                    category = ACCIDENT_CATEGORIES[int(rng.integers(len(ACCIDENT_CATEGORIES)))]
                    summary.accidents += 1
                else:
                    deaths, injuries = 0, int(rng.poisson(rates.injuries_per_incident))
                    category = ORDER_CATEGORIES[int(rng.integers(len(ORDER_CATEGORIES)))]
                    summary.incidents += 1
                summary.deaths += deaths
                summary.injuries += injuries
                out.append((t, {"kind": kind, "category": category, "reported_at": stamp.iso(t),
                                "lon": lon, "lat": lat, "deaths": deaths, "injuries": injuries}))
    out.sort(key=lambda item: item[0])
    for n, (_, record) in enumerate(out, start=1):
        record["incident_id"] = f"INC-{n:08d}"
    return out


def _near(line, rng) -> tuple[float, float]:
    """A point on the segment, up to about 30 m to either side."""
    point = shapely.line_interpolate_point(line, rng.random(), normalized=True)
    return (round(point.x + (rng.random() - 0.5) * 6e-4, 6), round(point.y + (rng.random() - 0.5) * 5.6e-4, 6))


def _outcomes(world: World, rng, stamp: _Stamp, days: int, rates: HistoryRates,
              summary: HistorySummary) -> list[tuple[float, dict]]:
    fixed = world.cameras[world.cameras["defence_layer"] != "mobile"]
    placements = SegmentLocator(world, 50.0).locate(fixed.lon.tolist(), fixed.lat.tolist())
    sites = [(lon, lat) for lon, lat, p in zip(fixed.lon, fixed.lat, placements) if p]
    responders = ResponderIndex(world)
    start_us = round(stamp.start.timestamp() * 1_000_000)
    out = []
    for day in range(days):
        years = day / 365.0
        for _ in range(rng.poisson(rates.dispatches)):
            lon, lat = sites[int(rng.integers(len(sites)))]
            t0 = day * DAY_S + rng.random() * DAY_S
            summary.dispatches += 1
            dispatch_id = f"H-{summary.dispatches:07d}"
            nearest = responders.nearest(lon, lat, start_us + round(t0 * 1e6), 1)
            base = {"dispatch_id": dispatch_id, "dispatched_at": stamp.iso(t0), "lon": lon, "lat": lat}
            if not nearest:  # nobody on duty nearby: the vehicle gets away
                out.append((t0 + 1800, {**base, "status": "not_found", "at": stamp.iso(t0 + 1800)}))
                summary.by_result["not_found"] = summary.by_result.get("not_found", 0) + 1
                continue
            who = {"responder_id": nearest[0].responder_id}
            ack = 8 + rng.lognormal(math.log(rates.median_acknowledge_s * rates.acknowledge_yoy ** years), 0.5)
            arrive = ack + nearest[0].eta_s * rng.uniform(0.8, 1.4)
            if rng.random() < rates.false_hit_share:
                result = "false_hit"
            else:
                chance = 0.9 * (1.0 if arrive <= 180 else math.exp(-(arrive - 180) / 900))
                result = "intercepted" if rng.random() < chance else "not_found"
            summary.by_result[result] = summary.by_result.get(result, 0) + 1
            resolve = arrive + rng.uniform(60, 900)
            for status, dt in (("acknowledged", ack), ("on_scene", arrive), (result, resolve)):
                out.append((t0 + dt, {**base, **who, "status": status, "at": stamp.iso(t0 + dt)}))
    out.sort(key=lambda item: item[0])
    return out


def _write(path: Path, records: list[tuple[float, dict]], r: random.Random, rates: HistoryRates,
           summary: HistorySummary, resend: bool = False) -> None:
    """Records as JSON Lines, with malformed lines and (for outcomes) repeated deliveries."""
    with Path(path).open("w", encoding="utf-8", newline="\n") as out:
        for _, record in records:
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            if r.random() < rates.malformed_rate:
                summary.malformed += 1
                out.write(line[: max(10, int(len(line) * r.random()))] + "\n")
                continue
            out.write(line + "\n")
            if resend and r.random() < rates.duplicate_rate:
                summary.duplicates += 1
                out.write(line + "\n")
