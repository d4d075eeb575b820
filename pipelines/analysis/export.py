"""A query's result as a person asked for it: a table on the terminal, or CSV, JSON Lines
or Parquet on standard output or in a file.

`deliver` returns what left, for the audit log: the rows written, or for a table the
rows returned and how many of them were shown, and a file's path, size and SHA-256,
so an auditor can recognise a copy when one turns up.
"""
import csv
import hashlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.analysis.tables import render

FORMATS = ("table", "csv", "json", "parquet")
_BATCH = 10_000


def check_destination(fmt: str, out: str | None, forbidden: list[Path]) -> None:
    """Refuse, before the query runs, what cannot be written: Parquet to a terminal,
    a file in a missing folder, or a file inside the tables or over the audit log."""
    if fmt == "parquet" and out is None:
        raise ValueError("--format parquet: give --out FILE (Parquet is not for a terminal)")
    if out is None:
        return
    target = Path(out).resolve()
    for place in forbidden:
        place = place.resolve()
        if target == place or place in target.parents:
            raise ValueError(f"--out {out}: inside {place}, which the query only reads")
    if not target.parent.is_dir():
        raise ValueError(f"--out {out}: the folder {Path(out).parent} does not exist")
    if target.is_dir():
        raise ValueError(f"--out {out}: is a folder; give a file name")


def deliver(result: duckdb.DuckDBPyRelation | None, fmt: str, out: str | None,
            max_rows: int) -> dict[str, Any]:
    """Write a query's result (None: the statement returns none); return what left,
    for the audit log."""
    if fmt == "table":
        columns, rows = (result.columns, result.fetchall()) if result is not None else ([], [])
        with _opened(out) as handle:
            handle.write(render(columns, rows, max_rows) + "\n")
        left: dict[str, Any] = {"rows": len(rows), "shown": min(len(rows), max_rows)}
    else:
        reader = result.to_arrow_reader(_BATCH) if result is not None else None
        left = {"rows": _WRITERS[fmt](reader, out)}
    left["format"] = fmt
    if out is not None:
        left.update(_file_facts(Path(out)))
    return left


@contextmanager
def _opened(out: str | None) -> Iterator[IO[str]]:
    if out is None:
        yield sys.stdout
        return
    with open(out, "w", encoding="utf-8", newline="") as handle:
        yield handle


def _rows(reader: pa.RecordBatchReader | None) -> Iterator[list[dict[str, Any]]]:
    for batch in reader or ():
        yield batch.to_pylist()


def _plain(value: Any) -> Any:
    """A cell as JSON holds it: times in ISO 8601 with their offset, nested values as
    lists and objects, anything else JSON lacks (decimals, intervals, bytes) as text."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _write_json(reader: pa.RecordBatchReader | None, out: str | None) -> int:
    """JSON Lines: one object a row, keyed by column."""
    written = 0
    with _opened(out) as handle:
        for rows in _rows(reader):
            for row in rows:
                handle.write(json.dumps(_plain(row), ensure_ascii=False) + "\n")
            written += len(rows)
    return written


def _write_csv(reader: pa.RecordBatchReader | None, out: str | None) -> int:
    """CSV with a header; NULL is an empty cell, a nested value its JSON."""
    def cell(value: Any) -> Any:
        plain = _plain(value)
        return json.dumps(plain, ensure_ascii=False) if isinstance(plain, (list, dict)) else plain
    written = 0
    with _opened(out) as handle:
        writer = csv.writer(handle)
        writer.writerow(reader.schema.names if reader is not None else [])
        for rows in _rows(reader):
            writer.writerows([cell(v) for v in row.values()] for row in rows)
            written += len(rows)
    return written


def _write_parquet(reader: pa.RecordBatchReader | None, out: str | None) -> int:
    assert out is not None  # check_destination refuses Parquet without --out
    schema = reader.schema if reader is not None else pa.schema([])
    written = 0
    with pq.ParquetWriter(out, schema) as writer:
        for batch in reader or ():
            writer.write_batch(batch)
            written += batch.num_rows
    return written


_WRITERS = {"csv": _write_csv, "json": _write_json, "parquet": _write_parquet}


def _file_facts(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"out": str(path.resolve()), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}
