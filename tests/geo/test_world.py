"""The shipped sample world, its generator and the loader's checks."""

import json
import re
import shutil
from pathlib import Path

import geopandas
import pandas
import pytest

from geo.synthetic.build_world import build
from geo.world import LEVELS, chief_chain, load_world, world_province
from models.records import ChiefOnDuty

SHIPPED = Path(__file__).resolve().parents[2] / "geo" / "data" / "qionghai"


@pytest.fixture(scope="module")
def world():
    return load_world(SHIPPED)


@pytest.fixture
def copy(tmp_path):
    """A writable copy of the shipped world folder."""
    return Path(shutil.copytree(SHIPPED, tmp_path / "world"))


def test_shipped_world_is_big_enough(world):
    assert len(world.roads) >= 300
    assert world.roads["town"].nunique() >= 8
    assert len(world.cameras) >= 100
    assert set(world.cameras["defence_layer"]) == {
        "border_checkpoint", "arterial_checkpoint", "street_grid", "core_zone", "mobile", "private"}
    assert len(pandas.read_csv(world.watchlist_path)) >= 1000
    assert 300 <= len(world.responders) <= 600
    assert world.timezone == "Asia/Shanghai" and world.metric_crs == "EPSG:32649"


def test_named_roads_are_where_they_belong(world):
    towns_of = world.roads.groupby("road_name")["town"].agg(set)
    assert "嘉积镇" in towns_of["银海路"] and "嘉积镇" in towns_of["东风路"]
    assert "博鳌镇" in towns_of["滨海大道"]
    ring = world.roads[world.roads["road_name"] == "嘉积环城高速"]
    assert len(ring) >= 8 and set(ring["road_class"]) == {"expressway"}


def test_network_is_one_connected_component(world):
    parent = {}

    def root(node):
        parent.setdefault(node, node)
        while parent[node] != node:
            node = parent[node]
        return node

    for line in world.roads.geometry:
        parent[root(line.coords[0])] = root(line.coords[-1])
    assert len({root(node) for node in parent}) == 1


def test_every_segment_climbs_the_five_levels(world):
    for manager in world.roads["road_manager_id"].unique():
        chain = chief_chain(world, manager)
        assert tuple(c.level for c in chain) == LEVELS
        assert [c.title for c in chain] == ["路管员", "三级路长", "二级路长", "一级路长", "总路长"]
    with pytest.raises(KeyError):
        chief_chain(world, "RM-9999")


def test_a_chain_holds_the_records_a_dispatch_carries(world):
    manager = world.roads["road_manager_id"].iloc[0]
    chain = chief_chain(world, manager)
    assert all(type(chief) is ChiefOnDuty for chief in chain)
    assert chain[0].chief_id == manager and chain[0].phone == world.chiefs.loc[manager, "phone"]


def test_fixed_cameras_stand_beside_a_road_except_the_unplaced_ones(world):
    cameras = world.cameras[world.cameras["defence_layer"] != "mobile"]
    points = geopandas.GeoDataFrame(
        geometry=geopandas.points_from_xy(cameras["lon"], cameras["lat"]), index=cameras.index,
        crs="EPSG:4326").to_crs(world.metric_crs)
    near = geopandas.sjoin_nearest(points, world.roads[["geometry"]].to_crs(world.metric_crs),
                                   distance_col="metres")
    metres = near["metres"].groupby(level=0).min()
    unplaced = metres[metres > 200]
    assert 2 <= len(unplaced) <= 3
    assert all("离路" in name for name in cameras.loc[unplaced.index, "name"])
    assert (metres.drop(unplaced.index) <= 15).all()


def test_shifts_include_ones_that_wrap_midnight(world):
    shifts = world.responders
    assert (shifts["shift_end"] < shifts["shift_start"]).any()
    assert ((shifts["shift_start"] == "00:00") & (shifts["shift_end"] == "24:00")).any()


def test_a_geopackage_network_loads_the_same(world, copy):
    roads = geopandas.read_file(copy / "roads.geojson")
    roads.to_file(copy / "roads.gpkg", driver="GPKG")
    (copy / "roads.geojson").unlink()
    pandas.testing.assert_frame_equal(load_world(copy).roads, world.roads)


def test_build_is_deterministic_and_matches_the_shipped_files(tmp_path):
    build(7, tmp_path / "a")
    build(7, tmp_path / "b")
    for path in sorted(SHIPPED.iterdir()):
        assert (tmp_path / "a" / path.name).read_bytes() == (tmp_path / "b" / path.name).read_bytes()
        assert (tmp_path / "a" / path.name).read_bytes() == path.read_bytes(), f"rebuild {path.name}"
    build(8, tmp_path / "c")
    assert (tmp_path / "c" / "chiefs.csv").read_bytes() != (tmp_path / "a" / "chiefs.csv").read_bytes()


def edit_csv(path: Path, change) -> None:
    table = pandas.read_csv(path, dtype=str, keep_default_na=False)
    change(table)
    table.to_csv(path, index=False)


def set_cell(column, value, row=0):
    def change(table):
        table.loc[row, column] = value
    return change


