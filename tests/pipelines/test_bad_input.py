"""Every input line ends in exactly one row of passings or dead_letters."""
import json

import pytest

from pipelines.analysis.tables import connect
from pipelines.job.run import run

pytestmark = pytest.mark.beam

GOOD = {"event_id": "good-1", "camera_id": "QH-BC-001", "captured_at": "2026-11-29T08:00:00+08:00",
        "plate": "琼C12345", "plate_confidence": 0.97, "plate_color": "blue"}


def event(**change) -> str:
    return json.dumps({**GOOD, **change}, ensure_ascii=False)


CORPUS = [
    (event(), None),
    (event(event_id="good-2", plate="琼C1234S"), None),
    (event(event_id="mobile-1", camera_id="QH-MB-001", lon=110.4618, lat=19.2502), None),
    (event(event_id="padded", padding="x" * 1_000_000), None),
    ('{"event_id": "bad-json", "camera_id": ', "not valid JSON"),
    (event(event_id="truncated")[:40], "not valid JSON"),
    ("this is not json at all", "not valid JSON"),
    ("[1, 2, 3]", "not a JSON object"),
    (event(event_id="types", plate_confidence="very"), "plate_confidence: expected a number"),
    (event(event_id="speed", speed_kmh=[1]), "speed_kmh: expected a number"),
    (event(event_id=None), "event_id: missing"),
    (event(event_id="no-camera", camera_id=None), "camera_id: missing"),
    (event(event_id="no-time", captured_at=None), "captured_at: missing"),
    (event(event_id="ghost", camera_id="QH-XX-999"), "camera_id: unknown camera"),
    (event(event_id="nothing", plate=None), "neither plate nor image"),
    (event(event_id="future", captured_at="2099-01-01T00:00:00+08:00"), "too far in the future"),
    (event(event_id="junk", plate="☃️💥\u202e琼"), "not a licence plate"),
    (event(event_id="mobile-no-pos", camera_id="QH-MB-002"), "required for a mobile camera"),
    ("x" * 1_000_000, "not valid JSON"),
    ("", "empty line"),
    (event(), "duplicate event_id"),
]


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    events = folder / "events.jsonl"
    events.write_text("\n".join(text for text, _ in CORPUS) + "\n", encoding="utf-8")
    (folder / "empty.jsonl").write_text("")
    output = folder / "out"
    code = run(["--runner", "FnApiRunner", "--events", str(folder / "*.jsonl"),
                "--output", str(output)], summary=False)
    return events, connect(output), code


def test_the_run_balances_and_never_crashes(replay):
    _, _, code = replay
    assert code == 0


def test_every_line_is_exactly_one_row(replay):
    events, con, _ = replay
    sources = con.execute(
        "SELECT source FROM passings UNION ALL SELECT source FROM dead_letters").fetchall()
    expected = [f"{events}:{n}" for n in range(1, len(CORPUS) + 1)]
    assert sorted(s for (s,) in sources) == sorted(expected)


@pytest.mark.parametrize("line, reason", [(n, r) for n, (_, r) in enumerate(CORPUS, 1) if r])
def test_each_bad_line_says_why(replay, line, reason):
    events, con, _ = replay
    rows = con.execute("SELECT stage, reason, length(raw) FROM dead_letters WHERE source = ?",
                       [f"{events}:{line}"]).fetchall()
    assert len(rows) == 1 and reason in rows[0][1]
    assert rows[0][2] <= 1000


def test_good_lines_become_passings_placed_on_the_network(replay):
    _, con, _ = replay
    rows = dict(con.execute("SELECT event_id, segment_id FROM passings").fetchall())
    assert set(rows) == {"good-1", "good-2", "mobile-1", "padded"}
    assert all(rows.values())


def test_the_duplicate_names_the_first_delivery(replay):
    events, con, _ = replay
    (reason,) = con.execute("SELECT reason FROM dead_letters WHERE stage = 'deduplicate'").fetchone()
    assert reason.endswith(f"{events}:1")
