"""What `roadchief run` prints when it finishes: the reconciliation and the highlights."""
from pipelines.tables import connect

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
               strftime(last_seen AT TIME ZONE 'Asia/Shanghai', '%H:%M') AS last_seen,
               town || ' ' || road_name AS "where",
               chief_chain[1].name || ' ' || chief_chain[1].phone AS road_manager,
               chief_chain[4].name AS level1_chief,
               responders[1].name || ' (' || responders[1].kind || ') '
                   || round(responders[1].eta_s / 60, 1) || ' min' AS nearest_responder,
               len(responders) AS sent
        FROM dispatches ORDER BY priority, sightings DESC, dispatch_id LIMIT 10""",
    "Per town": """
        SELECT key AS town, sum(passings) AS passings, any_value(u.plates) AS unique_plates,
               sum(unread) AS unread, sum(hits) AS hits, sum(dispatches) AS dispatches
        FROM metrics
        JOIN (SELECT coalesce(town, 'unplaced') AS key, count(DISTINCT plate) AS plates
              FROM passings GROUP BY ALL) u USING (key)
        WHERE dimension = 'town' GROUP BY ALL ORDER BY passings DESC""",
}


def reconcile(tables_dir, lines_in: int) -> dict:
    """Every input line must be exactly one passing or one dead letter.

    Returns the accounts: lines in, passings, dead letters by stage, whether
    they balance, and a one-line verdict.
    """
    con = connect(tables_dir)
    passings = con.execute("SELECT count(*) FROM passings").fetchone()[0]
    by_stage = dict(con.execute(
        "SELECT stage, count(*) FROM dead_letters GROUP BY stage ORDER BY stage").fetchall())
    dead = sum(by_stage.values())
    balanced = passings + dead == lines_in
    stages = ", ".join(f"{stage} {n:,}" for stage, n in by_stage.items()) or "none"
    verdict = (f"lines in {lines_in:,} = passings {passings:,} + dead letters {dead:,} "
               f"({stages}): " + ("balanced" if balanced else f"UNBALANCED by {lines_in - passings - dead:,}"))
    return {"lines_in": lines_in, "passings": passings, "dead_letters": by_stage,
            "balanced": balanced, "verdict": verdict}


def print_summary(tables_dir) -> None:
    con = connect(tables_dir)
    for title, sql in SECTIONS.items():
        print(f"\n{title}")
        con.sql(sql).show(max_width=220, max_rows=40)
