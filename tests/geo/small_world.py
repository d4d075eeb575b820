"""Hand-made worlds of a few roads, laid out in metres, for hand-worked travel times.

Roads are drawn in the sample world's metric CRS (UTM 49N) from an origin near
Qionghai, so 1,000 units are 1,000 metres; every road is 36 km/h (10 m/s)
unless given otherwise.
"""
from types import SimpleNamespace

import geopandas
import pandas
from pyproj import Transformer
from shapely.geometry import LineString

METRIC_CRS = "EPSG:32649"
ORIGIN = (260_000.0, 2_130_000.0)
_TO_LONLAT = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)


def lonlat(x: float, y: float) -> tuple[float, float]:
    """A position given in metres from the origin, in WGS84."""
    return _TO_LONLAT.transform(ORIGIN[0] + x, ORIGIN[1] + y)


def road(segment_id, start, end, name="银海路", road_class="collector", speed_kmh=36, oneway=""):
    return {"segment_id": segment_id, "road_name": name, "road_class": road_class, "town": "嘉积镇",
            "area_type": "urban", "speed_kmh": speed_kmh, "oneway": oneway,
            "geometry": LineString([lonlat(*start), lonlat(*end)])}


def responder(responder_id, at, mode="car", shift=("00:00", "24:00"), kind="patrol"):
    lon, lat = lonlat(*at)
    return {"responder_id": responder_id, "name": responder_id, "kind": kind, "unit": "测试大队",
            "phone": "110", "lon": lon, "lat": lat, "shift_start": shift[0], "shift_end": shift[1],
            "mode": mode}


def camera(camera_id, at, layer="street_grid", name=None):
    lon, lat = lonlat(*at)
    return {"camera_id": camera_id, "name": name or camera_id, "defence_layer": layer,
            "lon": lon, "lat": lat, "heading_deg": 0, "town": "嘉积镇"}


def small_world(roads, responders=(), cameras=()):
    """A World-like object with just what the network, responders and plans read."""
    roads_frame = geopandas.GeoDataFrame(list(roads), crs="EPSG:4326").set_index("segment_id")
    columns = ["responder_id", "name", "kind", "unit", "phone", "lon", "lat", "shift_start",
               "shift_end", "mode"]
    camera_columns = ["camera_id", "name", "defence_layer", "lon", "lat", "heading_deg", "town"]
    return SimpleNamespace(
        roads=roads_frame, metric_crs=METRIC_CRS, timezone="Asia/Shanghai",
        responders=pandas.DataFrame(list(responders), columns=columns).set_index("responder_id"),
        cameras=pandas.DataFrame(list(cameras), columns=camera_columns).set_index("camera_id"))
