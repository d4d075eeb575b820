"""Write the output tables as Parquet datasets that DuckDB reads directly.

The Parquet schema is derived from each record's type hints, so a field added
to a record appears in its table without a second schema to keep in step.
Fields ending in `_us` (microseconds since the epoch) become UTC timestamp
columns without the suffix: `captured_at_us` is stored as `captured_at`.
"""
import collections.abc
import typing

import apache_beam as beam
import pyarrow as pa
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


def as_table(records: list, schema: pa.Schema) -> pa.Table:
    """Records of one type as an Arrow table, built column by column."""
    columns = zip(*records) if records else [[] for _ in schema]
    return pa.Table.from_arrays(
        [pa.array([_plain(v) for v in column] if pa.types.is_list(field.type) else column,
                  type=field.type)
         for column, field in zip(columns, schema)], schema=schema)


class _ToArrow(beam.DoFn):
    """Collect a bundle's records (or blocks of them) into Arrow tables of up to 20,000 rows.

    Its input is in the global window, where the sink puts everything anyway,
    so the tables need neither the records' windows nor their timestamps.
    """
    rows = 20_000

    def __init__(self, schema: pa.Schema, blocks: bool):
        self._schema = schema
        self._blocks = blocks

    def start_bundle(self):
        self._records = []

    def process(self, element):
        if self._blocks:
            self._records.extend(element)
        else:
            self._records.append(element)
        if len(self._records) >= self.rows:
            yield as_table(self._records, self._schema)
            self._records = []

    def finish_bundle(self):
        if self._records:
            yield GlobalWindows.windowed_value(as_table(self._records, self._schema))
        self._records = []


class WriteTables(beam.PTransform):
    """{table name: PCollection of records, or of blocks for BLOCK_TABLES} → Parquet files
    under `output/<table>/`, where `output` is a folder or any location Beam's filesystems
    write (s3://bucket/prefix).

    `metadata` goes into every file's schema (e.g. which plate key made the tokens).

    Records are converted to Arrow a batch at a time, which is several times
    faster than handing the sink one dict per row.
    """

    def __init__(self, output: str, metadata: dict[str, str] | None = None):
        super().__init__()
        self._output = output
        self._metadata = metadata or {}

    def expand(self, tables: dict):
        results = {}
        for name, records in tables.items():
            schema = arrow_schema(TABLES[name]).with_metadata(self._metadata)
            if not isinstance(records.windowing.windowfn, GlobalWindows):
                records = records | f"{name}:Global" >> beam.WindowInto(GlobalWindows())
            results[name] = (
                records
                | f"{name}:Arrow" >> beam.ParDo(_ToArrow(schema, blocks=name in BLOCK_TABLES))
                | f"{name}:Write" >> beam.io.WriteToParquetBatched(
                    FileSystems.join(self._output, name, "part"), schema, file_name_suffix=".parquet"))
        return results
