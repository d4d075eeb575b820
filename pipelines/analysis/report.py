"""`roadchief report`: one self-contained HTML page for the command centre's weekly meeting.

Everything it shows comes from the output tables (and the world's roads and
roster for the maps): the headline figures against a year earlier, city and
urban/rural; league tables of road chiefs by how fast their officers arrive
and how often they intercept; and maps of incidents, hits, dispatches and
responder coverage. Images are embedded as data: URIs and the styles inline,
so the file opens anywhere, offline, and can be mailed as it is.
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
from pipelines.analysis.safety import chosen_period, headline, league
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
.maps { display: flex; flex-wrap: wrap; gap: 12px; } .maps img { width: 600px; border: 1px solid #ddd; }
"""
SLOWEST_MANAGERS = 10


def _cell(column: str, value) -> str:
    if value is None:
        return "<td>–</td>"
    css = ""
    if "Δ%" in column and isinstance(value, (int, float)):
        css = ' class="up"' if value > 0 else ' class="down"' if value < 0 else ""
        value = f"{value:+.1f}"
    elif isinstance(value, float):
        value = f"{value:,.1f}"
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"<td{css}>{html.escape(str(value))}</td>"


def _table(columns: list[str], rows: list[tuple]) -> str:
    if not rows:
        return '<p class="note">No rows for this period.</p>'
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(_cell(c, v) for c, v in zip(columns, row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _counts(con, column: str, period: tuple[str, str]) -> pd.Series:
    rows = con.execute(f"""SELECT key, {column} FROM safety_metrics WHERE period = ? AND label = ?
                           AND dimension = 'segment' AND key <> 'unplaced'""", list(period)).fetchall()
    return pd.Series({key: n for key, n in rows}, dtype=float)


def _latest_day_with(con, column: str):
    found = con.execute(f"""SELECT label FROM safety_metrics WHERE period = 'day' AND dimension = 'all'
                            AND {column} > 0 ORDER BY label DESC LIMIT 1""").fetchone()
    return ("day", found[0]) if found else None


def _maps(con, world, period: tuple[str, str]) -> list[str]:
    hits_period = period if _counts(con, "hits", period).sum() > 0 else _latest_day_with(con, "hits") or period
    start, end = con.execute("""SELECT min(period_start), max(period_end) FROM safety_metrics
                                WHERE period = ? AND label = ?""", list(period)).fetchone()
    responses = con.execute("SELECT lon, lat, result FROM responses WHERE dispatched_at >= ? AND dispatched_at < ? "
                            "AND lon IS NOT NULL", [start, end]).df()
    zone = ZoneInfo(world.timezone)
    last_day = (end.astimezone(zone) - timedelta(days=1)).date()
    return [
        _img(maps.segments_by(world, _counts(con, "incidents + accidents", period),
                              f"Incidents and accidents by segment, {period[1]}"), "incidents map"),
        _img(maps.segments_by(world, _counts(con, "hits", hits_period),
                              f"Watchlist hits by segment, {hits_period[1]}", cmap="PuRd"), "hits map"),
        _img(maps.dispatch_points(world, responses, f"Dispatches by result, {period[1]}"), "dispatch map"),
        *(_img(maps.responder_coverage(world, datetime.combine(last_day, time(hour), zone)),
               f"coverage at {hour}:00") for hour in (10, 2)),
    ]


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
    slowest = (managers[0], [row for row in managers[1] if row[managers[0].index("arrive p50 min")] is not None]
               [-SLOWEST_MANAGERS:][::-1])
    sections = [
        f"<h2>Headline: {html.escape(chosen[0])} {html.escape(chosen[1])}, against the same period a year earlier</h2>",
        _table(*headline(con, chosen)),
        '<p class="note">Incidents are public-order incidents (警情); Δ% is the change against the same '
        "period a year earlier (– where the data do not reach back). On target: on scene within "
        "the arrival target of the segment's area type.</p>",
        f"<h2>{TITLES['level1']} (town chiefs), fastest median arrival first</h2>",
        _table(*league(con, chosen, list(levels.index[levels == "level1"]))),
        f"<h2>{TITLES['level2']}</h2>", _table(*league(con, chosen, list(levels.index[levels == "level2"]))),
        f"<h2>{TITLES['road_manager']}: the {SLOWEST_MANAGERS} slowest median arrivals</h2>", _table(*slowest),
    ]
    progress("drawing the maps")
    sections += ["<h2>Maps</h2>", '<div class="maps">' + "".join(_maps(con, world, chosen)) + "</div>"]
    generated = datetime.now(ZoneInfo(world.timezone)).strftime("%Y-%m-%d %H:%M %Z")
    page = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>roadchief safety report {html.escape(chosen[1])}</title><style>{STYLE}</style></head>"
            f"<body><h1>Road-chief safety report (路长制) — {html.escape(world.folder.name)}</h1>"
            f'<p class="note">Period {html.escape(chosen[0])} {html.escape(chosen[1])}; '
            f"tables {html.escape(str(tables_dir))}; generated {generated}.</p>"
            + "".join(sections) + "</body></html>")
    Path(out_path).write_text(page, encoding="utf-8")
    return chosen
