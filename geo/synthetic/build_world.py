"""Build the illustrative Qionghai sample world (not surveyed).

    python -m geo.synthetic.build_world --seed 7 --out geo/data/qionghai

The world is drawn, not measured: twelve towns at roughly their real places,
each with a small street grid, rural roads between neighbouring towns, a ring
expressway round Jiaji and a few roads that leave the map (where the
city-border checkpoints stand).  On top of the roads it lays the road-chief
roster, the cameras of the six defence lines, the responders of the "ground
net" and a watchlist.

Everything comes from seeded numpy Generators, one per section (so changing
how cameras are drawn does not move the roads), and files are written by hand
in a fixed order: the same seed gives byte-identical files.

Roads are built in metres (UTM 49N) as a graph of shared nodes; each node is
converted to lon/lat once and rounded to 6 decimals, so segments that meet
share their endpoint coordinates exactly and a routable graph can be rebuilt
from the file alone.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from pyproj import Transformer

from geo.world import CAMERA_COLUMNS, CHIEF_COLUMNS, RESPONDER_COLUMNS, ROAD_COLUMNS, WATCHLIST_COLUMNS
from models.plate_rules import DIGITS, LETTERS

METRIC_CRS = "EPSG:32649"
TIMEZONE = "Asia/Shanghai"
SPEED_KMH = {"expressway": 100, "arterial": 60, "collector": 50, "local": 40, "rural": 60}
TO_METRES = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
TO_LONLAT = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


@dataclass(frozen=True)
class Town:
    """A town seat: where its grid is centred and how big the grid is."""

    name: str
    code: str  # segment id prefix
    lon: float
    lat: float
    grid: tuple[int, int]  # nodes east-west, north-south
    spacing_m: float
    urban: bool


TOWNS = (
    Town("嘉积镇", "JJ", 110.466, 19.245, (8, 8), 380, True),
    Town("博鳌镇", "BA", 110.575, 19.158, (5, 5), 320, True),
    Town("万泉镇", "WQ", 110.395, 19.232, (4, 3), 260, False),
    Town("长坡镇", "CP", 110.605, 19.335, (4, 3), 260, False),
    Town("大路镇", "DL", 110.478, 19.388, (4, 3), 260, False),
    Town("潭门镇", "TM", 110.625, 19.245, (4, 3), 260, False),
    Town("中原镇", "ZY", 110.476, 19.152, (4, 3), 260, False),
    Town("阳江镇", "YJ", 110.350, 19.095, (4, 3), 260, False),
    Town("龙江镇", "LJ", 110.365, 19.165, (4, 3), 260, False),
    Town("塔洋镇", "TY", 110.540, 19.290, (4, 3), 260, False),
    Town("石壁镇", "SB", 110.285, 19.175, (4, 3), 260, False),
    Town("会山镇", "HS", 110.275, 19.055, (4, 3), 260, False),
)
BY_NAME = {t.name: t for t in TOWNS}

# Jiaji's grid: streets south to north, then west to east, and their classes.
JIAJI_EW = ("嘉积大道", "富海路", "金海路", "银海路", "人民路", "东风路", "爱华路", "新华路")
JIAJI_NS = ("兴海路", "文明路", "红星路", "加积路", "先锋路", "和平路", "东平路", "振兴路")
JIAJI_CLASS = {"银海路": "arterial", "东风路": "arterial", "加积路": "arterial",
               "嘉积大道": "arterial", "人民路": "collector", "爱华路": "collector",
               "红星路": "collector", "先锋路": "collector"}
BOAO_EW = ("博鳌大道", "海滨路", "朝阳路", "椰林路", "东屿路")
BOAO_NS = ("玉带路", "沙美路", "锦葵路", "港湾路", "滨海大道")
COAST_ROAD = "滨海大道"
RING_ROAD = "嘉积环城高速"
RING_RADIUS_M = 2300
RING_NODES = 16

# Rural roads between neighbouring towns: (from, to, name or None for "XY公路").
LINKS = (
    ("嘉积镇", "万泉镇", None), ("嘉积镇", "塔洋镇", None), ("嘉积镇", "大路镇", None),
    ("嘉积镇", "中原镇", None), ("嘉积镇", "博鳌镇", "嘉博公路"), ("嘉积镇", "龙江镇", None),
    ("塔洋镇", "长坡镇", None), ("塔洋镇", "潭门镇", None), ("长坡镇", "大路镇", None),
    ("长坡镇", "潭门镇", None), ("博鳌镇", "中原镇", None), ("中原镇", "阳江镇", None),
    ("阳江镇", "龙江镇", None), ("阳江镇", "会山镇", None), ("龙江镇", "石壁镇", None),
    ("石壁镇", "万泉镇", None), ("会山镇", "石壁镇", None),
)
# Roads that leave the city (town, bearing in degrees, name, class, towards).
BORDER_ROADS = (
    ("大路镇", 350, "G223国道", "arterial", "海口"),
    ("长坡镇", 30, "S213省道", "rural", "文昌"),
    ("万泉镇", 300, "S302省道", "rural", "定安"),
    ("石壁镇", 270, "S212省道", "rural", "屯昌"),
    ("会山镇", 225, "会山公路", "rural", "琼中"),
    ("中原镇", 185, "G223国道", "arterial", "万宁"),
)
BORDER_ROAD_M = 3000


def rng_for(seed: int, section: str) -> np.random.Generator:
    """One independent stream per section, stable under edits elsewhere."""
    return np.random.default_rng([seed, sum(map(ord, section))])


def metres(lon: float, lat: float) -> tuple[float, float]:
    return TO_METRES.transform(lon, lat)


# --------------------------------------------------------------------- roads

@dataclass
class Network:
    """Nodes in metres and segments between them, built in a fixed order."""

    rng: np.random.Generator
    nodes: list[tuple[float, float]] = field(default_factory=list)
    segments: list[dict] = field(default_factory=list)

    def node(self, x: float, y: float) -> int:
        self.nodes.append((x, y))
        return len(self.nodes) - 1

    def link(self, a: int, b: int, road: str, road_class: str, area: str,
             target_m: float = 1e9, wiggle_m: float = 0.0) -> None:
        """Join nodes a and b by one road, cut into pieces of about target_m.

        Intermediate nodes wander sideways by up to wiggle_m (tapered to zero
        at the ends) so country roads do not look ruled.
        """
        (xa, ya), (xb, yb) = self.nodes[a], self.nodes[b]
        length = math.hypot(xb - xa, yb - ya)
        pieces = max(1, round(length / target_m))
        nx, ny = -(yb - ya) / length, (xb - xa) / length
        chain = [a]
        for k in range(1, pieces):
            t = k / pieces
            side = self.rng.normal(0, wiggle_m) * math.sin(math.pi * t) if wiggle_m else 0.0
            chain.append(self.node(xa + t * (xb - xa) + side * nx, ya + t * (yb - ya) + side * ny))
        chain.append(b)
        for u, v in zip(chain, chain[1:]):
            self.segments.append({"a": u, "b": v, "road_name": road,
                                  "road_class": road_class, "area_type": area})


def grid_names(town: Town) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Street names of a town grid, east-west streets first."""
    if town.name == "嘉积镇":
        return JIAJI_EW, JIAJI_NS
    if town.name == "博鳌镇":
        return BOAO_EW, BOAO_NS
    short = town.name[:-1]
    nx, ny = town.grid
    ew = tuple(f"{short}{s}路" for s in ("南", "中", "北", "新")[:ny])
    ns = tuple(f"{short}{s}街" for s in ("西", "墟", "东", "新", "环")[:nx])
    return ew, ns


