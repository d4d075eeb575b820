"""Reading the output tables back with DuckDB: one view per table."""
import glob
import gzip
import unicodedata
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from pyarrow.dataset import dataset
from pyarrow.fs import FileSystem

from pipelines.store.object_store import is_s3
from pipelines.store.output_bucket import OutputBucket
from pipelines.store.output_folder import tables_root
from transforms.store.write_tables import TABLES, arrow_schema


def connect(tables_dir: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view over each table under `tables_dir`, a folder or
    an s3:// output (`pipelines.store.output_bucket`, credentials from the AWS variables).

    The tables are those of the run current when it connects (`tables_root`),
    even if another run is published while its queries run.

    A table with no files (nothing written yet, or all purged) is an empty
    view with the table's schema, so queries still run.
    """
    files, filesystem = table_files(tables_dir)
    return views(files, filesystem)


def table_files(tables_dir: str | Path) -> tuple[dict[str, list[str]], FileSystem | None]:
    """Each table's Parquet files in the version of `tables_dir` current now, and the
    filesystem they are on: None for a local folder, the object store for s3://."""
    if is_s3(str(tables_dir)):
        bucket = OutputBucket(str(tables_dir))
        return bucket.table_files(), bucket.filesystem()
    if not Path(tables_dir).is_dir():
        raise ValueError(f"--tables: {tables_dir} is not a folder")
    tables_dir = tables_root(tables_dir)
    return {name: sorted(glob.glob(str(tables_dir / name / "*.parquet"))) for name in TABLES}, None


def views(files: dict[str, list[str]], filesystem: FileSystem | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB view per table over its Parquet files: local paths that DuckDB reads itself,
    or paths on `filesystem` (an object store, which DuckDB reaches through pyarrow)."""
    con = duckdb.connect()
    for name in TABLES:
        if not files.get(name):
            con.register(name, arrow_schema(TABLES[name]).empty_table())
        elif filesystem is None:
            listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files[name])
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listing}])")
        else:
            con.register(name, dataset(files[name], filesystem=filesystem, format="parquet"))
    return con


def in_local_time(con: duckdb.DuckDBPyConnection, zone: ZoneInfo) -> duckdb.DuckDBPyConnection:
    """`con`, its TIMESTAMPTZ values shown in the world's zone (`zone`), with their offset."""
    con.execute(f"SET TimeZone = '{zone.key}'")  # a key ZoneInfo found is a path-like name, no quotes
    return con


def count_lines(patterns: list[str]) -> int:
    """Input lines as the pipeline counts them: a final line without newline counts."""
    total = 0
    for path in sorted({p for pattern in patterns for p in glob.glob(pattern)}):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as handle:
            last = b"\n"
            for block in iter(lambda: handle.read(1 << 20), b""):
                total += block.count(b"\n")
                last = block[-1:]
            total += last != b"\n"
    return total


CUT = "…"


def _width(text: str) -> int:
    """Terminal columns: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def render(columns: list[str], rows: list[tuple], max_rows: int, max_cell: int = 60) -> str:
    """Rows as an aligned text table, at most `max_rows` of them.

    A cell longer than `max_cell` characters ends in `…` where it was cut, and a
    line under the table says so: a cut value must never pass for the whole one.
    """
    texts = [["NULL" if v is None else str(v) for v in row] for row in rows[:max_rows]]
    cut = any(len(text) > max_cell for row in texts for text in row)
    cells = [[text if len(text) <= max_cell else text[:max_cell - 1] + CUT for text in row] for row in texts]
    widths = [max([_width(c)] + [_width(row[i]) for row in cells]) for i, c in enumerate(columns)]

    def line(values):
        return "  ".join(v + " " * (w - _width(v)) for v, w in zip(values, widths)).rstrip()
    out = [line(columns), line(["-" * w for w in widths])] + [line(row) for row in cells]
    if len(rows) > max_rows:
        out.append(f"... {len(rows) - max_rows:,} more rows")
    out.append(f"({len(rows):,} rows)")
    if cut:
        out.append(f"{CUT} marks a cell cut at {max_cell} characters")
    return "\n".join(out)
