"""Write the output tables as Parquet datasets that DuckDB reads directly.

The Parquet schema is derived from each record's type hints, so a field added
to a record appears in its table without a second schema to keep in step.
Fields ending in `_us` (microseconds since the epoch) become UTC timestamp
columns without the suffix: `captured_at_us` is stored as `captured_at`.
"""
import collections.abc
import typing
import uuid

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from models.records import (
    DeadLetter,
    Dispatch,
    Hit,
    Incident,
    MetricRow,
    OutcomeReport,
    Passing,
    Response,
    SafetyMetric,
)
from transforms.blocks import Block

TABLES = {"passings": Passing, "hits": Hit, "dispatches": Dispatch, "metrics": MetricRow,
          "incidents": Incident, "outcomes": OutcomeReport, "responses": Response,
          "safety_metrics": SafetyMetric, "dead_letters": DeadLetter}
BLOCK_TABLES = frozenset({"passings"})  # these arrive as blocks of records (transforms.blocks)
TIME_SUFFIX = "_us"
_SCALARS = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}


def column_name(field: str) -> str:
    return field[: -len(TIME_SUFFIX)] if field.endswith(TIME_SUFFIX) else field


def _arrow_type(hint, field: str) -> pa.DataType:
    if typing.get_origin(hint) is typing.Union:
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if field.endswith(TIME_SUFFIX):
        return pa.timestamp("us", tz="UTC")
    if hint in _SCALARS:
        return _SCALARS[hint]
    if typing.get_origin(hint) in (collections.abc.Sequence, list, tuple):
        return pa.list_(_arrow_type(typing.get_args(hint)[0], ""))
    if hasattr(hint, "__annotations__"):
        return pa.struct([pa.field(column_name(name), _arrow_type(sub, name))
                          for name, sub in typing.get_type_hints(hint).items()])
    raise TypeError(f"no Parquet type for {hint!r}")


def arrow_schema(record_type) -> pa.Schema:
    return pa.schema([pa.field(column_name(name), _arrow_type(hint, name))
                      for name, hint in typing.get_type_hints(record_type).items()])


def _plain(value):
    """Nested records as dicts, so Arrow can build structs from them."""
    if isinstance(value, (list, tuple)) and value and hasattr(value[0], "_fields"):
        return [as_row(item) for item in value]
    return value


def as_row(record) -> dict:
    """A record as a dict of Parquet columns, nested records included."""
    return {column_name(name): _plain(value) for name, value in zip(record._fields, record)}


def as_table(records: list | Block, schema: pa.Schema) -> pa.Table:
    """Records of one type (or a block of them) as an Arrow table, built column by column."""
    columns: collections.abc.Iterable[collections.abc.Sequence] = [[] for _ in schema]
    if records:
        columns = records.columns if isinstance(records, Block) else zip(*records)
    return pa.Table.from_arrays(
        [pa.array([_plain(v) for v in column] if pa.types.is_list(field.type) else column,
                  type=field.type)
         for column, field in zip(columns, schema)], schema=schema)


ROWS_PER_GROUP = 20_000


