"""Load a world folder (roads, chiefs, cameras, responders, watchlist) and check it.

A world folder holds:

- ``roads.geojson`` or ``roads.gpkg``: LineString segments with segment_id,
  road_name, road_class, town, area_type, speed_kmh, road_manager_id;
- ``chiefs.csv``: the road-chief roster (路长制), each row pointing one level up;
- ``cameras.csv``, ``responders.csv``, ``watchlist.csv``;
- ``world.json`` (optional): the time zone every local time and day is read
  in, the metric CRS distances are measured in (estimated from the roads,
  the UTM zone they lie in, when it names none), and the province the
  cameras stand in (the plate reader's prior for an unsure province character).

docs/inputs.md documents every file and column.

Everything is validated up front, so a broken roster or network fails at load
with a ``ValueError`` naming the file and the problem, not later inside a
running pipeline.  The watchlist is only header-checked: it can be large and
is read by the matcher, which streams it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import geopandas
import pandas
from pyproj import CRS
from pyproj.exceptions import CRSError

from models.plate_rules import is_province
from models.records import ChiefOnDuty

LEVELS = ("road_manager", "level3", "level2", "level1", "general")
TITLES = {"road_manager": "路管员", "level3": "三级路长", "level2": "二级路长",
          "level1": "一级路长", "general": "总路长"}
ROAD_CLASSES = {"expressway", "arterial", "collector", "local", "rural"}
AREA_TYPES = {"urban", "rural"}
DEFENCE_LAYERS = {"border_checkpoint", "arterial_checkpoint", "street_grid", "core_zone",
                  "mobile", "private"}
RESPONDER_KINDS = {"traffic_police", "patrol", "station_police", "service_station",
                   "persuasion_station", "volunteer", "grid_worker"}
MODES = {"car", "motorbike", "ebike", "foot"}
SHIFT_START = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
SHIFT_END = re.compile(r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")  # 24:00 = end of day

ROAD_COLUMNS = ("segment_id", "road_name", "road_class", "town", "area_type", "speed_kmh",
                "road_manager_id")
OPTIONAL_ROAD_COLUMNS = ("oneway",)
ONEWAY = {"", "no", "yes", "-1"}  # as OpenStreetMap writes it; empty or no: both ways
CHIEF_COLUMNS = ("chief_id", "level", "title", "name", "phone", "unit", "parent_id")
CAMERA_COLUMNS = ("camera_id", "name", "defence_layer", "lon", "lat", "heading_deg", "town")
RESPONDER_COLUMNS = ("responder_id", "name", "kind", "unit", "phone", "lon", "lat",
                     "shift_start", "shift_end", "mode")
WATCHLIST_COLUMNS = ("entry_id", "plate", "plate_color", "category", "priority", "action",
                     "valid_from", "valid_to", "note")
DEFAULT_TIMEZONE = "Asia/Shanghai"  # a world.json that names no time zone is read as China's


@dataclass(frozen=True, eq=False)
class World:
    """A loaded, validated world. Tables are indexed by their id column."""

    folder: Path
    roads: geopandas.GeoDataFrame
    cameras: pandas.DataFrame
    chiefs: pandas.DataFrame
    responders: pandas.DataFrame
    watchlist_path: Path
    timezone: str
    metric_crs: str
    province: str | None = None
    chains: dict[str, tuple[ChiefOnDuty, ...]] = field(repr=False, default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        """The zone of the world's local times: shifts, validity days, periods, what people read."""
        return ZoneInfo(self.timezone)


def world_zone(folder: str | Path) -> ZoneInfo:
    """The world's time zone alone, without loading its roads and rosters."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a world folder (no such folder)")
    return ZoneInfo(_timezone(folder / "world.json", _read_meta(folder)))


def world_province(folder: str | Path) -> str | None:
    """The province the world's cameras stand in (world.json's ``province``), or None where it names none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a world folder (no such folder)")
    return _province(folder / "world.json", _read_meta(folder))


