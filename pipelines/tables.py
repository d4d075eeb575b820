"""Reading the output tables back with DuckDB: one view per table."""
import glob
import gzip
from pathlib import Path

import duckdb

from transforms.write_tables import TABLES


def connect(tables_dir: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view over each table found under `tables_dir`."""
    tables_dir = Path(tables_dir)
    if not tables_dir.is_dir():
        raise ValueError(f"--tables: {tables_dir} is not a folder")
    con = duckdb.connect()
    for name in TABLES:
        files = sorted(glob.glob(str(tables_dir / name / "*.parquet")))
        if files:
            listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listing}])")
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
