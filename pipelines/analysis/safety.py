"""The questions a command centre asks of `safety_metrics`, as SQL.

Which period to look at: a custom range when the run was given one (a
year-to-date or twelve-month review), else the latest calendar period that
the data cover completely, so a half-finished week is never set against a
whole one a year earlier.

Every percentage is computed from the counts and rounded once, to a whole
per cent, so a rate shown here is never a rounded share rounded again.
Figures about dispatches from fewer than `FEW_DISPATCHES` of them are still
shown, but the report marks them and leaves them out of league positions.
"""
import duckdb

from transforms.measure.periods import Period, shifted

FEW_DISPATCHES = 20


def per_cent(part: str, whole: str) -> str:
    """SQL for `part` as a whole per cent of `whole`; null when `whole` is 0."""
    return f"round(100 * {part} / nullif({whole}, 0))::INTEGER"


def change_pct(figure: str) -> str:
    """SQL for the change of `figure` against its year-ago value, in whole per cent."""
    return per_cent(f"({figure} - {figure}_year_ago)", f"{figure}_year_ago")


COMPLETE = """
    SELECT period, label FROM safety_metrics
    WHERE dimension = 'all' AND period = ?
      AND period_end <= (SELECT max(period_end) FROM safety_metrics
                         WHERE period = 'day' AND dimension = 'all' AND incidents + accidents + dispatches > 0)
    ORDER BY (incidents_year_ago IS NOT NULL) DESC, period_end DESC LIMIT 1"""

AREA = """CASE now.key WHEN 'all' THEN 'whole city' WHEN 'urban' THEN 'urban (街面)'
                       WHEN 'rural' THEN 'rural (农村)' ELSE now.key END"""

# One row per key of a period beside the same key a year earlier (`ago`), whose
# figures count only where the data reach back (`now.dispatches_year_ago` set).
FIGURES = f"""
           now.incidents, {change_pct("now.incidents")} AS "incidents Δ%",
           now.accidents, {change_pct("now.accidents")} AS "accidents Δ%",
           now.deaths, {change_pct("now.deaths")} AS "deaths Δ%",
           now.injuries, {change_pct("now.injuries")} AS "injuries Δ%",
           now.dispatches, now.interceptions,
           {per_cent("now.interceptions", "now.resolved")} AS "intercepted %",
           CASE WHEN now.dispatches_year_ago IS NOT NULL THEN round(100 * (
               now.interceptions / nullif(now.resolved, 0) - ago.interceptions / nullif(ago.resolved, 0)
           ))::INTEGER END AS "intercepted Δ pts",
           round(now.arrive_p50_s / 60, 1) AS "arrive p50 min",
           round((now.arrive_p50_s - now.arrive_p50_s_year_ago) / 60, 1) AS "arrive p50 Δ min",
           round(now.arrive_p90_s / 60, 1) AS "arrive p90 min",
           {per_cent("now.arrivals_within_target", "now.arrivals")} AS "on target %"
    FROM safety_metrics now
    LEFT JOIN safety_metrics ago ON ago.period = now.period AND ago.label = $ago
                                AND ago.dimension = now.dimension AND ago.key = now.key
    WHERE now.period = $period AND now.label = $label"""

HEADLINE = f"""
    SELECT {AREA} AS area, {FIGURES}
      AND (now.dimension = 'all' OR (now.dimension = 'area_type' AND now.key <> 'unplaced'))
    ORDER BY now.dimension, now.key DESC"""

TOWNS = f"""
    SELECT now.key AS town, {FIGURES} AND now.dimension = 'town'
    ORDER BY now.incidents + now.accidents DESC, now.key"""

LEAGUE = f"""
    SELECT name AS chief, key AS chief_id, dispatches, interceptions,
           {per_cent("interceptions", "resolved")} AS "intercepted %",
           round(arrive_p50_s / 60, 1) AS "arrive p50 min", round(arrive_p90_s / 60, 1) AS "arrive p90 min",
           {per_cent("arrivals_within_target", "arrivals")} AS "on target %",
           incidents, {change_pct("incidents")} AS "incidents Δ%", accidents, deaths, injuries
    FROM safety_metrics
    WHERE period = ? AND label = ? AND dimension = 'chief' AND key IN (SELECT unnest(?))
    ORDER BY dispatches < {FEW_DISPATCHES}, arrive_p50_s NULLS LAST, interception_rate DESC NULLS LAST, key"""

# The twelve months up to the one the period ends in, for the city and its urban and rural roads.
MONTHS = f"""
    SELECT m.label AS month, m.key AS area, m.incidents, m.accidents, m.dispatches,
           {per_cent("m.interceptions", "m.resolved")} AS "intercepted %",
           round(m.arrive_p50_s / 60, 1) AS "arrive p50 min"
    FROM safety_metrics m,
         (SELECT max(period_end) AS period_end FROM safety_metrics WHERE period = ? AND label = ?) chosen
    WHERE m.period = 'month' AND (m.dimension = 'all' OR (m.dimension = 'area_type' AND m.key <> 'unplaced'))
      AND m.period_start < chosen.period_end AND m.period_start >= chosen.period_end - INTERVAL 12 MONTH
    ORDER BY m.label"""


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


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict) -> tuple[list[str], list[tuple]]:
    result = con.execute(sql, params)
    return [d[0] for d in result.description], result.fetchall()


def _beside_a_year_earlier(period: tuple[str, str]) -> dict:
    earlier = shifted(Period(*period), -1)
    return {"period": period[0], "label": period[1], "ago": earlier.label if earlier else None}


def headline(con, period: tuple[str, str]) -> tuple[list[str], list[tuple]]:
    """The city, urban and rural rows of a period: incidents to arrivals, with changes."""
    return query(con, HEADLINE, _beside_a_year_earlier(period))


def towns(con, period: tuple[str, str]) -> tuple[list[str], list[tuple]]:
    """One row per town, the busiest first, with the same figures as the headline."""
    return query(con, TOWNS, _beside_a_year_earlier(period))


def league(con, period: tuple[str, str], chief_ids: list[str]) -> tuple[list[str], list[tuple]]:
    """The given chiefs ranked by median arrival, then interception rate; those with
    fewer than FEW_DISPATCHES dispatches after all the others."""
    return query(con, LEAGUE, [*period, chief_ids])


def months(con, period: tuple[str, str]) -> tuple[list[str], list[tuple]]:
    """Month by month for the year up to the period's end: one row per month and area."""
    return query(con, MONTHS, list(period))
