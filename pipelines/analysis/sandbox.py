"""The DuckDB behind `roadchief query`: it reads the current tables and nothing else.

A query is text from a person, and DuckDB does much more than read tables: its
table functions read any file the process can (`read_text('…/plate.key')`,
`read_csv('/etc/passwd')`, the store's credentials in `/proc/self/environ`),
`COPY … TO` and `EXPORT DATABASE` write anywhere, ATTACH opens database files,
INSTALL and LOAD bring in code, and SET undoes any limit. So DuckDB gets no
file system at all: pyarrow reads the tables, exactly the Parquet files of the
version current when the query starts, from a folder or an object store, and
hands them to DuckDB as Arrow datasets. Then external access is switched off,
extensions are neither installed nor loaded on demand, Python objects are not
looked up by name, and the configuration is locked.

Not `allowed_directories` over the version's folder: DuckDB lets a query write
wherever it may read, so `COPY … TO` could add a forged part file to a table.

What a query can still make lives in memory and dies with it: tables, macros,
`ATTACH ':memory:'`. Without a temporary directory nothing spills to disk, so a
query that needs more than DuckDB's memory limit fails instead.
"""
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

import duckdb
from pyarrow.fs import LocalFileSystem

from pipelines.analysis.tables import in_local_time, table_files, views

# In this order: the limits first, then the switch that freezes them.
LOCKDOWN = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET python_enable_replacements = false",
    "SET temp_directory = ''",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


def sealed(tables_dir: str | Path, zone: Optional[ZoneInfo] = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the tables of `tables_dir` as views and no way out; its
    times shown in `zone` (the world's), set before the configuration is locked."""
    files, filesystem = table_files(tables_dir)
    if filesystem is None:
        filesystem = LocalFileSystem()
        files = {name: [str(Path(path).absolute()) for path in paths] for name, paths in files.items()}
    con = views(files, filesystem)
    if zone is not None:
        in_local_time(con, zone)
    for setting in LOCKDOWN:
        con.execute(setting)
    return con
