"""A run's tables as the tests compare them: row for row, or a live run against a replay."""
from pipelines.analysis.tables import connect
from transforms.store.write_tables import TABLES

# The key that orders each table of a replay, for comparing two runs table by table.
TABLE_KEYS = {"passings": "event_id", "hits": "event_id, entry_id", "dispatches": "dispatch_id",
              "metrics": "window_start, dimension, key", "dead_letters": "source"}


def table(con, name):
    return con.execute(f"SELECT * FROM {name} ORDER BY {TABLE_KEYS[name]}").fetchall()


def all_tables(output) -> dict[str, list]:
    """Every table of a run, its rows in a fixed order, for comparing runs row for row."""
    con = connect(output)
    return {name: con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall() for name in TABLES}


# A live run compared with a file replay, without `source`: a file line and a stream entry name
# the same event differently. A live dispatch is opened by the hit that arrives first, a replay's
# by the earliest hit: the same incident, whose id, creation time and window differ when hits
# arrive out of order.
LIVE_COMPARED = {
    "passings": "event_id, camera_id, captured_at, plate, plate_source, segment_id, watchlist_hit",
    "hits": "event_id, plate, entry_id, match, score",
    "dispatches": "plate, hit_event_ids, sightings, first_seen, last_seen, segment_id, category",
    "metrics": "window_start, dimension, key, passings, unread, unique_plates, hits",
    "dead_letters": "event_id, stage, split_part(reason, ', first delivered at', 1)"}


def live_rows(tables, name) -> list:
    """A table's rows as LIVE_COMPARED compares them; of a live dispatch, its latest version."""
    latest = (" QUALIFY row_number() OVER (PARTITION BY dispatch_id ORDER BY sightings DESC,"
              " len(categories) DESC, priority, entry_id) = 1" if name == "dispatches" else "")
    return sorted(connect(tables).execute(f"SELECT {LIVE_COMPARED[name]} FROM {name}{latest}").fetchall(),
                  key=repr)


def counted_once(tables) -> bool:
    """Each incident counts once in the metrics, whichever versions arrived in time."""
    con = connect(tables)
    (counted,) = con.execute("SELECT sum(dispatches) FROM metrics WHERE dimension = 'all'").fetchone()
    (incidents,) = con.execute("SELECT count(DISTINCT dispatch_id) FROM dispatches").fetchone()
    return counted == incidents > 0


# Three counts that differ between any two runs of different inputs: which run a reader sees.
COUNTS = "SELECT (SELECT count(*) FROM passings), (SELECT count(*) FROM hits), (SELECT count(*) FROM dispatches)"


def counts(output) -> tuple:
    """The COUNTS of the tables a reader of `output` sees."""
    return connect(output).execute(COUNTS).fetchone()