def load_world(folder: str | Path) -> World:
    """Read and validate every file of a world folder."""
    folder = Path(folder)
    meta = _read_meta(folder)
    timezone = _timezone(folder / "world.json", meta)
    chiefs = _read_csv(folder / "chiefs.csv", CHIEF_COLUMNS, "chief_id")
    chains = _chains(folder / "chiefs.csv", chiefs)
    roads = _read_roads(folder, chiefs)
    cameras = _read_csv(folder / "cameras.csv", CAMERA_COLUMNS, "camera_id",
                        numeric=("lon", "lat", "heading_deg"))
    _check_values(folder / "cameras.csv", cameras, "defence_layer", DEFENCE_LAYERS)
    responders = _read_csv(folder / "responders.csv", RESPONDER_COLUMNS, "responder_id",
                           numeric=("lon", "lat"))
    _check_values(folder / "responders.csv", responders, "kind", RESPONDER_KINDS)
    _check_values(folder / "responders.csv", responders, "mode", MODES)
    _check_shifts(folder / "responders.csv", responders)
    watchlist_path = folder / "watchlist.csv"
    _read_csv(watchlist_path, WATCHLIST_COLUMNS, "entry_id", nrows=0)
    return World(folder=folder, roads=roads, cameras=cameras, chiefs=chiefs,
                 responders=responders, watchlist_path=watchlist_path,
                 timezone=timezone, metric_crs=_metric_crs(folder / "world.json", meta, roads),
                 province=_province(folder / "world.json", meta),
                 chains=chains)


