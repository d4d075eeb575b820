"""`roadchief query` and `roadchief audit` as a person uses them: formats, files, one audit
log per deployment that says what left, and one clear line for every mistake."""
import json
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.analysis import audit
from pipelines.analysis.audit import AuditLog
from pipelines.analysis.tables import render
from pipelines.cli import main

RAW = '{"event_id":"ev-000000064","camera_id":"QH-PV-012","captured_at":"2026-11-29T08:00:01+08:00"}'


@pytest.fixture
def tables(tmp_path, monkeypatch):
    monkeypatch.delenv(audit.ENV, raising=False)
    out = tmp_path / "out"
    (out / ".versions" / "v1" / "passings").mkdir(parents=True)
    (out / ".versions" / "v1" / "dead_letters").mkdir(parents=True)
    pq.write_table(pa.table({"plate": ["h:a", "h:b", "h:a"], "town": ["嘉积镇", "博鳌镇", "嘉积镇"],
                             "segments": [["JJ-1", "JJ-2"], [], None]}),
                   out / ".versions" / "v1" / "passings" / "part-0.parquet")
    pq.write_table(pa.table({"stage": ["parse"], "raw": [RAW]}),
                   out / ".versions" / "v1" / "dead_letters" / "part-0.parquet")
    (out / "current").symlink_to(".versions/v1")
    return out


def _query(tables, *args) -> int:
    return main(["query", "--tables", str(tables), "--reason", "case 2026-118", *args])


def _log(tables) -> list[dict]:
    return [json.loads(line) for line in (tables / ".audit" / "audit.jsonl").read_text().splitlines()]


def test_the_audit_log_lives_beside_the_tables_whatever_the_folder(tables, tmp_path, monkeypatch, capsys):
    for folder in (tmp_path, tables.parent / "elsewhere"):
        folder.mkdir(exist_ok=True)
        monkeypatch.chdir(folder)
        assert _query(tables, "SELECT count(*) AS n FROM passings") == 0
    assert not list(tmp_path.glob("*.jsonl")) and not list((tmp_path / "elsewhere").iterdir())
    assert [e["seq"] for e in _log(tables)] == [1, 2]
    assert main(["audit", "verify", "--tables", str(tables)]) == 0
    assert "intact: 2 entries" in capsys.readouterr().out


def test_a_configured_log_wins_over_the_tables_folder(tables, tmp_path, monkeypatch):
    monkeypatch.setenv(audit.ENV, str(tmp_path / "deployment.jsonl"))
    assert _query(tables, "SELECT 1") == 0
    assert (tmp_path / "deployment.jsonl").is_file() and not (tables / ".audit").exists()


def test_an_s3_output_without_a_configured_log_is_refused_in_one_line(capsys, monkeypatch):
    monkeypatch.delenv(audit.ENV, raising=False)
    assert _query("s3://roadchief-tables/today", "SELECT 1") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--audit_log" in err and audit.ENV in err


def test_the_table_marks_a_cut_cell_and_the_log_says_how_many_rows_were_shown(tables, capsys):
    assert _query(tables, "--max-rows", "1", "SELECT * FROM dead_letters, range(3)") == 0
    out = capsys.readouterr().out
    assert RAW[:59] + "…" in out and RAW not in out
    assert "… marks a cell cut at 60 characters" in out and "... 2 more rows" in out
    assert _log(tables)[-1]["detail"] == {"sql": "SELECT * FROM dead_letters, range(3)", "rows": 3,
                                          "shown": 1, "format": "table"}


def test_render_leaves_short_cells_whole_and_unmarked():
    text = render(["a"], [("x" * 60,)], max_rows=5)
    assert "x" * 60 in text and "…" not in text
    assert "x" * 9 + "…" in render(["a"], [("x" * 11,)], max_rows=5, max_cell=10)


def test_csv_and_json_carry_whole_cells_and_nested_values(tables, capsys):
    assert _query(tables, "--format", "csv", "SELECT * FROM dead_letters") == 0
    assert capsys.readouterr().out.splitlines()[1] == "parse," + '"' + RAW.replace('"', '""') + '"'
    assert _query(tables, "--format", "json", "SELECT plate, segments FROM passings ORDER BY plate, 2") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [{"plate": "h:a", "segments": ["JJ-1", "JJ-2"]}, {"plate": "h:a", "segments": None},
                     {"plate": "h:b", "segments": []}]
    assert _log(tables)[-1]["detail"] == {"sql": "SELECT plate, segments FROM passings ORDER BY plate, 2",
                                          "rows": 3, "format": "json"}


