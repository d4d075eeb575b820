"""`roadchief query` reads the current tables and nothing else: every way out of DuckDB
a person could type is refused, and nothing on disk changes."""
import hashlib
import json
import os

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.analysis.audit import AuditLog, audited_query, verify


@pytest.fixture
def output(tmp_path):
    """A published output folder: an old version and the current one, the plate key
    carelessly left inside, and the audit log beside the tables."""
    out = tmp_path / "out"
    for version, plates in (("v0", ["h:old"]), ("v1", ["h:a", "h:b"])):
        (out / ".versions" / version / "passings").mkdir(parents=True)
        pq.write_table(pa.table({"plate": plates}), out / ".versions" / version / "passings" / "part-0.parquet")
    (out / "current").symlink_to(".versions/v1")
    (out / "plate.key").write_text("ab" * 32 + "\n")
    (out / ".audit").mkdir()
    AuditLog(out / ".audit" / "audit.jsonl").append("li", "query", "earlier", {"sql": "SELECT 1", "rows": 1})
    return out


def _snapshot(folder) -> dict[str, str]:
    """Every file under `folder` with the hash of its bytes, the audit log aside (it grows)."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file() and path.parent.name != ".audit"}


def test_the_current_tables_are_read(output):
    rows, columns = audited_query(output, "SELECT plate FROM passings ORDER BY plate", reason="case 1",
                                  log_path=output / ".audit" / "audit.jsonl")
    assert rows == [("h:a",), ("h:b",)] and columns == ["plate"]


CURRENT, KEY, LOG = "{out}/.versions/v1", "{out}/plate.key", "{out}/.audit/audit.jsonl"
ESCAPES = [
    # reading what is not a table
    f"SELECT * FROM read_text('{KEY}')",
    f"SELECT * FROM read_blob('{KEY}')",
    f"SELECT * FROM read_csv('{KEY}')",
    f"SELECT * FROM '{KEY}'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/proc/self/environ')",
    "SELECT * FROM read_json('/etc/hostname')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    f"SELECT * FROM read_text('{LOG}')",
    "SELECT * FROM glob('{out}/*')",
    "SELECT * FROM read_parquet('{out}/.versions/v0/passings/part-0.parquet')",
    f"SELECT * FROM parquet_metadata('{CURRENT}/passings/part-0.parquet')",
    "SELECT * FROM read_csv('https://example.com/x.csv')",
    "ATTACH '{out}/x.duckdb' AS x",
    "IMPORT DATABASE '{out}'",
    # writing into the tables, the audit log or anywhere else
    f"COPY (SELECT 'h:forged' AS plate) TO '{CURRENT}/passings/part-9.parquet'",
    f"COPY (SELECT 1 WHERE false) TO '{LOG}'",
    f"COPY (SELECT 'x') TO '{KEY}'",
    "COPY (SELECT 1) TO '/dev/stdout'",
    "EXPORT DATABASE '{out}/export'",
    "CREATE SECRET s (TYPE s3, KEY_ID 'x', SECRET 'y')",
    # code from outside
    "INSTALL httpfs",
    "FORCE INSTALL httpfs FROM 'http://example.com'",
    "LOAD httpfs",
    "LOAD '{out}/evil.duckdb_extension'",
    # switching the sandbox off again
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "SET allowed_directories = ['/']",
    "SET lock_configuration = false",
    "SET GLOBAL lock_configuration = false",
    "SET temp_directory = '{out}'",
    "SET profiling_output = '{out}/profile.json'",
    "PRAGMA enable_profiling",
    "SET python_enable_replacements = true",
    "CALL enable_logging(storage = 'file', storage_path = '{out}/logs')",
]


@pytest.mark.parametrize("template", ESCAPES)
def test_every_way_out_is_refused_and_nothing_changes(output, template):
    sql = template.format(out=output)
    before, log = _snapshot(output), output / ".audit" / "audit.jsonl"
    with pytest.raises(duckdb.Error):
        audited_query(output, sql, reason="probing", log_path=log)
    assert _snapshot(output) == before
    assert verify(log).entries == 2
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["detail"]["sql"] == sql and entry["detail"]["error"]


def test_what_a_query_makes_lives_in_memory_and_the_tables_stay(output):
    """Tables, views and in-memory databases are the query's own and die with it."""
    log = output / ".audit" / "audit.jsonl"
    before = _snapshot(output)
    for sql in ("CREATE OR REPLACE VIEW passings AS SELECT 'h:forged' AS plate",
                "ATTACH ':memory:' AS scratch", "CREATE TABLE t AS SELECT 1 AS x"):
        audited_query(output, sql, reason="probing", log_path=log)
    for sql in ("INSERT INTO passings VALUES ('h:forged')", "DELETE FROM passings"):
        with pytest.raises(duckdb.Error):
            audited_query(output, sql, reason="probing", log_path=log)
    assert _snapshot(output) == before and os.listdir(output / ".audit") == ["audit.jsonl"]
    rows, _ = audited_query(output, "SELECT plate FROM passings ORDER BY plate", reason="r", log_path=log)
    assert rows == [("h:a",), ("h:b",)]