def _read_meta(folder: Path) -> dict:
    path = folder / "world.json"
    if not path.exists():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as bad:
        raise ValueError(f"{path}: not valid JSON ({bad})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return meta


def _timezone(path: Path, meta: dict) -> str:
    name = meta.get("timezone", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{path}: timezone {name!r} is not an IANA time zone"
                         " (such as Asia/Shanghai)") from None
    return name


def _province(path: Path, meta: dict) -> str | None:
    name = meta.get("province")
    if name is not None and not is_province(name):
        raise ValueError(f"{path}: province {name!r} is not a province's one-character abbreviation (such as 琼)")
    return name


def _metric_crs(path: Path, meta: dict, roads: geopandas.GeoDataFrame) -> str:
    """The CRS that world.json names, checked to measure in metres; else the roads' UTM zone."""
    name = meta.get("metric_crs")
    if name is None:
        return roads.estimate_utm_crs().to_string()
    try:
        crs = CRS.from_user_input(name)
    except CRSError:
        raise ValueError(f"{path}: metric_crs {name!r} is not a coordinate reference system") from None
    units = {axis.unit_name for axis in crs.axis_info}
    if not crs.is_projected or units != {"metre"}:
        raise ValueError(f"{path}: metric_crs {name!r} does not measure in metres"
                         " (expected a projected CRS such as EPSG:32649)")
    return name


def chief_chain(world: World, chief_id: str) -> list[ChiefOnDuty]:
    """The chiefs responsible for a road manager's segments, from him up to 总路长."""
    try:
        return list(world.chains[chief_id])
    except KeyError:
        raise KeyError(f"unknown chief_id {chief_id!r}") from None


def _read_csv(path: Path, columns: tuple[str, ...], index: str, numeric: tuple[str, ...] = (),
              nrows: int | None = None) -> pandas.DataFrame:
    """A CSV as strings (ids and phones keep their leading zeros), checked."""
    if not path.exists():
        raise ValueError(f"{path}: file not found")
    table = pandas.read_csv(path, dtype=str, keep_default_na=False, nrows=nrows)
    _check_table(path, table, columns, index)
    for column in numeric:
        values = pandas.to_numeric(table[column], errors="coerce")
        if values.isna().any():
            row = table[index][values.isna()].iloc[0]
            raise ValueError(f"{path}: column {column!r} of {row!r} is not a number")
        table[column] = values
    return table.set_index(index)


def _check_table(path: Path, table: pandas.DataFrame, columns: tuple[str, ...], index: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    duplicated = table[index][table[index].duplicated()]
    if len(duplicated):
        raise ValueError(f"{path}: duplicate {index} {duplicated.iloc[0]!r}")


def _check_values(path: Path, table: pandas.DataFrame, column: str, allowed: set[str]) -> None:
    bad = table[~table[column].isin(allowed)]
    if len(bad):
        raise ValueError(f"{path}: {bad.index[0]!r} has unknown {column} {bad[column].iloc[0]!r}"
                         f" (expected one of {', '.join(sorted(allowed))})")


def _check_shifts(path: Path, responders: pandas.DataFrame) -> None:
    for column, pattern in (("shift_start", SHIFT_START), ("shift_end", SHIFT_END)):
        bad = responders[~responders[column].str.fullmatch(pattern.pattern)]
        if len(bad):
            raise ValueError(f"{path}: {bad.index[0]!r} has bad {column} {bad[column].iloc[0]!r}"
                             " (expected HH:MM local time)")


def _chains(path: Path, chiefs: pandas.DataFrame) -> dict[str, tuple[ChiefOnDuty, ...]]:
    """Every chief's chain to the top, checking it climbs the levels in order."""
    _check_values(path, chiefs, "level", set(LEVELS))
    rows = {r.Index: ChiefOnDuty(level=r.level, title=r.title, chief_id=r.Index, name=r.name,
                                 phone=r.phone, unit=r.unit)
            for r in chiefs.itertuples()}
    wrong = [c for c in rows.values() if c.title != TITLES[c.level]]
    if wrong:
        raise ValueError(f"{path}: {wrong[0].chief_id!r} has title {wrong[0].title!r},"
                         f" expected {TITLES[wrong[0].level]!r} for level {wrong[0].level}")
    parents = dict(zip(chiefs.index, chiefs["parent_id"]))
    chains: dict[str, tuple[ChiefOnDuty, ...]] = {}

    def climb(cid: str) -> tuple[ChiefOnDuty, ...]:
        if cid not in chains:
            chief, parent = rows[cid], parents[cid]
            if chief.level == "general":
                if parent:
                    raise ValueError(f"{path}: 总路长 {cid!r} must have an empty parent_id")
                chains[cid] = (chief,)
            else:
                if parent not in rows:
                    raise ValueError(f"{path}: chain of {cid!r} does not reach 总路长"
                                     f" (parent_id {parent!r} is unknown)")
                above = LEVELS[LEVELS.index(chief.level) + 1]
                if rows[parent].level != above:
                    raise ValueError(f"{path}: chain of {cid!r} does not reach 总路长 through the"
                                     f" levels in order ({chief.level} -> {rows[parent].level},"
                                     f" expected {above})")
                chains[cid] = (chief, *climb(parent))
        return chains[cid]

    for cid in rows:  # levels strictly rise, so a chain is at most five long: no cycles
        climb(cid)
    return chains


def _read_roads(folder: Path, chiefs: pandas.DataFrame) -> geopandas.GeoDataFrame:
    """The road network from GeoJSON or GeoPackage, in WGS84, indexed by segment_id."""
    found = [folder / name for name in ("roads.geojson", "roads.gpkg") if (folder / name).exists()]
    if len(found) != 1:
        raise ValueError(f"{folder}: expected exactly one of roads.geojson, roads.gpkg"
                         f" (found {len(found)})")
    path = found[0]
    roads = geopandas.read_file(path)
    _check_table(path, roads, ROAD_COLUMNS, "segment_id")
    if roads.crs is None:
        raise ValueError(f"{path}: the layer has no coordinate reference system")
    kinds = roads.geometry.geom_type
    if (kinds != "LineString").any() or roads.geometry.is_empty.any():
        bad = roads[(kinds != "LineString") | roads.geometry.is_empty]
        raise ValueError(f"{path}: segment {bad['segment_id'].iloc[0]!r} is"
                         f" {bad.geometry.geom_type.iloc[0] or 'empty'}, not a LineString")
    roads = roads.to_crs("EPSG:4326").astype({"segment_id": str, "road_manager_id": str})
    roads = roads.set_index("segment_id")
    _check_values(path, roads, "road_class", ROAD_CLASSES)
    _check_values(path, roads, "area_type", AREA_TYPES)
    speeds = pandas.to_numeric(roads["speed_kmh"], errors="coerce")
    if not (speeds > 0).all():
        raise ValueError(f"{path}: speed_kmh must be a positive number on every segment")
    roads["speed_kmh"] = speeds.astype(int)
    managers = chiefs["level"].reindex(roads["road_manager_id"])
    if (managers != "road_manager").any():
        bad = roads[(managers != "road_manager").to_numpy()]
        raise ValueError(f"{path}: segment {bad.index[0]!r} has road_manager_id"
                         f" {bad['road_manager_id'].iloc[0]!r}, which is not a 路管员 in chiefs.csv")
    roads["oneway"] = (roads["oneway"].fillna("").astype(str).str.strip().str.lower()
                       if "oneway" in roads else "")
    _check_values(path, roads, "oneway", ONEWAY)
    return roads[list(ROAD_COLUMNS[1:] + OPTIONAL_ROAD_COLUMNS) + ["geometry"]]
