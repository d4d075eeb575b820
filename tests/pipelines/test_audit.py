"""The audit log: a hash chain that names the entry someone tampered with."""
import json
import multiprocessing
import os
import pwd
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.analysis.audit import AuditLog, audit_watchlist_change, audited_query, verify
from tests.builders import ZONE


@pytest.fixture
def log_path(tmp_path):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    for i in range(1, 6):
        log.append(f"analyst{i}", "query", f"case 2026-{i}", {"sql": f"SELECT {i}", "rows": i})
    return path


def _lines(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _write(path, lines):
    path.write_text("".join(lines), encoding="utf-8")


def test_an_untouched_chain_verifies(log_path):
    result = verify(log_path)
    assert result.ok and result.entries == 5 and result.problem is None
    entries = [json.loads(line) for line in _lines(log_path)]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0]["prev_hash"] == "0" * 64
    assert [e["prev_hash"] for e in entries[1:]] == [e["hash"] for e in entries[:-1]]
    assert result.head == entries[-1]["hash"]


@pytest.mark.parametrize("field", ["seq", "at", "user", "action", "reason", "detail",
                                   "prev_hash", "hash"])
@pytest.mark.parametrize("line", [1, 3, 5])
def test_editing_any_field_of_any_entry_is_named(log_path, field, line):
    lines = _lines(log_path)
    entry = json.loads(lines[line - 1])
    entry[field] = {"seq": 99, "detail": {"sql": "SELECT 0", "rows": 1}}.get(field, "forged")
    lines[line - 1] = json.dumps(entry) + "\n"
    _write(log_path, lines)
    result = verify(log_path)
    assert not result.ok and result.entries == line - 1
    assert result.problem.startswith(f"line {line}: ")


def test_deleting_a_middle_entry_is_named(log_path):
    lines = _lines(log_path)
    _write(log_path, lines[:2] + lines[3:])
    result = verify(log_path)
    assert not result.ok
    assert result.problem == ("line 3: entry seq 4 where seq 3 belongs: "
                              "entries were removed, reordered or inserted")


def test_swapping_two_entries_is_named(log_path):
    lines = _lines(log_path)
    lines[1], lines[2] = lines[2], lines[1]
    _write(log_path, lines)
    assert verify(log_path).problem.startswith("line 2: entry seq 3 where seq 2 belongs")


def test_a_forged_entry_with_a_correct_own_hash_breaks_the_next_link(log_path, tmp_path):
    """The forger hashes his entry properly and chains it to entry 2; entry 3 no longer fits."""
    lines = _lines(log_path)
    scratch = AuditLog(tmp_path / "scratch.jsonl")
    scratch.path.write_text("".join(lines[:2]), encoding="utf-8")
    forged = scratch.append("nobody", "query", "forged", {"sql": "SELECT 1", "rows": 1})
    _write(log_path, lines[:2] + [json.dumps(forged) + "\n"] + lines[2:])
    result = verify(log_path)
    assert result.entries == 3
    assert result.problem.startswith("line 4: entry seq 3 where seq 4 belongs")


def test_entries_longer_than_the_tail_block_chain_correctly(log_path):
    """append finds the last entry by reading backwards in 4 KiB blocks."""
    log = AuditLog(log_path)
    long_sql = "SELECT * FROM passings WHERE plate IN (" + ", ".join(["'h:x'"] * 3000) + ")"
    log.append("analyst", "query", "long", {"sql": long_sql, "rows": 0})
    log.append("analyst", "query", "after", {"sql": "SELECT 1", "rows": 1})
    assert verify(log_path) == (True, 7, None, json.loads(_lines(log_path)[-1])["hash"])


def test_a_cut_off_last_line_is_reported_and_blocks_appending(log_path):
    _write(log_path, _lines(log_path)[:4] + [_lines(log_path)[4][:40]])
    assert verify(log_path).problem.startswith("line 5: cut off")
    with pytest.raises(ValueError, match="ends in a cut-off entry"):
        AuditLog(log_path).append("u", "query", "r", {})


def test_tail_truncation_passes_alone_and_fails_against_an_anchor(log_path):
    anchor = verify(log_path).head
    AuditLog(log_path).append("analyst6", "query", "later", {"sql": "SELECT 6", "rows": 6})
    assert verify(log_path, expected_head=anchor).ok  # the log may grow after the anchor
    _write(log_path, _lines(log_path)[:3])
    assert verify(log_path).ok  # a shorter chain is still a chain
    result = verify(log_path, expected_head=anchor)
    assert not result.ok and result.entries == 3 and anchor in result.problem