def edit_text(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def to_point(folder: Path) -> None:
    roads = geopandas.read_file(folder / "roads.geojson")
    roads.loc[3, "geometry"] = roads.geometry.iloc[3].centroid
    roads.to_file(folder / "roads.gpkg", driver="GPKG")
    (folder / "roads.geojson").unlink()


def one_way(rule: str):
    def change(folder: Path) -> None:
        roads = geopandas.read_file(folder / "roads.geojson")
        roads["oneway"] = ""
        roads.loc[0, "oneway"] = rule
        roads.to_file(folder / "roads.geojson", driver="GeoJSON")
    return change


def test_a_one_way_column_is_kept_for_the_network(copy):
    one_way("yes")(copy)
    roads = load_world(copy).roads
    assert roads["oneway"].iloc[0] == "yes" and (roads["oneway"].iloc[1:] == "").all()


def rename_managers(folder: Path) -> None:
    edit_text(folder / "roads.geojson", '"road_manager_id":"RM-', '"road_manager_id":"XX-')


BROKEN = {  # how to break a copy of the world, and what the loader must say
    "missing column": (
        lambda f: edit_csv(f / "cameras.csv", lambda t: t.pop("town")),
        r"cameras\.csv: missing column\(s\) town"),
    "duplicate id": (
        lambda f: edit_csv(f / "cameras.csv", set_cell("camera_id", "QH-BC-002")),
        r"cameras\.csv: duplicate camera_id 'QH-BC-002'"),
    "unknown road manager": (
        rename_managers, r"roads\.geojson: segment .* not a 路管员 in chiefs\.csv"),
    "chain skips a level": (
        lambda f: edit_csv(f / "chiefs.csv", set_cell("parent_id", "RC-L1-0001", row=3)),
        r"chiefs\.csv: chain of 'RC-L3-0001' does not reach 总路长 through the levels"),
    "chain to nowhere": (
        lambda f: edit_csv(f / "chiefs.csv", set_cell("parent_id", "RC-L1-9999", row=2)),
        r"chiefs\.csv: chain of 'RC-L2-0001' does not reach 总路长 \(parent_id 'RC-L1-9999'"),
    "unknown defence layer": (
        lambda f: edit_csv(f / "cameras.csv", set_cell("defence_layer", "satellite")),
        r"cameras\.csv: 'QH-BC-001' has unknown defence_layer 'satellite'"),
    "not a linestring": (
        to_point, r"roads\.gpkg: segment .* is Point, not a LineString"),
    "bad shift time": (
        lambda f: edit_csv(f / "responders.csv", set_cell("shift_start", "8:00")),
        r"responders\.csv: 'RSP-0001' has bad shift_start '8:00'"),
    "unknown one-way rule": (
        one_way("sometimes"), r"roads\.geojson: .* has unknown oneway 'sometimes'"),
    "no roads": (
        lambda f: (f / "roads.geojson").unlink(),
        r"expected exactly one of roads\.geojson, roads\.gpkg"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_worlds_fail_with_a_clear_message(copy, case):
    breaks, message = BROKEN[case]
    breaks(copy)
    with pytest.raises(ValueError, match=message):
        load_world(copy)


def _rewrite_meta(folder: Path, **changes) -> None:
    """world.json with `changes` (a None value removes the key)."""
    meta = json.loads((folder / "world.json").read_text(encoding="utf-8"))
    meta.update(changes)
    meta = {key: value for key, value in meta.items() if value is not None}
    (folder / "world.json").write_text(json.dumps(meta), encoding="utf-8")


def test_a_world_json_without_a_metric_crs_gets_the_utm_zone_of_its_roads(copy):
    roads = geopandas.read_file(copy / "roads.geojson")
    roads.geometry = roads.geometry.translate(xoff=6.0)  # one UTM zone east of Qionghai's 49N
    (copy / "roads.geojson").unlink()
    roads.to_file(copy / "roads.geojson", driver="GeoJSON")
    _rewrite_meta(copy, metric_crs=None)
    assert load_world(copy).metric_crs == "EPSG:32650"


@pytest.mark.parametrize("changes, problem", [
    ({"timezone": "China/Hainan"}, "timezone 'China/Hainan' is not an IANA time zone"),
    ({"metric_crs": "EPSG:4326"}, "metric_crs 'EPSG:4326' does not measure in metres"),
    ({"metric_crs": "EPSG:nope"}, "metric_crs 'EPSG:nope' is not a coordinate reference system"),
    ({"province": "Hainan"}, "province 'Hainan' is not a province's one-character abbreviation"),
])
def test_a_broken_world_json_is_refused_naming_the_file_and_the_key(copy, changes, problem):
    _rewrite_meta(copy, **changes)
    with pytest.raises(ValueError, match=rf"world\.json: {re.escape(problem)}"):
        load_world(copy)


def test_a_world_json_that_is_not_json_is_refused_naming_the_file(copy):
    (copy / "world.json").write_text("{timezone: Asia/Shanghai}", encoding="utf-8")
    with pytest.raises(ValueError, match=r"world\.json: not valid JSON"):
        load_world(copy)


def test_the_sample_worlds_cameras_stand_in_hainan(copy):
    assert load_world(copy).province == world_province(copy) == "琼"
    _rewrite_meta(copy, province=None)
    assert load_world(copy).province is None
