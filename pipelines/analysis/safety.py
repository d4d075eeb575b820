"""The questions a command centre asks of `safety_metrics`, as SQL.

Which period to look at: a custom range when the run was given one (a
year-to-date or twelve-month review), else the latest calendar period that
the data cover completely, so a half-finished week is never set against a
whole one a year earlier.
"""
import duckdb

COMPLETE = """
    SELECT period, label FROM safety_metrics
    WHERE dimension = 'all' AND period = ?
      AND period_end <= (SELECT max(period_end) FROM safety_metrics
                         WHERE period = 'day' AND dimension = 'all' AND incidents + accidents + dispatches > 0)
    ORDER BY (incidents_year_ago IS NOT NULL) DESC, period_end DESC LIMIT 1"""

HEADLINE = """
    SELECT CASE key WHEN 'all' THEN 'whole city' WHEN 'urban' THEN 'urban (街面)'
                    WHEN 'rural' THEN 'rural (农村)' ELSE key END AS area,
           incidents, incidents_change_pct AS "incidents Δ%",
           accidents, accidents_change_pct AS "accidents Δ%",
           deaths, deaths_change_pct AS "deaths Δ%", injuries, injuries_change_pct AS "injuries Δ%",
           dispatches, interceptions, round(100 * interception_rate, 1) AS "intercepted %",
           round(arrive_p50_s / 60, 1) AS "arrive p50 min", round(arrive_p90_s / 60, 1) AS "arrive p90 min",
           round(100 * within_target_share, 1) AS "on target %"
    FROM safety_metrics
    WHERE period = ? AND label = ? AND (dimension = 'all' OR (dimension = 'area_type' AND key <> 'unplaced'))
    ORDER BY dimension, key DESC"""

LEAGUE = """
    SELECT name AS chief, key AS chief_id, dispatches, interceptions,
           round(100 * interception_rate, 1) AS "intercepted %",
           round(arrive_p50_s / 60, 1) AS "arrive p50 min", round(arrive_p90_s / 60, 1) AS "arrive p90 min",
           round(100 * within_target_share, 1) AS "on target %",
           incidents, incidents_change_pct AS "incidents Δ%", accidents, deaths, injuries
    FROM safety_metrics
    WHERE period = ? AND label = ? AND dimension = 'chief' AND key IN (SELECT unnest(?))
    ORDER BY arrive_p50_s NULLS LAST, interception_rate DESC NULLS LAST, key"""


def chosen_period(con: duckdb.DuckDBPyConnection, kind: str | None = None,
                  label: str | None = None) -> tuple[str, str] | None:
    """(period, label) to report: as asked, else the custom range or latest complete month."""
    if kind and label:
        return kind, label
    for candidate in ([kind] if kind else ["custom", "month"]):
        if candidate == "custom":
            found = con.execute("""
                SELECT period, label FROM safety_metrics WHERE period = 'custom' AND dimension = 'all'
                ORDER BY (incidents_year_ago IS NOT NULL) DESC, period_end DESC LIMIT 1""").fetchone()
        else:
            found = con.execute(COMPLETE, [candidate]).fetchone()
        if found:
            return found
    return None


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> tuple[list[str], list[tuple]]:
    result = con.execute(sql, params)
    return [d[0] for d in result.description], result.fetchall()


def headline(con, period: tuple[str, str]) -> tuple[list[str], list[tuple]]:
    """The city, urban and rural rows of a period: incidents to arrivals, with changes."""
    return query(con, HEADLINE, list(period))


def league(con, period: tuple[str, str], chief_ids: list[str]) -> tuple[list[str], list[tuple]]:
    """The given chiefs ranked by median arrival, then interception rate."""
    return query(con, LEAGUE, [*period, chief_ids])
