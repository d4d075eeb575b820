"""Retention: delete rows of the output tables once their class's time is up.

Each table has a retention period and a time that starts its clock:

| table        | default | clock                                             |
|--------------|---------|---------------------------------------------------|
| passings     | 30 days | captured_at                                       |
| hits         | 365     | captured_at                                       |
| dispatches   | 365     | created_at                                        |
| dead_letters | 30      | the Parquet file's modification time (no time column) |
| incidents    | 1095    | reported_at                                       |
| outcomes     | 1095    | at                                                |
| responses    | 1095    | dispatched_at                                     |
| metrics      | kept    | window_end, if a period is configured             |
| safety_metrics | kept  | period_end, if a period is configured             |

Metrics hold aggregates and no plates, so they are kept unless asked.
Incidents and dispatch outcomes hold no plates either, but places and
officers; three years keeps the year-on-year comparison of the last two.
Dead letters hold raw input lines (plates included) but no time column, so a
whole part file goes once the file itself is older than the period; copying
the folder without keeping mtimes (cp without -p) restarts their clock.

Each part file is rewritten to a temporary name in its folder and moved over
the original with os.replace, which is atomic: a reader sees the old file or
the new one, never half of one. All of a table's new files are written before
any is moved, so a failure while writing leaves every old file in place. A
crash between two moves leaves some files purged and others not yet: rerun.
"""
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.store.object_store import is_s3
from pipelines.store.output_folder import OutputFolder, tables_root

DEFAULT_RETENTION = {"passings": 30, "hits": 365, "dispatches": 365, "dead_letters": 30,
                     "incidents": 1095, "outcomes": 1095, "responses": 1095}
TIME_COLUMNS = {"passings": "captured_at", "hits": "captured_at", "dispatches": "created_at",
                "metrics": "window_end", "incidents": "reported_at", "outcomes": "at",
                "responses": "dispatched_at", "safety_metrics": "period_end"}
BY_FILE_TIME = ("dead_letters",)
TEMP_SUFFIX = ".purging"  # not *.parquet, so readers never pick up a half-written file


class PurgeReport(NamedTuple):
    rows_before: int
    rows_after: int

    @property
    def deleted(self) -> int:
        return self.rows_before - self.rows_after


def _check_policy(retention_days: dict[str, int], now: datetime) -> None:
    known = set(TIME_COLUMNS) | set(BY_FILE_TIME)
    unknown = sorted(set(retention_days) - known)
    if unknown:
        raise ValueError(f"retention: unknown table {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known))})")
    negative = sorted(name for name, days in retention_days.items() if days < 0)
    if negative:
        raise ValueError(f"retention: days must not be negative ({', '.join(negative)})")
    if now.tzinfo is None:
        raise ValueError("retention: `now` must carry a time zone")


def _kept_rows(path: Path, table: str, cutoff: datetime) -> pa.Table | None:
    """The rows of one part file still within retention; None when the whole file expires."""
    if table in BY_FILE_TIME:
        expired = path.stat().st_mtime < cutoff.timestamp()
        return None if expired else pq.read_table(path)
    rows = pq.read_table(path)
    column = rows.column(TIME_COLUMNS[table])
    return rows.filter(pc.greater_equal(column, pa.scalar(cutoff, type=column.type)))


def _purge_table(folder: Path, table: str, cutoff: datetime) -> PurgeReport:
    """Rewrite one table's part files without their expired rows, all or none."""
    before = after = 0
    moves: list[tuple[Path, Path | None]] = []  # (original, replacement or None to delete)
    try:
        for path in sorted(folder.glob("*.parquet")):
            rows_before = pq.read_metadata(path).num_rows
            kept = _kept_rows(path, table, cutoff)
            rows_after = 0 if kept is None else kept.num_rows
            before, after = before + rows_before, after + rows_after
            if rows_after == rows_before:
                continue
            if rows_after == 0:
                moves.append((path, None))
            else:
                replacement = path.with_name(path.name + TEMP_SUFFIX)
                moves.append((path, replacement))
                pq.write_table(kept, replacement)
    except BaseException:
        for _, temp in moves:
            if temp is not None:
                temp.unlink(missing_ok=True)
        raise
    for path, temp in moves:
        if temp is None:
            path.unlink()
        else:
            os.replace(temp, path)
    return PurgeReport(before, after)


def purge(tables_dir: str | Path, retention_days: dict[str, int] = DEFAULT_RETENTION,
          now: datetime | None = None,
          progress: Callable[[str], None] | None = None) -> dict[str, PurgeReport]:
    """Delete expired rows from each table named in `retention_days` (days to keep).

    Tables not named are kept whole. `now` (time-zone aware) defaults to the
    current time; tests pass a fixed one. Returns rows before and after per table.
    ``progress``, if given, is told each table as its purge begins.
    """
    now = now or datetime.now().astimezone()
    _check_policy(retention_days, now)
    if is_s3(str(tables_dir)):
        raise ValueError(f"retention: purging an s3:// output is not implemented ({tables_dir}); "
                         f"each run there replaces every table whole, and older runs are deleted")
    if not Path(tables_dir).is_dir():
        raise ValueError(f"retention: {tables_dir} is not a folder")
    folder = OutputFolder(tables_dir)
    with folder.writer("roadchief purge"):
        root = tables_root(tables_dir)
        reports = {}
        for table, days in sorted(retention_days.items()):
            if progress:
                progress(table)
            reports[table] = _purge_table(root / table, table, now - timedelta(days=days))
        folder.drop_earlier_versions()  # an earlier run's copy must not outlive the retention
    return reports
