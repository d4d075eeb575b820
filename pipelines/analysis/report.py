"""`roadchief report`: one self-contained HTML page for the command centre's weekly meeting.

Everything it shows comes from the output tables (and the world's roads,
cameras and roster): the headline figures against a year earlier, city and
urban/rural; the year month by month; one row per town; league tables of
road chiefs by how fast their officers arrive and how often they intercept;
how much the inputs lost (data quality); and maps of incidents, hits,
dispatches and responder coverage, all over the report's period. Images are
embedded as data: URIs and the styles inline, so the file opens anywhere,
offline, and can be mailed as it is.

Percentages arrive from SQL as whole per cent (`pipelines.analysis.safety`)
and are shown as they are. A figure drawn from fewer than FEW_DISPATCHES
dispatches carries FEW_MARK and takes no league position.
"""
import base64
import html
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from geo import maps
from geo.world import TITLES, load_world
from pipelines.analysis import quality
from pipelines.analysis.safety import FEW_DISPATCHES, chosen_period, headline, league, months, towns
from pipelines.analysis.tables import connect

STYLE = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "DejaVu Sans", sans-serif; margin: 24px;
       color: #222; max-width: 1500px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
p.note { color: #555; font-size: 12px; }
table { border-collapse: collapse; font-size: 12px; margin: 8px 0; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
td.up { color: #b2182b; } td.down { color: #1a7837; }
sup.few { color: #b35806; }
.maps { display: flex; flex-wrap: wrap; gap: 12px; } .maps img { width: 600px; border: 1px solid #ddd; }
"""
SLOWEST_MANAGERS = 10
SILENT_LISTED = 20
FEW_MARK = f'<sup class="few" title="fewer than {FEW_DISPATCHES} dispatches">few</sup>'
# Figures about dispatches, marked where there were few; a higher one is better for the last.
DISPATCH_FIGURES = {"intercepted %", "intercepted Δ pts", "arrive p50 min", "arrive p50 Δ min",
                    "arrive p90 min", "on target %"}
BETTER_WHEN_HIGHER = {"intercepted Δ pts"}
FEW_NOTE = (f'<p class="note">{FEW_MARK}: drawn from fewer than {FEW_DISPATCHES} dispatches: shown, but '
            "too few to judge by, and given no league position.</p>")


def _cell(column: str, value, few: bool = False) -> str:
    if value is None:
        return "<td>–</td>"
    css = ""
    if "Δ" in column and isinstance(value, (int, float)):
        worse = value < 0 if column in BETTER_WHEN_HIGHER else value > 0
        better = value > 0 if column in BETTER_WHEN_HIGHER else value < 0
        css = ' class="up"' if worse else ' class="down"' if better else ""
        value = f"{value:+,}"
    elif isinstance(value, (int, float)):
        value = f"{value:,}"
    mark = FEW_MARK if few and column in DISPATCH_FIGURES else ""
    return f"<td{css}>{html.escape(str(value))}{mark}</td>"


def _is_few(columns: list[str], row: tuple) -> bool:
    return "dispatches" in columns and row[columns.index("dispatches")] < FEW_DISPATCHES


def _table(columns: list[str], rows: list[tuple]) -> str:
    if not rows:
        return '<p class="note">No rows for this period.</p>'
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(c, v, _is_few(columns, row)) for c, v in zip(columns, row)) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _ranked(columns: list[str], rows: list[tuple]) -> tuple[list[str], list[tuple]]:
    """A league with its positions: those with few dispatches (last, as the query orders them) get none."""
    position = iter(range(1, len(rows) + 1))
    return ["#", *columns], [(None if _is_few(columns, row) else next(position), *row) for row in rows]


def _months(con, period: tuple[str, str]) -> str:
    """The year month by month: each figure for the city, urban and rural roads side by side."""
    columns, rows = months(con, period)
    areas = {"all": "city", "urban": "urban", "rural": "rural"}
    figures = ["incidents", "accidents", "dispatches", "intercepted %", "arrive p50 min"]
    by_month: dict[str, dict] = {}
    for row in rows:
        record = dict(zip(columns, row))
        by_month.setdefault(record["month"], {})[record["area"]] = record
    head = ("<tr><th rowspan=2>month</th>" + "".join(f"<th colspan=3>{html.escape(f)}</th>" for f in figures)
            + "</tr><tr>" + "".join(f"<th>{a}</th>" for _ in figures for a in areas.values()) + "</tr>")
    body = ""
    for month, by_area in by_month.items():
        cells = "".join(
            _cell(figure, by_area[area][figure], by_area[area]["dispatches"] < FEW_DISPATCHES)
            if area in by_area else "<td>–</td>" for figure in figures for area in areas)
        body += f"<tr><td>{html.escape(month)}</td>{cells}</tr>"
    return f"<table>{head}{body}</table>" if by_month else '<p class="note">No months for this period.</p>'


def _quality(con, world, period: tuple[str, str]) -> list[str]:
    passings, unread, heard = quality.passings(con, period)
    silent = quality.silent_cameras(con, period, world.cameras)
    share = f" ({round(100 * unread / passings)}%)" if passings else ""
    listed = silent.head(SILENT_LISTED)
    rows = [(camera, row["name"], row["town"], row["defence_layer"]) for camera, row in listed.iterrows()]
    more = len(silent) - len(listed)
    return [
        "<h2>Data quality</h2>",
        f'<p>Passings in the period: {passings:,}, of which unread plates (a frame the plate model could not '
        f"read): {unread:,}{share}. Cameras heard from: {heard:,} of {len(world.cameras):,}; "
        f"silent in the period: {len(silent):,} (their roads look quieter than they are).</p>",
        "" if passings else '<p class="note">The tables hold no camera events in this period: the maps of '
        "hits and the silent cameras say nothing about it.</p>",
        "<h3>Dead letters by input and stage (all the tables hold)</h3>", _table(*quality.dead_letters_by_stage(con)),
        f"<h3>Silent cameras ({len(silent):,})</h3>",
        _table(["camera", "name", "town", "defence line"], rows),
        f'<p class="note">… and {more:,} more.</p>' if more > 0 else "",
    ]


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _counts(con, column: str, period: tuple[str, str]) -> pd.Series:
    rows = con.execute(f"""SELECT key, {column} FROM safety_metrics WHERE period = ? AND label = ?
                           AND dimension = 'segment' AND key <> 'unplaced'""", list(period)).fetchall()
    return pd.Series({key: n for key, n in rows}, dtype=float)


def _maps(con, world, period: tuple[str, str]) -> list[str]:
    start, end = con.execute("""SELECT min(period_start), max(period_end) FROM safety_metrics
                                WHERE period = ? AND label = ?""", list(period)).fetchone()
    responses = con.execute("SELECT lon, lat, result FROM responses WHERE dispatched_at >= ? AND dispatched_at < ? "
                            "AND lon IS NOT NULL", [start, end]).df()
    zone = ZoneInfo(world.timezone)
    last_day = (end.astimezone(zone) - timedelta(days=1)).date()
    return [
        _img(maps.segments_by(world, _counts(con, "incidents + accidents", period),
                              f"Incidents and accidents by segment, {period[1]}"), "incidents map"),
        _img(maps.segments_by(world, _counts(con, "hits", period),
                              f"Watchlist hits by segment, {period[1]}", cmap="PuRd"), "hits map"),
        _img(maps.dispatch_points(world, responses, f"Dispatches by result, {period[1]}"), "dispatch map"),
        *(_img(maps.responder_coverage(world, datetime.combine(last_day, time(hour), zone)),
               f"coverage at {hour}:00") for hour in (10, 2)),
    ]


def _plans(con, world) -> list[str]:
    """The run's top dispatches (latest versions) with a plan, mapped: where to meet the vehicle."""
    rows = con.execute("""
        SELECT plate, lon, lat, intercepts, intercept_chance FROM dispatches
        WHERE len(intercepts) > 0 AND lon IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY dispatch_id ORDER BY sightings DESC, len(categories) DESC) = 1
        ORDER BY priority, sightings DESC, dispatch_id LIMIT 3""").fetchall()
    if not rows:
        return []
    plans = [{"lon": lon, "lat": lat, "intercepts": stops, "chance": chance} for _, lon, lat, stops, chance in rows]
    numbered = " · ".join(f"{number} {html.escape(plate)}" for number, (plate, *_) in enumerate(rows, 1))
    return ["<h2>Interception plans: the run's top dispatches</h2>",
            f'<p class="note">Dispatches by number: {numbered}.</p>',
            '<p class="note">Star: the last sighting; dashed: the fastest way on for the vehicle to each point; '
            "circle: an interception point, square: a border handover; solid: the route of the responder there "
            "from his post (triangle).</p>",
            _img(maps.interception_plans(world, plans, "Interception plans"), "plans map")]


def write_report(tables_dir, out_path, world_folder, period: str | None = None,
                 label: str | None = None, progress: Callable[[str], None] = lambda step: None) -> tuple[str, str]:
    """Write the report for one period (default: see pipelines.analysis.safety); return the period.

    `progress` is told each step as it begins: the maps take most of the time."""
    progress("reading the tables")
    con = connect(tables_dir)
    chosen = chosen_period(con, period, label)
    if chosen is None:
        raise ValueError(f"{tables_dir}: no safety metrics to report; run with --incidents and --outcomes")
    progress("loading the world")
    world = load_world(world_folder)
    progress("league tables")
    levels = world.chiefs["level"]
    managers = league(con, chosen, list(levels.index[levels == "road_manager"]))
    ranked = [row for row in managers[1] if row[managers[0].index("arrive p50 min")] is not None
              and not _is_few(managers[0], row)]
    slowest = (managers[0], ranked[-SLOWEST_MANAGERS:][::-1])
    town_key = " · ".join(f"{number} {html.escape(town)}" for number, town in enumerate(maps.towns(world), 1))
    sections = [
        f"<h2>Headline: {html.escape(chosen[0])} {html.escape(chosen[1])}, against the same period a year earlier</h2>",
        _table(*headline(con, chosen)),
        '<p class="note">Incidents are public-order incidents (警情); Δ% is the change against the same '
        "period a year earlier, Δ pts and Δ min the difference from it (– where the data do not reach back). "
        "On target: on scene within the arrival target of the segment's area type. Percentages are whole "
        "per cent, rounded once from the counts.</p>", FEW_NOTE,
        "<h2>Month by month, the year to the end of the period</h2>", _months(con, chosen),
        "<h2>Towns, the most incidents and accidents first</h2>", _table(*towns(con, chosen)),
        f"<h2>{TITLES['level1']} (town chiefs), fastest median arrival first</h2>",
        _table(*_ranked(*league(con, chosen, list(levels.index[levels == "level1"])))),
        f"<h2>{TITLES['level2']}</h2>",
        _table(*_ranked(*league(con, chosen, list(levels.index[levels == "level2"])))),
        f"<h2>{TITLES['road_manager']}: the {SLOWEST_MANAGERS} slowest median arrivals "
        f"(of those with at least {FEW_DISPATCHES} dispatches)</h2>", _table(*slowest),
        *_quality(con, world, chosen),
    ]
    progress("drawing the maps")
    sections += [f"<h2>Maps, {html.escape(chosen[0])} {html.escape(chosen[1])}</h2>",
                 f'<p class="note">Towns by number: {town_key}. Scale bar and north arrow on each map; town 1 '
                 "enlarged top right.</p>",
                 '<div class="maps">' + "".join(_maps(con, world, chosen)) + "</div>"]
    sections += _plans(con, world)
    generated = datetime.now(ZoneInfo(world.timezone)).strftime("%Y-%m-%d %H:%M %Z")
    page = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>roadchief safety report {html.escape(chosen[1])}</title><style>{STYLE}</style></head>"
            f"<body><h1>Road-chief safety report (路长制) — {html.escape(world.folder.name)}</h1>"
            f'<p class="note">Period {html.escape(chosen[0])} {html.escape(chosen[1])}; '
            f"tables {html.escape(str(tables_dir))}; generated {generated}.</p>"
            + "".join(sections) + "</body></html>")
    Path(out_path).write_text(page, encoding="utf-8")
    return chosen