class _ParquetFile:
    """A Parquet file being written at `path`, on any of Beam's filesystems; uncompressed, as
    Beam's own Parquet sink writes."""

    def __init__(self, path: str, schema: pa.Schema):
        self.path = path
        self._out = FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED)
        self._writer = pq.ParquetWriter(self._out, schema, compression="none", use_compliant_nested_type=False)

    def write(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()
        self._out.close()


class _WriteFiles(beam.DoFn):
    """A bundle's records of one table (or blocks of them) → one Parquet file in the staging
    folder, a row group per 20,000 rows; emits (table, path) once the file is complete.

    Its input is in the global window, where the whole table is written at once,
    so the files need neither the records' windows nor their timestamps.
    """

    def __init__(self, staging: str, table: str, schema: pa.Schema, blocks: bool):
        self._staging = staging
        self._table = table
        self._schema = schema
        self._blocks = blocks

    def start_bundle(self):
        self._records: list = []  # records, or blocks of them
        self._rows = 0
        self._file: _ParquetFile | None = None

    def process(self, element):
        self._records.append(element)
        self._rows += len(element) if self._blocks else 1
        if self._rows >= ROWS_PER_GROUP:
            self._write_group()

    def finish_bundle(self):
        if self._records:
            self._write_group()
        if self._file is not None:
            self._file.close()
            yield GlobalWindows.windowed_value((self._table, self._file.path))
            self._file = None

    def _write_group(self):
        if self._file is None:
            self._file = _ParquetFile(
                FileSystems.join(self._staging, f"{self._table}-{uuid.uuid4().hex}.parquet"), self._schema)
        self._file.write(as_table(Block.joined(self._records) if self._blocks else self._records, self._schema))
        self._records, self._rows = [], 0


class _Publish(beam.DoFn):
    """Every file written (and each table's name) → the files moved to `output/<table>/`, named
    part-NNNNN-of-NNNNN.parquet; a table without rows gets one empty file with its schema.
    The staging folder goes last, with any file of a bundle that failed and was retried."""

    def __init__(self, output: str, staging: str, schemas: dict[str, pa.Schema]):
        self._output = output
        self._staging = staging
        self._schemas = schemas

    def process(self, keyed):
        _, written = keyed
        files: dict[str, list[str]] = {name: [] for name in self._schemas}
        for table, path in written:
            if path is not None:
                files[table].append(path)
        for table, paths in files.items():
            folder = FileSystems.join(self._output, table)
            _make_folder(folder)
            if not paths:
                empty = _ParquetFile(FileSystems.join(folder, "part-00000-of-00001.parquet"), self._schemas[table])
                empty.close()
                yield empty.path
                continue
            names = [FileSystems.join(folder, f"part-{i:05d}-of-{len(paths):05d}.parquet")
                     for i in range(len(paths))]
            moving = [(path, name) for path, name in zip(sorted(paths), names) if FileSystems.exists(path)]
            if moving:  # a retried publish finds the files it moved already gone
                FileSystems.rename(*map(list, zip(*moving)))
            yield from names
        _remove_folder(self._staging)


def _remove_folder(folder: str) -> None:
    """The folder and what is left in it: on an object store, the objects under its prefix."""
    left = [found.path for found in FileSystems.match([FileSystems.join(folder, "*")])[0].metadata_list]
    if left:
        FileSystems.delete(left)
    if FileSystems.exists(folder):
        FileSystems.delete([folder])


def _make_folder(folder: str) -> None:
    try:
        FileSystems.mkdirs(folder)
    except OSError:  # already there; an object store has no folders to make
        pass


class WriteTables(beam.PTransform):
    """{table name: PCollection of records, or of blocks for BLOCK_TABLES} → Parquet files
    under `output/<table>/`, where `output` is a folder or any location Beam's filesystems
    write (s3://bucket/prefix).

    `metadata` goes into every file's schema (e.g. which plate key made the tokens).

    One sink for every table: each bundle writes its rows of a table as one file
    in a staging folder, records turned into Arrow 20,000 at a time, and once
    every table is complete one step moves the files into place. Beam's own
    Parquet sink per table would add about a dozen transforms and several
    stages per table to every run: almost half of a replay's fixed cost.
    Returns the PCollection of the paths published.
    """

    def __init__(self, output: str, metadata: dict[str, str] | None = None):
        super().__init__()
        self._output = output
        self._metadata = metadata or {}

    def expand(self, tables: dict):
        staging = FileSystems.join(self._output, f".writing-{uuid.uuid4().hex[:12]}")
        schemas = {name: arrow_schema(TABLES[name]).with_metadata(self._metadata) for name in tables}
        written = []
        for name, records in tables.items():
            if not isinstance(records.windowing.windowfn, GlobalWindows):
                records = records | f"{name}:Global" >> beam.WindowInto(GlobalWindows())
            written.append(records | f"{name}:Write" >> beam.ParDo(
                _WriteFiles(staging, name, schemas[name], blocks=name in BLOCK_TABLES)).with_output_types(
                    tuple[str, str]))
        named = next(iter(tables.values())).pipeline | "Tables" >> beam.Create(
            [(name, None) for name in tables], reshuffle=False)
        return ((*written, named)
                | "Files" >> beam.Flatten()
                | "Together" >> beam.Map(lambda file: (None, file))
                | "Gather" >> beam.GroupByKey()
                | "Publish" >> beam.ParDo(_Publish(self._output, staging, schemas)))