def test_a_file_written_with_out_is_logged_with_its_rows_size_and_hash(tables, tmp_path):
    target = tmp_path / "export.parquet"
    assert _query(tables, "--format", "parquet", "--out", str(target), "SELECT plate FROM passings") == 0
    assert pq.read_table(target).column("plate").to_pylist() == ["h:a", "h:b", "h:a"]
    detail = _log(tables)[-1]["detail"]
    assert (detail["rows"], detail["format"], detail["out"], detail["bytes"]) == (
        3, "parquet", str(target.resolve()), target.stat().st_size)
    assert re.fullmatch(r"[0-9a-f]{64}", detail["sha256"])


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "parquet"], "--format parquet: give --out FILE"),
    (["--out", "missing_dir/x.csv"], "--out missing_dir/x.csv: the folder missing_dir does not exist"),
    (["--out", "{tables}/current/passings/part-9.parquet", "--format", "parquet"], "which the query only reads"),
    (["--out", "{tables}/.audit/audit.jsonl"], "which the query only reads"),
])
def test_a_destination_that_cannot_be_written_is_refused_before_the_query(tables, capsys, monkeypatch,
                                                                         args, message):
    monkeypatch.chdir(tables.parent)
    before = sorted(str(p) for p in tables.rglob("*"))
    assert _query(tables, *[a.format(tables=tables) for a in args], "SELECT * FROM passings") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert sorted(str(p) for p in tables.rglob("*")) == before  # not even an audit entry: nothing was read


@pytest.mark.parametrize(("sql", "message"), [
    ("SELECT town, count(*) FROM passing GROUP BY town",
     'Catalog Error: Table with name passing does not exist! Did you mean "passings"?'),
    ("SELECT plat FROM passings", 'Candidate bindings: "plate"'),
    ("SELEC 1", "Parser Error"),
    ("SELECT * FROM read_csv('/etc/passwd')", "(a query reads the current tables and nothing else)"),
    ("SET enable_external_access = true", "the configuration has been locked"),
])
def test_an_sql_error_is_one_line_and_an_audited_attempt(tables, capsys, sql, message):
    assert _query(tables, sql) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and message in captured.err and "Traceback" not in captured.err
    assert captured.err.startswith("roadchief query: ") and captured.out == ""
    assert _log(tables)[-1]["detail"]["sql"] == sql and "error" in _log(tables)[-1]["detail"]


def _entry_on(log, day: str, user: str, reason: str, monkeypatch):
    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.fromisoformat(f"{day}T10:00:00").replace(tzinfo=UTC)
    monkeypatch.setattr(audit, "datetime", Clock)
    log.append(user, "query", reason, {"sql": f"SELECT '{user} {day}'", "rows": 1})


@pytest.fixture
def history(tables, monkeypatch):
    log = AuditLog(tables / ".audit" / "audit.jsonl")
    log.ready()
    for day, user, reason in (("2026-11-01", "li", "case 2026-118"), ("2026-11-15", "wang", "weekly review"),
                              ("2026-11-20", "li", "Weekly review"), ("2026-12-02", "li", "case 2026-119")):
        _entry_on(log, day, user, reason, monkeypatch)
    monkeypatch.undo()
    return log


def _shown(capsys) -> list[str]:
    return re.findall(r"SELECT '(\w+ [\d-]+)'", capsys.readouterr().out)


@pytest.mark.parametrize(("filters", "expected"), [
    ([], ["li 2026-11-01", "wang 2026-11-15", "li 2026-11-20", "li 2026-12-02"]),
    (["--user", "li"], ["li 2026-11-01", "li 2026-11-20", "li 2026-12-02"]),
    (["--reason", "weekly"], ["wang 2026-11-15", "li 2026-11-20"]),
    (["--since", "2026-11-15", "--until", "2026-11-20"], ["wang 2026-11-15", "li 2026-11-20"]),
    (["--user", "li", "--reason", "case", "--since", "2026-11-02"], ["li 2026-12-02"]),
])
def test_audit_show_filters_by_user_reason_and_day(tables, history, capsys, filters, expected):
    assert main(["audit", "show", "--tables", str(tables), *filters]) == 0
    assert _shown(capsys) == expected


def test_audit_show_names_a_tampered_log_and_fails(tables, history, capsys):
    path = tables / ".audit" / "audit.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[2] + lines[3])
    assert main(["audit", "show", str(path)]) == 1
    captured = capsys.readouterr()
    assert "li 2026-11-01" in captured.out and "TAMPERED: line 2" in captured.err
    assert main(["audit", "verify", str(path)]) == 1


def test_audit_show_refuses_a_date_that_is_not_one(tables, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["audit", "show", "--tables", str(tables), "--since", "2026-13-01"])
    assert exit_.value.code == 2 and "'2026-13-01' is not a date" in capsys.readouterr().err


def test_the_demo_keeps_its_plate_key_outside_the_tables():
    """`make demo` as planned (-n: nothing runs): the key file is not under the run's output."""
    root = Path(__file__).resolve().parents[2]
    plan = subprocess.run(["make", "-n", "-B", "demo"], cwd=root, capture_output=True, text=True, timeout=60)
    assert plan.returncode == 0, plan.stderr
    options = plan.stdout.replace("\\\n", " ").split()
    key, tables = (Path(options[options.index(flag) + 1]) for flag in ("--plate_key_file", "--output"))
    assert tables not in key.parents
