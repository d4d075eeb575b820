"""What `roadchief run` prints when it finishes: the reconciliation and the highlights."""
from datetime import datetime
from zoneinfo import ZoneInfo

import duckdb

from pipelines.analysis.safety import chosen_period, headline
from pipelines.analysis.tables import in_local_time, render
from transforms.enrich.watchlist_store import STALE

SECTIONS = {
    "Dead letters by reason": """
        SELECT stage, split_part(reason, ',', 1) AS reason, count(*) AS n
        FROM dead_letters GROUP BY ALL ORDER BY n DESC, reason""",
    "Hits by category": """
        SELECT category, count(*) AS hits, count(*) FILTER (match = 'exact') AS exact,
               count(*) FILTER (match = 'fuzzy') AS fuzzy, count(DISTINCT plate) AS plates
        FROM hits GROUP BY ALL ORDER BY hits DESC""",
    "Top dispatches (who must go where)": """
        SELECT plate, category, priority AS p, sightings AS seen,
               local_time(last_seen) AS last_seen,
               town || ' ' || road_name AS "where",
               chief_chain[1].name || ' ' || chief_chain[1].phone AS road_manager,
               chief_chain[4].name AS level1_chief,
               responders[1].name || ' (' || responders[1].kind || ') '
                   || round(responders[1].eta_s / 60, 1) || ' min' AS nearest_responder,
               len(responders) AS sent,
               intercepts[1].place || ' ' || substr(local_time(intercepts[1].vehicle_at), 12, 8)
                   AS meet_at,
               round(100 * intercept_chance) AS "chance %"
        FROM dispatches ORDER BY priority, sightings DESC, dispatch_id LIMIT 10""",
    "Per town": """
        SELECT key AS town, sum(passings) AS passings, any_value(u.plates) AS unique_plates,
               sum(unread) AS unread, sum(hits) AS hits, sum(dispatches) AS dispatches
        FROM metrics
        JOIN (SELECT coalesce(town, 'unplaced') AS key, count(DISTINCT plate) AS plates
              FROM passings GROUP BY ALL) u USING (key)
        WHERE dimension = 'town' GROUP BY ALL ORDER BY passings DESC""",
}


ACCEPTED = {"events": "passings", "incidents": "incidents", "outcomes": "outcomes"}


def input_of(stage: str) -> str:
    """Which input a dead letter's stage belongs to (`incident_parse` → incidents)."""
    return next((name for name in ("incidents", "outcomes") if stage.startswith(name[:-1] + "_")), "events")


def reconcile(con: duckdb.DuckDBPyConnection, lines_in: dict[str, int], accept_stale: bool = False) -> dict:
    """Every input line must be exactly one accepted row or one dead letter, and
    every plate checked against the live watchlist.

    `lines_in` counts the lines of each input (events, incidents, outcomes).
    Returns the accounts per input, whether they all balance, the watchlist
    versions that checked the plates, and a verdict of one line per input and
    one for the watchlist. Plates checked against a stale snapshot make the
    run fail (`ok` false) unless `accept_stale`.
    """
    stages = con.execute("SELECT stage, count(*) FROM dead_letters GROUP BY stage ORDER BY stage").fetchall()
    accounts, verdicts = {}, []
    for name, table in ACCEPTED.items():
        counted = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert counted is not None, "a count is one row"
        accepted = counted[0]
        by_stage = {stage: n for stage, n in stages if input_of(stage) == name}
        dead = sum(by_stage.values())
        lines = lines_in.get(name, 0)
        if not (lines or accepted or dead):
            continue
        balanced = accepted + dead == lines
        listed = ", ".join(f"{stage} {n:,}" for stage, n in by_stage.items()) or "none"
        verdicts.append(f"{name} lines in {lines:,} = {table} {accepted:,} + dead letters {dead:,} "
                        f"({listed}): " + ("balanced" if balanced else f"UNBALANCED by {lines - accepted - dead:,}"))
        accounts[name] = {"lines_in": lines, table: accepted, "dead_letters": by_stage, "balanced": balanced}
    watchlist = _watchlist_account(con, accept_stale)
    if watchlist["verdict"]:
        verdicts.append(watchlist.pop("verdict"))
    balanced = all(a["balanced"] for a in accounts.values())
    return {"inputs": accounts, "balanced": balanced, "watchlist": watchlist,
            "ok": balanced and watchlist["ok"], "verdict": "\n".join(verdicts)}


def _watchlist_account(con, accept_stale: bool) -> dict:
    """Which list versions checked the plates, and how many were checked against a stale snapshot."""
    versions = dict(con.execute("SELECT list_version, count(*) FROM passings WHERE list_version IS NOT NULL "
                                "GROUP BY ALL ORDER BY ALL").fetchall())
    stale = sum(n for version, n in versions.items() if version.startswith(STALE))
    account = {"versions": versions, "stale_passings": stale, "ok": not stale or accept_stale, "verdict": ""}
    if stale:
        account["verdict"] = (
            f"watchlist: {stale:,} passings were checked against the snapshot, not the live list "
            + ("(accepted with --accept_stale_watchlist)" if accept_stale else
               "while Redis could not answer: STALE (see the log; --accept_stale_watchlist accepts it)"))
    return account


def print_summary(con: duckdb.DuckDBPyConnection, zone: ZoneInfo) -> None:
    """The highlights, their times in `zone` (the world's) with the offset, as the command centre reads them."""
    in_local_time(con, zone).create_function("local_time", _local_time, ["TIMESTAMPTZ"], "VARCHAR")
    for title, sql in SECTIONS.items():
        print(f"\n{title}")
        con.sql(sql).show(max_width=220, max_rows=40)
    period = chosen_period(con)
    if period:
        print(f"\nSafety, {period[0]} {period[1]}, change against a year earlier")
        print(render(*headline(con, period), max_rows=10))


def _local_time(moment: datetime) -> str:
    """`2026-11-29 08:15:03+08:00`: DuckDB hands the value over in the connection's time zone."""
    return moment.isoformat(sep=" ", timespec="seconds")