def test_a_rewritten_chain_is_only_caught_by_the_anchor(log_path, tmp_path):
    """The hash has no secret: whoever can write the file can rebuild the chain."""
    anchor = verify(log_path).head
    rebuilt = AuditLog(tmp_path / "rebuilt.jsonl")
    for line in _lines(log_path):
        entry = json.loads(line)
        rebuilt.append(entry["user"], entry["action"], "innocent", entry["detail"])
    assert verify(rebuilt.path).ok
    assert not verify(rebuilt.path, expected_head=anchor).ok


def test_a_missing_log_does_not_verify(tmp_path):
    assert verify(tmp_path / "gone.jsonl") == (False, 0, f"no audit log at {tmp_path / 'gone.jsonl'}", None)


def _append_many(path: str, worker: int, count: int):
    log = AuditLog(path)
    for i in range(count):
        log.append(f"worker{worker}", "query", "load test", {"i": i})


def test_concurrent_appenders_keep_one_valid_chain(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(path, w, 50)) for w in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    result = verify(path)
    assert result.ok and result.entries == 100


@pytest.fixture
def tables(tmp_path):
    (tmp_path / "passings").mkdir()
    pq.write_table(pa.table({"plate": ["h:a", "h:b", "h:a"], "town": ["嘉积", "博鳌", "嘉积"]}),
                   tmp_path / "passings" / "part-0.parquet")
    return tmp_path


@pytest.mark.parametrize("reason", ["", "   \n"])
def test_a_query_without_a_reason_is_refused_and_not_run(tables, tmp_path, reason):
    with pytest.raises(ValueError, match="a reason is required"):
        audited_query(tables, "SELECT * FROM passings", reason=reason, log_path=tmp_path / "a.jsonl", zone=ZONE)
    assert not (tmp_path / "a.jsonl").exists()


def test_a_query_is_logged_with_user_reason_sql_and_row_count(tables, tmp_path):
    log = tmp_path / "a.jsonl"
    sql = "SELECT plate, count(*) AS n FROM passings GROUP BY plate ORDER BY plate"
    rows, columns = audited_query(tables, sql, reason="case 17", log_path=log, zone=ZONE, user="li")
    assert rows == [("h:a", 2), ("h:b", 1)] and columns == ["plate", "n"]
    entry = json.loads(log.read_text())
    assert (entry["user"], entry["action"], entry["reason"], entry["detail"]) == (
        "li", "query", "case 17", {"sql": sql, "rows": 2})


def test_a_query_shows_times_in_the_worlds_time_zone_with_the_offset(tmp_path):
    (tmp_path / "dispatches").mkdir()
    moment = datetime(2026, 11, 29, 0, 15, 3, tzinfo=UTC)
    pq.write_table(pa.table({"last_seen": pa.array([moment], pa.timestamp("us", tz="UTC"))}),
                   tmp_path / "dispatches" / "part-0.parquet")
    for zone, shown in (("Asia/Shanghai", "2026-11-29 08:15:03+08:00"), ("Europe/Berlin", "2026-11-29 01:15:03+01:00")):
        (rows, _) = audited_query(tmp_path, "SELECT last_seen FROM dispatches", reason="case 19",
                                  log_path=tmp_path / "a.jsonl", zone=ZoneInfo(zone))
        assert str(rows[0][0]) == shown


def test_a_failed_query_is_logged_as_an_attempt(tables, tmp_path):
    log = tmp_path / "a.jsonl"
    with pytest.raises(duckdb.Error):
        audited_query(tables, "SELECT * FROM vehicles", reason="case 18", log_path=log, zone=ZONE)
    entry = json.loads(log.read_text())
    assert entry["detail"]["sql"] == "SELECT * FROM vehicles" and "vehicles" in entry["detail"]["error"]
    assert entry["user"]  # the OS user by default


def test_a_watchlist_change_is_logged(tmp_path):
    log = tmp_path / "a.jsonl"
    entry = audit_watchlist_change(log, reason="daily list", source="watchlist.csv", count=1500,
                                   version="abc123", user="ops")
    assert entry["action"] == "watchlist_load"
    assert entry["detail"] == {"source": "watchlist.csv", "count": 1500, "version": "abc123"}
    assert verify(log).ok
    with pytest.raises(ValueError, match="a reason is required"):
        audit_watchlist_change(log, reason=" ", source="x", count=0, version="v")


def test_the_default_user_is_the_real_account_not_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    entry = audit_watchlist_change(tmp_path / "a.jsonl", reason="r", source="s", count=1, version="v")
    assert entry["user"] == pwd.getpwuid(os.getuid()).pw_name != "mallory"