def street_class(town: Town, road: str) -> str:
    if town.name == "嘉积镇":
        return JIAJI_CLASS.get(road, "local")
    if road in (COAST_ROAD, "博鳌大道"):
        return "arterial"
    return "collector" if road.endswith(("中路", "墟街")) else "local"


def build_grid(net: Network, town: Town) -> list[list[int]]:
    """A street grid centred on the town, one segment per block."""
    cx, cy = metres(town.lon, town.lat)
    nx, ny = town.grid
    ew, ns = grid_names(town)
    area = "urban" if town.urban else "rural"
    jitter = town.spacing_m * 0.04
    ids = [[net.node(cx + (i - (nx - 1) / 2) * town.spacing_m + net.rng.normal(0, jitter),
                     cy + (j - (ny - 1) / 2) * town.spacing_m + net.rng.normal(0, jitter))
            for j in range(ny)] for i in range(nx)]
    for j in range(ny):
        for i in range(nx - 1):
            net.link(ids[i][j], ids[i + 1][j], ew[j], street_class(town, ew[j]), area)
    for i in range(nx):
        for j in range(ny - 1):
            net.link(ids[i][j], ids[i][j + 1], ns[i], street_class(town, ns[i]), area)
    return ids


def build_ring(net: Network, grid: list[list[int]]) -> list[int]:
    """The ring expressway round Jiaji and four arterial spurs into the grid."""
    jiaji = BY_NAME["嘉积镇"]
    cx, cy = metres(jiaji.lon, jiaji.lat)
    ring = [net.node(cx + RING_RADIUS_M * math.sin(2 * math.pi * k / RING_NODES),
                     cy + RING_RADIUS_M * math.cos(2 * math.pi * k / RING_NODES))
            for k in range(RING_NODES)]
    for k in range(RING_NODES):
        net.link(ring[k], ring[(k + 1) % RING_NODES], RING_ROAD, "expressway", "urban")
    n, mid, q = len(grid) - 1, len(grid) // 2 - 1, RING_NODES // 4
    spurs = ((grid[mid][n], ring[0], JIAJI_NS[mid]), (grid[n][mid], ring[q], JIAJI_EW[mid]),
             (grid[mid][0], ring[2 * q], JIAJI_NS[mid]), (grid[0][mid], ring[3 * q], JIAJI_EW[mid]))
    for inner, outer, road in spurs:
        net.link(inner, outer, road, "arterial", "urban", target_m=500)
    return ring


