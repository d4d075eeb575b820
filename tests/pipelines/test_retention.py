"""Retention: exactly the expired rows go, and a failed purge changes nothing."""
import os
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.analysis import retention
from pipelines.analysis.retention import DEFAULT_RETENTION, purge
from pipelines.analysis.tables import connect
from pipelines.store.output_folder import LOCK

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
AGES = range(0, 401, 10)  # rows 0, 10, ..., 400 days old
SAFETY_AGES = range(0, 1201, 100)  # incidents and dispatch outcomes: 0, 100, ..., 1200 days old
UTC_US = pa.timestamp("us", tz="UTC")
KEY_METADATA = {"roadchief.plate_key_id": "0123456789ab"}  # which key made the tokens


def _write(folder, name, columns: dict):
    folder.mkdir(exist_ok=True)
    pq.write_table(pa.table(columns).replace_schema_metadata(KEY_METADATA), folder / name)


def _times(ages) -> pa.Array:
    return pa.array([NOW - timedelta(days=age, seconds=1) for age in ages], type=UTC_US)


@pytest.fixture
def tables(tmp_path):
    """Two part files per timed table; dead letters in one fresh and one 40-day-old file."""
    for name, column in (("passings", "captured_at"), ("hits", "captured_at"),
                         ("dispatches", "created_at")):
        for part, ages in enumerate((AGES[::2], AGES[1::2])):
            _write(tmp_path / name, f"part-{part}.parquet",
                   {"event_id": [f"{name}{age}" for age in ages], column: _times(ages)})
    for name, column in (("incidents", "reported_at"), ("outcomes", "at"), ("responses", "dispatched_at")):
        _write(tmp_path / name, "part-0.parquet", {column: _times(SAFETY_AGES)})
    _write(tmp_path / "metrics", "part-0.parquet",
           {"window_end": _times(AGES), "passings": list(AGES)})
    for part, age in enumerate((0, 40)):
        _write(tmp_path / "dead_letters", f"part-{part}.parquet", {"raw": [f"line{part}"] * 3})
        stamp = (NOW - timedelta(days=age)).timestamp()
        os.utime(tmp_path / "dead_letters" / f"part-{part}.parquet", (stamp, stamp))
    return tmp_path


def _column(tables_dir, sql) -> list:
    return [row[0] for row in connect(tables_dir).execute(sql).fetchall()]


def test_purge_keeps_exactly_each_class_s_retention(tables):
    reports = purge(tables, DEFAULT_RETENTION, NOW)
    # a row (age + 1 s) is kept while younger than its period: 30 days keeps ages 0..20
    assert _column(tables, "SELECT event_id FROM passings ORDER BY captured_at DESC") == [
        "passings0", "passings10", "passings20"]
    kept_a_year = [f"hits{age}" for age in AGES if age < 365]
    assert _column(tables, "SELECT event_id FROM hits ORDER BY captured_at DESC") == kept_a_year
    assert len(_column(tables, "SELECT event_id FROM dispatches")) == len(kept_a_year)
    assert _column(tables, "SELECT raw FROM dead_letters") == ["line0"] * 3
    assert _column(tables, "SELECT count(*) FROM metrics") == [len(AGES)]
    assert {name: (r.rows_before, r.rows_after, r.deleted) for name, r in reports.items()} == {
        "passings": (41, 3, 38), "hits": (41, 37, 4), "dispatches": (41, 37, 4),
        "dead_letters": (6, 3, 3), "incidents": (13, 11, 2), "outcomes": (13, 11, 2),
        "responses": (13, 11, 2)}
    assert sorted(p.name for p in (tables / "dead_letters").iterdir()) == ["part-0.parquet"]


def test_metrics_are_purged_only_when_configured(tables):
    report = purge(tables, {"metrics": 100}, NOW)["metrics"]
    assert (report.rows_before, report.rows_after) == (41, 10)
    assert len(_column(tables, "SELECT event_id FROM passings")) == 41


def test_a_second_purge_deletes_nothing(tables):
    purge(tables, DEFAULT_RETENTION, NOW)
    assert all(report.deleted == 0 for report in purge(tables, DEFAULT_RETENTION, NOW).values())


def test_schema_and_key_id_survive_the_rewrite(tables):
    purge(tables, DEFAULT_RETENTION, NOW)
    schema = pq.read_schema(tables / "passings" / "part-0.parquet")
    assert schema.field("captured_at").type == UTC_US
    assert schema.metadata[b"roadchief.plate_key_id"] == b"0123456789ab"


@pytest.mark.parametrize("policy, message", [
    ({"passings": 30, "plates": 7}, "unknown table plates"),
    ({"passings": -1}, "must not be negative"),
])
def test_a_bad_policy_is_refused_before_anything_changes(tables, policy, message):
    before = {p: p.stat().st_mtime_ns for p in tables.rglob("*.parquet")}
    with pytest.raises(ValueError, match=message):
        purge(tables, policy, NOW)
    assert {p: p.stat().st_mtime_ns for p in tables.rglob("*.parquet")} == before


def test_a_naive_now_is_refused(tables):
    with pytest.raises(ValueError, match="time zone"):
        purge(tables, DEFAULT_RETENTION, NOW.replace(tzinfo=None))


def test_a_failure_while_writing_leaves_the_old_files(tables, monkeypatch):
    """The second part file fails to write: the first, already written, must not be moved in."""
    def table_files():
        return {p: p.read_bytes() for p in tables.rglob("*") if p.is_file() and p.name != LOCK}
    before = table_files()
    real_write = pq.write_table
    calls = []

    def write_then_fail(table, where, **kwargs):
        calls.append(where)
        if len(calls) == 2:
            raise OSError("disk full")
        real_write(table, where, **kwargs)

    monkeypatch.setattr(retention.pq, "write_table", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        purge(tables, {"passings": 30}, NOW)
    assert len(calls) == 2
    assert table_files() == before


def test_purge_tells_each_table_as_it_begins(tables):
    begun = []
    purge(tables, {"passings": 30, "hits": 365}, NOW, progress=begun.append)
    assert begun == ["hits", "passings"]
