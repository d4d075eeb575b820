"""Maps for the safety report, drawn with geopandas and matplotlib as PNG bytes.

Each map shows the road network and one thing on it: segments coloured by a
count, dispatch points by result, or how many minutes the nearest on-duty
responder needs to reach each segment. Labels stay in Latin script so the
maps render the same on a machine without CJK fonts; the report around them
carries the Chinese names.
"""
import io
from datetime import datetime

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import geopandas as gpd  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

from geo.responders import ResponderIndex  # noqa: E402
from geo.world import World  # noqa: E402

RESULT_COLOURS = {"intercepted": "#1a9850", "not_found": "#d73027", "false_hit": "#999999",
                  "pending": "#4575b4"}
SIZE = (7.5, 6.0)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _base(world: World, title: str):
    figure, axes = plt.subplots(figsize=SIZE)
    world.roads.plot(ax=axes, color="#d9d9d9", linewidth=0.6)
    axes.set_title(title, fontsize=10)
    axes.set_axis_off()
    return figure, axes


def segments_by(world: World, counts: pd.Series, title: str, cmap: str = "OrRd") -> bytes:
    """Segments coloured and thickened by `counts` (indexed by segment_id); others grey."""
    figure, axes = _base(world, title)
    counted = world.roads.join(counts.rename("count"), how="inner")
    counted = counted[counted["count"] > 0]
    if len(counted):
        widths = 0.8 + 3.2 * counted["count"] / counted["count"].max()
        counted.plot(ax=axes, column="count", cmap=cmap, linewidth=widths, legend=True,
                     legend_kwds={"shrink": 0.6, "label": "count"})
    else:
        axes.text(0.5, 0.02, "none in this period", transform=axes.transAxes, ha="center")
    return _png(figure)


def dispatch_points(world: World, responses: pd.DataFrame, title: str) -> bytes:
    """Where dispatches were made, coloured by their result (pending: no result yet)."""
    figure, axes = _base(world, title)
    if len(responses):
        results = responses["result"].fillna("pending")
        points = gpd.GeoDataFrame(results.to_frame("result"), crs="EPSG:4326",
                                  geometry=gpd.points_from_xy(responses["lon"], responses["lat"]))
        for result, colour in RESULT_COLOURS.items():
            chosen = points[points["result"] == result]
            if len(chosen):
                chosen.plot(ax=axes, color=colour, markersize=7, alpha=0.7,
                            label=f"{result.replace('_', ' ')} ({len(chosen):,})")
        axes.legend(loc="lower left", fontsize=8, frameon=False)
    return _png(figure)


def responder_coverage(world: World, at: datetime) -> bytes:
    """Minutes for the nearest on-duty responder to reach each segment's midpoint at `at`."""
    figure, axes = _base(world, f"Responder coverage at {at:%H:%M} local: minutes to reach")
    index = ResponderIndex(world)
    at_us = round(at.timestamp() * 1_000_000)
    middles = shapely.line_interpolate_point(world.roads.geometry.values, 0.5, normalized=True)
    minutes = []
    for point, speed in zip(middles, world.roads["speed_kmh"]):
        nearest = index.nearest(point.x, point.y, at_us, 1, float(speed))
        minutes.append(nearest[0].eta_s / 60 if nearest else float("nan"))
    roads = world.roads.assign(minutes=minutes)
    roads.plot(ax=axes, column="minutes", cmap="RdYlGn_r", linewidth=1.6, vmin=0, vmax=10, legend=True,
               legend_kwds={"shrink": 0.6, "label": "minutes (capped at 10)"},
               missing_kwds={"color": "black", "label": "nobody on duty"})
    on_duty = world.responders[index.on_duty(at_us)]
    axes.scatter(on_duty["lon"], on_duty["lat"], s=4, color="#313695", label="on-duty responders")
    axes.legend(loc="lower left", fontsize=8, frameon=False)
    return _png(figure)