def nearest(net: Network, candidates: list[int], x: float, y: float) -> int:
    return min(candidates, key=lambda n: math.hypot(net.nodes[n][0] - x, net.nodes[n][1] - y))


def build_network(seed: int) -> Network:
    """All roads: town grids, the ring, rural links, the coast road, exits."""
    net = Network(rng_for(seed, "roads"))
    grids = {town.name: build_grid(net, town) for town in TOWNS}
    # Where roads to other towns may start: any grid node, or for Jiaji the ring.
    gates = {name: [n for column in grid for n in column] for name, grid in grids.items()}
    gates["嘉积镇"] = build_ring(net, grids["嘉积镇"])
    centre = {t.name: metres(t.lon, t.lat) for t in TOWNS}
    boao_ne = grids["博鳌镇"][-1][-1]
    tanmen = nearest(net, gates["潭门镇"], *net.nodes[boao_ne])
    net.link(boao_ne, tanmen, COAST_ROAD, "arterial", "rural", target_m=1000, wiggle_m=150)
    for a, b, name in LINKS:
        road = name or f"{a[0]}{b[0]}公路"
        road_class = "arterial" if name else "rural"
        net.link(nearest(net, gates[a], *centre[b]), nearest(net, gates[b], *centre[a]),
                 road, road_class, "rural", target_m=1000, wiggle_m=250)
    for town, bearing, road, road_class, _ in BORDER_ROADS:
        cx, cy = centre[town]
        far = (cx + 1e5 * math.sin(math.radians(bearing)), cy + 1e5 * math.cos(math.radians(bearing)))
        start = nearest(net, gates[town], *far)
        x, y = net.nodes[start]
        end = net.node(x + BORDER_ROAD_M * math.sin(math.radians(bearing)),
                       y + BORDER_ROAD_M * math.cos(math.radians(bearing)))
        net.link(start, end, road, road_class, "rural", target_m=1000, wiggle_m=100)
    return net


def town_at(x: float, y: float) -> Town:
    """The town whose seat is nearest: rural roads belong to the closer town."""
    return min(TOWNS, key=lambda t: math.hypot(*np.subtract(metres(t.lon, t.lat), (x, y))))


def finish_segments(net: Network) -> None:
    """Town, speed, stable id and lon/lat coordinates for every segment."""
    xy = np.array(net.nodes)
    lon, lat = TO_LONLAT.transform(xy[:, 0], xy[:, 1])
    lonlat = [(round(float(x), 6), round(float(y), 6)) for x, y in zip(lon, lat)]
    counters = {t.code: 0 for t in TOWNS}
    for seg in net.segments:
        mid = (xy[seg["a"]] + xy[seg["b"]]) / 2
        town = town_at(*mid)
        counters[town.code] += 1
        seg.update(segment_id=f"{town.code}-{counters[town.code]:04d}", town=town.name,
                   speed_kmh=SPEED_KMH[seg["road_class"]], mid=mid,
                   length_m=float(np.hypot(*(xy[seg["b"]] - xy[seg["a"]]))),
                   coords=[lonlat[seg["a"]], lonlat[seg["b"]]])


