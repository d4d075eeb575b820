"""Maps for the safety report, drawn with geopandas and matplotlib as PNG bytes.

Each map shows the road network and one thing on it: segments coloured by a
count, dispatch points by result, or how many minutes the nearest on-duty
responder needs to reach each segment. Every map carries the same furniture
so it reads on paper: a number on each town (the report lists the towns by
number: labels stay in Latin script so the maps render the same on a machine
without CJK fonts), a scale bar, a north arrow, and the busiest town — the
one with most road segments, Jiaji in the sample world — enlarged in an inset,
where its dense grid would otherwise be a blot.
"""
import io
import math
from collections.abc import Callable
from datetime import datetime

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import geopandas as gpd  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

from geo.network import VEHICLE  # noqa: E402
from geo.responders import ResponderIndex  # noqa: E402
from geo.world import World  # noqa: E402

RESULT_COLOURS = {"intercepted": "#1a9850", "not_found": "#d73027", "false_hit": "#999999",
                  "pending": "#4575b4"}
SIZE = (7.5, 6.0)
KM_PER_DEGREE = 111.32  # along a meridian; along a parallel times cos(latitude)


def towns(world: World) -> list[str]:
    """The towns in the order the maps number them (1, 2, …): most road segments first."""
    sizes = world.roads.groupby("town").size()
    return sorted(sizes.index, key=lambda town: (-sizes[town], town))


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _town_numbers(world: World, axes) -> None:
    for number, town in enumerate(towns(world), start=1):
        centre = world.roads[world.roads["town"] == town].union_all().centroid
        axes.annotate(str(number), (centre.x, centre.y), ha="center", va="center", fontsize=8,
                      fontweight="bold", bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "#444"})


def _scale_bar(axes) -> None:
    """A bar of a round number of kilometres, about a fifth of the map wide, bottom right."""
    (west, east), (south, north) = axes.get_xlim(), axes.get_ylim()
    km_per_degree = KM_PER_DEGREE * math.cos(math.radians((south + north) / 2))
    wanted = (east - west) * km_per_degree / 5
    km = max(k for k in (1, 2, 5, 10, 20, 50, 100) if k <= max(wanted, 1))
    right, bottom = east - (east - west) * 0.04, south + (north - south) * 0.04
    left = right - km / km_per_degree
    axes.plot([left, right], [bottom, bottom], color="black", linewidth=3, solid_capstyle="butt")
    axes.annotate(f"{km} km", ((left + right) / 2, bottom), xytext=(0, 4), textcoords="offset points",
                  ha="center", va="bottom", fontsize=8)


def _north_arrow(axes) -> None:
    axes.annotate("N", xy=(0.04, 0.97), xytext=(0.04, 0.86), xycoords="axes fraction", ha="center",
                  va="center", fontsize=10, fontweight="bold",
                  arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.5})


def _inset(world: World, axes, draw: Callable) -> None:
    """The busiest town enlarged, top right, framed on the main map."""
    core = world.roads[world.roads["town"] == towns(world)[0]]
    west, south, east, north = core.total_bounds
    inset = axes.inset_axes((0.66, 0.6, 0.34, 0.36))
    world.roads.plot(ax=inset, color="#d9d9d9", linewidth=0.8)
    draw(inset, False)
    margin = 0.05 * max(east - west, north - south)
    inset.set_xlim(west - margin, east + margin)
    inset.set_ylim(south - margin, north + margin)
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_xlabel("")
    inset.set_ylabel("")
    inset.text(0.03, 0.97, "1", transform=inset.transAxes, ha="left", va="top", fontsize=8, fontweight="bold")
    axes.indicate_inset_zoom(inset, edgecolor="#444")


def _map(world: World, title: str, draw: Callable) -> bytes:
    """One map: grey roads, `draw(axes, legend)`'s layer, the furniture, and the inset."""
    figure, axes = plt.subplots(figsize=SIZE)
    world.roads.plot(ax=axes, color="#d9d9d9", linewidth=0.6)
    draw(axes, True)
    axes.set_title(title, fontsize=10, pad=12)
    axes.set_axis_off()
    _town_numbers(world, axes)
    _scale_bar(axes)
    _north_arrow(axes)
    _inset(world, axes, draw)
    return _png(figure)


def segments_by(world: World, counts: pd.Series, title: str, cmap: str = "OrRd") -> bytes:
    """Segments coloured and thickened by `counts` (indexed by segment_id); others grey."""
    counted = world.roads.join(counts.rename("count"), how="inner")
    counted = counted[counted["count"] > 0]

    def draw(axes, legend: bool) -> None:
        if len(counted):
            widths = 0.8 + 3.2 * counted["count"] / counted["count"].max()
            counted.plot(ax=axes, column="count", cmap=cmap, linewidth=widths, legend=legend,
                         vmin=0, vmax=counted["count"].max(),
                         legend_kwds={"shrink": 0.6, "label": "count", "location": "left"})
        elif legend:
            axes.text(0.5, 0.02, "none in this period", transform=axes.transAxes, ha="center")
    return _map(world, title, draw)


