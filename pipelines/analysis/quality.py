"""How far the report's figures can be trusted: what the inputs lost on the way.

Three things a chief asks before believing a map or a league: how many
passings had no readable plate, how many input lines were refused and at
which stage, and which cameras sent nothing in the period (a silent camera
makes its roads look quiet).
"""
import duckdb
import pandas as pd

PASSINGS = """
    SELECT count(*) AS passings, count(*) FILTER (plate IS NULL) AS unread,
           count(DISTINCT camera_id) AS cameras
    FROM passings p,
         (SELECT min(period_start) AS period_start, max(period_end) AS period_end
          FROM safety_metrics WHERE period = ? AND label = ?) chosen
    WHERE p.captured_at >= chosen.period_start AND p.captured_at < chosen.period_end"""

HEARD_FROM = """
    SELECT DISTINCT camera_id FROM passings p,
         (SELECT min(period_start) AS period_start, max(period_end) AS period_end
          FROM safety_metrics WHERE period = ? AND label = ?) chosen
    WHERE p.captured_at >= chosen.period_start AND p.captured_at < chosen.period_end"""

# Dead letters carry no time of their own: these are all the tables hold.
DEAD_LETTERS_BY_STAGE = """
    SELECT regexp_extract(source, '([^/]+?)(:[0-9]+)?$', 1) AS input, stage, count(*) AS "dead letters"
    FROM dead_letters GROUP BY ALL ORDER BY input, "dead letters" DESC, stage"""


def passings(con: duckdb.DuckDBPyConnection, period: tuple[str, str]) -> tuple[int, int, int]:
    """(passings, passings without a readable plate, cameras heard from) in the period."""
    passings, unread, cameras = con.execute(PASSINGS, list(period)).fetchone() or (0, 0, 0)
    return passings, unread, cameras


def dead_letters_by_stage(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple]]:
    result = con.execute(DEAD_LETTERS_BY_STAGE)
    return [d[0] for d in result.description], result.fetchall()


def silent_cameras(con: duckdb.DuckDBPyConnection, period: tuple[str, str], cameras: pd.DataFrame) -> pd.DataFrame:
    """The world's cameras (indexed by camera id) with no passing in the period."""
    heard = {camera for (camera,) in con.execute(HEARD_FROM, list(period)).fetchall()}
    return cameras[~cameras.index.isin(heard)]