def check_connected(net: Network) -> None:
    """Fail the build if the roads fall apart into pieces."""
    parent = list(range(len(net.nodes)))

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for seg in net.segments:
        parent[root(seg["a"])] = root(seg["b"])
    used = {seg["a"] for seg in net.segments} | {seg["b"] for seg in net.segments}
    if len({root(n) for n in used}) != 1:
        raise RuntimeError("road network is not one connected component")


# ------------------------------------------------------------------- people

SURNAMES = "王陈符林吴李黄邢冯蔡周卢何梁云郑张莫蒙潘韩庞"
GIVEN = "海明华文国强志伟建平春秀丽芳玉兰英德清永坤振良家俊雄琼椰南峰涛宏霞"
MOBILE_PREFIXES = ("138", "139", "136", "135", "137", "150", "151", "152", "158",
                   "159", "187", "188", "189", "133", "180", "177", "198", "199")
VILLAGE_HEAD = "东南西北上下新大龙凤文石田椰美湖沙白红乐福和兴安礼"
VILLAGE_TAIL = "林湾头岭坡塘园田港洋溪水山门屯墩寮"


class People:
    """Seeded Chinese names and unique mobile numbers."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.phones: set[str] = set()

    def name(self) -> str:
        given = "".join(self.rng.choice(list(GIVEN), size=self.rng.choice([1, 2], p=[0.3, 0.7])))
        return str(self.rng.choice(list(SURNAMES))) + given

    def phone(self) -> str:
        while True:
            number = str(self.rng.choice(MOBILE_PREFIXES)) + f"{self.rng.integers(0, 10**8):08d}"
            if number not in self.phones:
                self.phones.add(number)
                return number


def village_names(rng: np.random.Generator, count: int) -> list[str]:
    """Distinct two-character village stems, such as 椰林 or 龙湾."""
    stems = [h + t for h in VILLAGE_HEAD for t in VILLAGE_TAIL]
    return [stems[i] for i in rng.choice(len(stems), size=count, replace=False)]


def police_stations(town: Town) -> list[str]:
    if town.name == "嘉积镇":
        return ["嘉积城东派出所", "嘉积城西派出所", "嘉积城南派出所"]
    if town.name == "博鳌镇":
        return ["博鳌派出所", "东屿岛派出所"]
    return [f"{town.name[:-1]}派出所"]


def build_chiefs(net: Network, seed: int) -> tuple[list[dict], dict[str, list[str]]]:
    """The road-chief roster, and each town's villages (for other sections).

    Segments of a town are cut into station areas west to east, then into
    village groups south to north, then into runs of about five segments per
    road manager, so responsibility is spatially compact.
    """
    rng = rng_for(seed, "chiefs")
    people = People(rng)
    stems = iter(village_names(rng, 80))
    rows: list[dict] = []
    villages: dict[str, list[str]] = {}

    def add(level: str, title: str, unit: str, parent: str, chief_id: str) -> str:
        rows.append({"chief_id": chief_id, "level": level, "title": title, "name": people.name(),
                     "phone": people.phone(), "unit": unit, "parent_id": parent})
        return chief_id

    top = add("general", "总路长", "琼海市", "", "RC-G-001")
    counts = {"level1": 0, "level2": 0, "level3": 0, "road_manager": 0}

    def next_id(level: str, prefix: str) -> str:
        counts[level] += 1
        return f"{prefix}-{counts[level]:04d}"

    for town in TOWNS:
        l1 = add("level1", "一级路长", f"{town.name}人民政府", top, next_id("level1", "RC-L1"))
        segs = sorted((s for s in net.segments if s["town"] == town.name), key=lambda s: s["mid"][0])
        stations = police_stations(town)
        villages[town.name] = []
        for station, area in zip(stations, np.array_split(np.arange(len(segs)), len(stations))):
            l2 = add("level2", "二级路长", station, l1, next_id("level2", "RC-L2"))
            area_segs = sorted((segs[i] for i in area), key=lambda s: s["mid"][1])
            groups = int(np.clip(len(area_segs) // 12, 2, 4))
            for group in np.array_split(np.arange(len(area_segs)), groups):
                stem = next(stems)
                unit = f"{stem}社区居委会" if town.urban else f"{stem}村委会"
                villages[town.name].append(stem + ("社区" if town.urban else "村"))
                l3 = add("level3", "三级路长", unit, l2, next_id("level3", "RC-L3"))
                for run in np.array_split(group, max(1, math.ceil(len(group) / 5))):
                    rm = add("road_manager", "路管员", unit, l3, next_id("road_manager", "RM"))
                    for i in run:
                        area_segs[i]["road_manager_id"] = rm
    return rows, villages


# ------------------------------------------------------------------ cameras

@dataclass
class Placer:
    """Points beside segments, as a pole or a post stands beside a road."""

    net: Network
    rng: np.random.Generator

    def beside(self, seg: dict, min_m: float = 4, max_m: float = 12) -> tuple[float, float, float]:
        """(x, y, heading) a few metres off the segment, away from its ends."""
        (xa, ya), (xb, yb) = self.net.nodes[seg["a"]], self.net.nodes[seg["b"]]
        t = self.rng.uniform(0.25, 0.75)
        length = math.hypot(xb - xa, yb - ya)
        off = self.rng.uniform(min_m, max_m) * self.rng.choice([-1, 1])
        x = xa + t * (xb - xa) - off * (yb - ya) / length
        y = ya + t * (yb - ya) + off * (xb - xa) / length
        heading = math.degrees(math.atan2(xb - xa, yb - ya)) + self.rng.choice([0, 180])
        return x, y, heading % 360

    def pick(self, segs: list[dict], count: int) -> list[dict]:
        return [segs[i] for i in self.rng.choice(len(segs), size=count, replace=count > len(segs))]


def lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(x, y)
    return round(float(lon), 6), round(float(lat), 6)


def far_from_roads(net: Network, placer: Placer, min_m: float) -> tuple[float, float]:
    """A point at least min_m from every segment (a camera inside a compound)."""
    xy = np.array(net.nodes)
    a = np.array([xy[s["a"]] for s in net.segments])
    d = np.array([xy[s["b"]] for s in net.segments]) - a
    while True:
        seg = placer.pick([s for s in net.segments if s["road_class"] == "rural"], 1)[0]
        x, y, _ = placer.beside(seg, 300, 600)
        t = np.clip(((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1]) / (d ** 2).sum(1), 0, 1)
        if np.hypot(a[:, 0] + t * d[:, 0] - x, a[:, 1] + t * d[:, 1] - y).min() > min_m:
            return x, y


def build_cameras(net: Network, seed: int, villages: dict[str, list[str]],
                  bases: list[dict]) -> list[dict]:
    """The six defence lines, plus three cameras deliberately off the roads.

    Mobile cameras (patrol-car cameras, drones) are based where some of the
    patrol and station police (``bases``) stand.
    """
    rng = rng_for(seed, "cameras")
    placer = Placer(net, rng)
    segs = net.segments
    rows: list[dict] = []

    def add(layer: str, code: str, name: str, x: float, y: float, heading: float, town: str) -> None:
        n = sum(r["defence_layer"] == layer for r in rows) + 1
        lon, lat = lonlat(x, y)
        rows.append({"camera_id": f"QH-{code}-{n:03d}", "name": name, "defence_layer": layer,
                     "lon": lon, "lat": lat, "heading_deg": int(round(heading)) % 360, "town": town})

    def fixed(layer: str, code: str, chosen: list[dict], label: str) -> None:
        for seg in chosen:
            x, y, heading = placer.beside(seg)
            name = label.format(road=seg["road_name"], town=seg["town"])
            add(layer, code, name, x, y, heading, seg["town"])

    exits = [[s for s in segs if s["road_name"] == road and s["town"] == town][-1]
             for town, _, road, _, _ in BORDER_ROADS]
    for seg, (_, _, _, _, towards) in zip(exits, BORDER_ROADS):
        for direction in ("出市", "进市"):
            fixed("border_checkpoint", "BC", [seg], f"{{road}}往{towards}{direction}卡口")
    fixed("arterial_checkpoint", "AC",
          placer.pick([s for s in segs if s["road_class"] in ("arterial", "expressway")], 24),
          "{road}治安卡口")
    fixed("street_grid", "SG", placer.pick([s for s in segs if s["area_type"] == "urban"
                                           and s["road_class"] != "expressway"], 40), "{road}电子警察")
    fixed("street_grid", "SG", placer.pick([s for s in segs if s["area_type"] == "rural"
                                           and s["road_class"] in ("collector", "local")], 12),
          "{town}{road}路口监控")
    jiaji = np.array(metres(BY_NAME["嘉积镇"].lon, BY_NAME["嘉积镇"].lat))
    centre = [s for s in segs if np.hypot(*(s["mid"] - jiaji)) < 600]
    forum = [s for s in segs if s["town"] == "博鳌镇" and s["road_name"] in (COAST_ROAD, "东屿路", "港湾路")]
    fixed("core_zone", "CZ", placer.pick(centre, 8), "嘉积中心区{road}高清探头")
    fixed("core_zone", "CZ", placer.pick(forum, 8), "博鳌论坛核心区{road}高清探头")
    for i, pick in enumerate(rng.choice(len(bases), size=12, replace=False)):
        base = bases[pick]
        kind = "警车车载摄像机" if i < 8 else "警用无人机"
        add("mobile", "MB", f"{base['unit']}{kind}{i % 8 + 1}号", base["x"], base["y"],
            rng.uniform(0, 360), base["town"])
    shops = ("超市", "酒店", "加油站", "药店", "农家乐", "村委会", "民宿", "商铺")
    for seg in placer.pick([s for s in segs if s["road_class"] in ("local", "rural")], 30):
        x, y, heading = placer.beside(seg)
        place = str(rng.choice(villages[seg["town"]])) + str(rng.choice(shops))
        add("private", "PV", f"{place}门口监控(社会面接入)", x, y, heading, seg["town"])
    for label in ("小区内部", "果园看护", "养殖场内部"):
        x, y = far_from_roads(net, placer, 250)
        add("private", "PV", f"离路-{label}监控(距道路超过200米,不应落段)", x, y,
            rng.uniform(0, 360), town_at(x, y).name)
    return rows


# --------------------------------------------------------------- responders

SERVICE_STATIONS = (("博鳌镇", "博鳌滨海警务服务站"), ("博鳌镇", "东屿岛警务服务站"),
                    ("嘉积镇", "嘉积银海警务服务站"), ("嘉积镇", "嘉积东风警务服务站"),
                    ("嘉积镇", "嘉积万泉河警务服务站"), ("潭门镇", "潭门港警务服务站"),
                    ("长坡镇", "长坡警务服务站"), ("中原镇", "中原警务服务站"),
                    ("万泉镇", "万泉警务服务站"), ("大路镇", "大路警务服务站"))
DAY, NIGHT, ALWAYS = ("08:00", "20:00"), ("20:00", "08:00"), ("00:00", "24:00")


def build_responders(net: Network, seed: int, villages: dict[str, list[str]]) -> list[dict]:
    """The ground net: police, stations, persuasion posts, volunteers, grid workers."""
    rng = rng_for(seed, "responders")
    people = People(rng)
    placer = Placer(net, rng)
    rows: list[dict] = []
    by_town = {t.name: [s for s in net.segments if s["town"] == t.name] for t in TOWNS}

    def add(kind: str, name: str, unit: str, town: str, shift: tuple[str, str], mode: str,
            roads: list[dict] | None = None) -> None:
        x, y, _ = placer.beside(placer.pick(roads or by_town[town], 1)[0], 3, 20)
        lon, lat = lonlat(x, y)
        rows.append({"responder_id": f"RSP-{len(rows) + 1:04d}", "name": name, "kind": kind,
                     "unit": unit, "phone": people.phone(), "lon": lon, "lat": lat,
                     "shift_start": shift[0], "shift_end": shift[1], "mode": mode,
                     "town": town, "x": x, "y": y})

    def shift(*options: tuple[str, str]) -> tuple[str, str]:
        return options[rng.integers(len(options))]

    for town in TOWNS:
        short = town.name[:-1]
        core = [s for s in by_town[town.name] if s["road_class"] != "rural"]
        for _ in range(20 if town.name == "嘉积镇" else 10 if town.name == "博鳌镇" else 4):
            add("traffic_police", people.name(), f"琼海市公安局交警支队{short}中队", town.name,
                shift(DAY, NIGHT), str(rng.choice(["car", "motorbike"])), core)
        for station in police_stations(town):
            for _ in range(4):
                add("station_police", people.name(), station, town.name,
                    shift(DAY, NIGHT, ("08:00", "18:00")), "car", core)
        country = [s for s in by_town[town.name] if s["road_class"] == "rural"]
        for village in villages[town.name]:
            add("persuasion_station", f"{village}交通劝导站", f"{town.name}{village}", town.name,
                shift(("07:00", "19:00"), ("06:30", "21:30")), "ebike", country)
        for _ in range(12 if town.urban else 8):
            add("volunteer", people.name(), f"{town.name}联防志愿者队", town.name,
                shift(("07:00", "12:00"), ("14:00", "19:00"), ("19:00", "23:00"), ("20:00", "02:00")),
                str(rng.choice(["ebike", "foot"])))
        for _ in range(8 if town.urban else 4):
            add("grid_worker", people.name(), f"{town.name}综治中心网格员", town.name,
                ("08:30", "17:30"), str(rng.choice(["ebike", "foot"])), core)
    for _ in range(30):
        town = TOWNS[rng.integers(2)]
        add("patrol", people.name(), "琼海市公安局巡特警大队", town.name, shift(DAY, NIGHT), "car")
    for town_name, name in SERVICE_STATIONS:
        roads = [s for s in by_town[town_name] if s["road_name"] == COAST_ROAD] if "滨海" in name else None
        add("service_station", name, "琼海市公安局", town_name, ALWAYS, "car", roads)
    return rows


# ---------------------------------------------------------------- watchlist

PLATE_CHARS = DIGITS + LETTERS
CITY_LETTERS = ("C", "A", "B", "D", "E", "F")
CITY_WEIGHTS = (0.55, 0.2, 0.1, 0.05, 0.05, 0.05)
OTHER_PROVINCES = ("粤", "桂", "湘", "川", "贵", "闽", "浙")
CATEGORIES = {  # share, priorities with weights, share that must be intercepted, note
    "overdue_inspection": (0.35, ((3, 4, 5), (0.1, 0.4, 0.5)), 0.15, "逾期未检验"),
    "unpaid_violations": (0.35, ((3, 4, 5), (0.1, 0.4, 0.5)), 0.15, "交通违法未处理"),
    "stolen": (0.08, ((1, 2, 3), (0.55, 0.35, 0.1)), 1.0, "被盗抢车辆"),
    "wanted": (0.07, ((1, 2, 3), (0.55, 0.35, 0.1)), 0.95, "涉案在逃人员驾驶"),
    "scrapped": (0.08, ((2, 3), (0.5, 0.5)), 1.0, "已报废车辆上路"),
    "fake_plate": (0.07, ((1, 2, 3), (0.3, 0.5, 0.2)), 1.0, "套牌嫌疑"),
}
AS_OF = date(2026, 11, 1)


def random_plates(rng: np.random.Generator, count: int) -> list[tuple[str, str]]:
    """(plate, colour) pairs as Qionghai traffic would show them.

    Mostly Hainan plates (琼C, the local prefix, most often), a tenth from
    other provinces; blue for cars, yellow for trucks, and green new-energy
    plates with D or F and five digits (琼CD12345).
    """
    colours = rng.choice(["blue", "yellow", "green"], size=count, p=[0.8, 0.1, 0.1])
    home = rng.random(count) < 0.9
    prefix = np.where(home, np.char.add("琼", rng.choice(CITY_LETTERS, size=count, p=CITY_WEIGHTS)),
                      np.char.add(rng.choice(OTHER_PROVINCES, size=count),
                                  rng.choice(list("ABCDE"), size=count)))
    body = rng.choice(list(PLATE_CHARS[:10]), size=(count, 5))
    letters = rng.choice([0, 1, 2], size=count, p=[0.5, 0.35, 0.15])  # how many of the five
    rank = rng.random((count, 5)).argsort(axis=1).argsort(axis=1)
    lettered = (rank < letters[:, None]) & (colours != "green")[:, None]
    body = np.where(lettered, rng.choice(list(PLATE_CHARS[10:]), size=(count, 5)), body)
    energy = np.where(colours == "green", rng.choice(["D", "F"], size=count), "")
    plates = [p + e + "".join(b) for p, e, b in zip(prefix.tolist(), energy.tolist(), body.tolist())]
    return list(zip(plates, colours.tolist()))


def build_watchlist(seed: int, count: int) -> list[dict]:
    """Entries by category; about 5% expired before 2026-11-01; some plates twice."""
    rng = rng_for(seed, "watchlist")
    names = list(CATEGORIES)
    shares = [CATEGORIES[c][0] for c in names]
    plates = random_plates(rng, count)
    rows = []
    for i in range(count):
        category = str(rng.choice(names, p=shares))
        _, (priorities, weights), intercept, note = CATEGORIES[category]
        plate, colour = plates[i]
        if i and rng.random() < 0.02:  # the same vehicle flagged twice
            plate, colour = plates[rng.integers(i)]
        valid_from = date(2025, 1, 1) + timedelta(days=int(rng.integers(0, 660)))
        if rng.random() < 0.05:
            valid_to = valid_from + timedelta(days=int(rng.integers(1, (AS_OF - valid_from).days)))
        else:
            valid_to = date(2026, 11, 29) + timedelta(days=int(rng.integers(0, 400)))
        rows.append({"entry_id": f"WL-{i + 1:06d}", "plate": plate, "plate_color": colour,
                     "category": category, "priority": int(rng.choice(priorities, p=weights)),
                     "action": "intercept" if rng.random() < intercept else "observe",
                     "valid_from": valid_from.isoformat(), "valid_to": valid_to.isoformat(),
                     "note": note})
    return rows


# ------------------------------------------------------------------ writing



def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_roads(path: Path, segments: list[dict]) -> None:
    """GeoJSON by hand, one feature a line, so bytes depend on the seed only."""
    lines = []
    for seg in segments:
        feature = {"type": "Feature", "properties": {k: seg[k] for k in ROAD_COLUMNS},
                   "geometry": {"type": "LineString", "coordinates": seg["coords"]}}
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    path.write_text('{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n",
                    encoding="utf-8")


def build(seed: int, out: Path, watchlist_size: int = 1500) -> dict:
    """Write the whole world into out; returns the metadata written to world.json."""
    out.mkdir(parents=True, exist_ok=True)
    net = build_network(seed)
    check_connected(net)
    finish_segments(net)
    chiefs, villages = build_chiefs(net, seed)
    responders = build_responders(net, seed, villages)
    cameras = build_cameras(net, seed, villages,
                            [r for r in responders if r["kind"] in ("patrol", "station_police")])
    watchlist = build_watchlist(seed, watchlist_size)
    write_roads(out / "roads.geojson", net.segments)
    write_csv(out / "chiefs.csv", CHIEF_COLUMNS, chiefs)
    write_csv(out / "cameras.csv", CAMERA_COLUMNS, cameras)
    write_csv(out / "responders.csv", RESPONDER_COLUMNS, responders)
    write_csv(out / "watchlist.csv", WATCHLIST_COLUMNS, watchlist)
    coords = np.array([c for s in net.segments for c in s["coords"]])
    meta = {
        "name": "Qionghai sample world",
        "note": "Illustrative, not surveyed: towns sit roughly where they are, but every road, "
                "camera, person, phone number and plate here is generated.",
        "seed": seed, "timezone": TIMEZONE, "metric_crs": METRIC_CRS, "province": "琼",
        "bounds": [float(v) for v in (*coords.min(0), *coords.max(0))],
        "counts": {"segments": len(net.segments), "towns": len(TOWNS), "chiefs": len(chiefs),
                   "cameras": len(cameras), "responders": len(responders),
                   "watchlist": len(watchlist)},
    }
    (out / "world.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n",
                                    encoding="utf-8")
    return meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "data" / "qionghai")
    parser.add_argument("--watchlist", type=int, default=1500, help="number of watchlist entries")
    args = parser.parse_args(argv)
    meta = build(args.seed, args.out, args.watchlist)
    print(json.dumps(meta["counts"], ensure_ascii=False))


if __name__ == "__main__":
    main()