def dispatch_points(world: World, responses: pd.DataFrame, title: str) -> bytes:
    """Where dispatches were made, coloured by their result (pending: no result yet)."""
    results = responses["result"].fillna("pending")
    points = gpd.GeoDataFrame(results.to_frame("result"), crs="EPSG:4326",
                              geometry=gpd.points_from_xy(responses["lon"], responses["lat"]))

    def draw(axes, legend: bool) -> None:
        for result, colour in RESULT_COLOURS.items():
            chosen = points[points["result"] == result]
            if len(chosen):
                chosen.plot(ax=axes, color=colour, markersize=7, alpha=0.7,
                            label=f"{result.replace('_', ' ')} ({len(chosen):,})")
        if legend and len(points):
            axes.legend(loc="lower left", fontsize=8, frameon=False)
        elif legend:
            axes.text(0.5, 0.02, "none in this period", transform=axes.transAxes, ha="center")
    return _map(world, title, draw)


def responder_coverage(world: World, at: datetime) -> bytes:
    """Minutes for the nearest on-duty responder to reach each segment's midpoint at `at`."""
    index = ResponderIndex(world)
    at_us = round(at.timestamp() * 1_000_000)
    middles = shapely.line_interpolate_point(world.roads.geometry.values, 0.5, normalized=True)
    minutes = []
    for point in middles:
        nearest = index.nearest(point.x, point.y, at_us, 1)
        minutes.append(nearest[0].eta_s / 60 if nearest else float("nan"))
    roads = world.roads.assign(minutes=minutes)
    on_duty = world.responders[index.on_duty(at_us)]

    def draw(axes, legend: bool) -> None:
        roads.plot(ax=axes, column="minutes", cmap="RdYlGn_r", linewidth=1.6, vmin=0, vmax=10, legend=legend,
                   legend_kwds={"shrink": 0.6, "label": "minutes (capped at 10)", "location": "left"},
                   missing_kwds={"color": "black", "label": "nobody on duty"})
        axes.scatter(on_duty["lon"], on_duty["lat"], s=4, color="#313695", label="on-duty responders")
        if legend:
            axes.legend(loc="lower left", fontsize=8, frameon=False)
    return _map(world, f"Responder coverage at {at:%Y-%m-%d %H:%M} local: minutes to reach", draw)


PLAN_COLOURS = ("#d73027", "#4575b4", "#1a9850")


def interception_plans(world: World, plans: list[dict], title: str) -> bytes:
    """A few dispatches' plans, zoomed to them: the last sighting (star), the vehicle's fastest
    way to each interception point (dashed), the point (circle; a square for a border
    handover) and each responder's route to it (solid), one colour a dispatch.

    `plans` are rows of the dispatches table: lon, lat, intercepts and chance (intercept_chance);
    the legend numbers them in order (plates are not in Latin script, see the module)."""
    index = ResponderIndex(world)
    network = index.network
    row_of = {str(rid): i for i, rid in enumerate(world.responders.index)}
    figure, axes = plt.subplots(figsize=SIZE)
    world.roads.plot(ax=axes, color="#d9d9d9", linewidth=0.8)
    xs: list[float] = []
    ys: list[float] = []

    def line(nodes: list[int], **style) -> None:
        if len(nodes) > 1:
            lonlat = network.node_lonlat[nodes]
            axes.plot(lonlat[:, 0], lonlat[:, 1], **style)

    for number, (plan, colour) in enumerate(zip(plans, PLAN_COLOURS), start=1):
        seen = network.locate(*index.to_metric.transform(plan["lon"], plan["lat"]))
        vehicle_s, _ = network.times(network.seeds_from(seen, VEHICLE, math.inf), VEHICLE)
        axes.plot(plan["lon"], plan["lat"], marker="*", markersize=14, color=colour, linestyle="",
                  label=f"dispatch {number}: its points catch {plan['chance']:.0%} of its likely paths")
        xs.append(plan["lon"])
        ys.append(plan["lat"])
        for stop in plan["intercepts"]:
            node = network.nearest_node(stop["lon"], stop["lat"])
            line(network.route(vehicle_s, node, VEHICLE), color=colour, linestyle="--", linewidth=1.2)
            for responder in stop["responders"]:
                r = row_of[responder["responder_id"]]
                line(index.route(r, node), color=colour, linewidth=2.2, alpha=0.8)
                axes.plot(*world.responders[["lon", "lat"]].iloc[r], marker="^", color=colour, markersize=6)
            axes.plot(stop["lon"], stop["lat"], marker="o" if stop["kind"] == "intercept" else "s",
                      markersize=9, markerfacecolor="white", markeredgecolor=colour, markeredgewidth=2)
            xs.append(stop["lon"])
            ys.append(stop["lat"])
    if xs:
        margin = 0.15 * max(max(xs) - min(xs), max(ys) - min(ys), 0.01)
        axes.set_xlim(min(xs) - margin, max(xs) + margin)
        axes.set_ylim(min(ys) - margin, max(ys) + margin)
        axes.legend(loc="lower left", fontsize=8, frameon=False)
    axes.set_title(title, fontsize=10, pad=12)
    axes.set_axis_off()
    _scale_bar(axes)
    _north_arrow(axes)
    return _png(figure)
