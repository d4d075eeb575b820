"""Records as the tests build them: a camera event, a passing, a hit, a dispatch, watchlist
rows, and half an hour of simulated traffic.

Every builder fills the fields a test does not care about with one fixed sighting on 嘉积大道
at T0, so that a test names only what it checks."""
import csv
from datetime import datetime
from pathlib import Path

from geo.world import world_zone
from models.records import CameraEvent, Dispatch, Hit, Passing
from pipelines.job.options import SAMPLE_WORLD
from transforms.enrich.watchlist_store import entry_from_row, index_by_canonical

T0 = 1_795_910_400_000_000  # 2026-11-29 08:00 +08:00
MINUTE = 60_000_000
ZONE = world_zone(SAMPLE_WORLD)  # the sample world's, which the watchlist's validity days are read in


def camera_event(plate="琼C12345", confidence=0.9, image=None, base="/data", kind="plate") -> CameraEvent:
    return CameraEvent("f:1", "e1", "QH-SG-001", T0, plate, confidence, "blue",
                       "camera" if plate else "none", [], image, kind, base, None, None, None, None,
                       None)


def passing(event_id, minutes, plate, town="嘉积镇", segment="JJ-0001") -> Passing:
    """A passing `minutes` after T0 in `town`; without a plate, an unread one."""
    return Passing("f:1", event_id, "QH-SG-001", T0 + minutes * MINUTE, plate, 1.0 if plate else None,
                   "camera" if plate else "none", [], "blue", segment, "嘉积大道", town,
                   "urban" if segment else None, "street_grid", 110.45, 19.23, 2.0, False)


def passing_of(plate, confidence=1.0, alternates=(), at_us=T0, event_id="e1") -> Passing:
    """A passing as the watchlist match sees it: a plate read, its confidence and alternates."""
    return Passing("f:1", event_id, "CAM-1", at_us, plate, confidence, "camera", list(alternates),
                   "blue", "S1", "银海路", "嘉积镇", "urban", "street_grid", 110.46, 19.24, 3.0, False)


def hit(event_id, minutes, plate="琼C12345", action="intercept", score=1.0, priority=1,
        category="stolen", entry_id="W1", segment_id="JJ-0001") -> Hit:
    return Hit(event_id, T0 + minutes * MINUTE, plate, plate, entry_id, category, priority, action,
               "exact", 0, score, "QH-SG-001", segment_id, "嘉积大道", "嘉积镇", "urban",
               "street_grid", 110.4552, 19.2330, "v1")


def dispatch(minutes) -> Dispatch:
    """Dispatch D-1 of a stolen car, last seen `minutes` after T0."""
    return Dispatch("D-1", "琼C12345", "W1", "stolen", 1, ["stolen"], ["a"], 1, T0, T0,
                    "JJ-0001", "嘉积镇", "urban", "street_grid", "QH-SG-001",
                    "JJ-0001", "嘉积大道", "嘉积镇", "urban", "street_grid", 110.45, 19.23, [], [],
                    None, T0 + minutes * MINUTE)


# Two current entries one substitution apart, and one that expired in 2025.
WATCHLIST_ROWS = [
    {"entry_id": "W1", "plate": "琼C12345", "plate_color": "blue", "category": "stolen",
     "priority": "1", "action": "intercept", "valid_from": "2026-01-01", "valid_to": "2027-01-01", "note": ""},
    {"entry_id": "W2", "plate": "琼C1234S", "plate_color": "blue", "category": "wanted",
     "priority": "2", "action": "intercept", "valid_from": "2026-01-01", "valid_to": "2027-01-01", "note": ""},
    {"entry_id": "W3", "plate": "粤B88888", "plate_color": "yellow", "category": "overdue_inspection",
     "priority": "5", "action": "observe", "valid_from": "2025-01-01", "valid_to": "2025-06-30", "note": ""},
]
WATCHLIST_INDEX = index_by_canonical(entry_from_row(row, "test", ZONE) for row in WATCHLIST_ROWS)


def write_watchlist_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def simulated_events(folder: Path, world_folder: str, seed: int, events: int = 3000) -> Path:
    """Half an hour of simulated traffic with 5% watchlisted vehicles, as a JSONL file."""
    from geo.shared import world_at
    from geo.synthetic.simulate import simulate
    path = folder / "events.jsonl"
    simulate(world_at(world_folder), path, events=events,
             start=datetime.fromisoformat("2026-11-29T08:00:00+08:00"), duration_s=1800, seed=seed,
             watchlisted_share=0.05)
    return path


def repeated(events: Path, times: int) -> Path:
    """`events` written `times` over, beside it: a run long enough to be caught half-way on any
    machine (every copy after the first is a duplicate delivery)."""
    longer = events.with_name(f"{events.stem}-x{times}.jsonl")
    if not longer.exists():
        longer.write_text(events.read_text(encoding="utf-8") * times, encoding="utf-8")
    return longer


def large_and_small(folder: Path, world_folder: str, seed: int, events: int, small_lines: int) -> tuple[Path, Path]:
    """A larger events file and its first `small_lines` lines, whose tables differ in every count."""
    large = simulated_events(folder, world_folder, seed=seed, events=events)
    small = folder / "small.jsonl"
    small.write_text("".join(large.read_text(encoding="utf-8").splitlines(keepends=True)[:small_lines]),
                     encoding="utf-8")
    return large, small
