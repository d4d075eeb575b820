import pyarrow as pa

from models.records import DEAD_LETTERS, DeadLetter, Dispatch, Passing
from tests.builders import dispatch
from transforms.store.write_tables import TABLES, arrow_schema, as_row


def test_time_fields_become_utc_timestamps_without_the_suffix():
    schema = arrow_schema(Passing)
    assert schema.field("captured_at").type == pa.timestamp("us", tz="UTC")
    assert "captured_at_us" not in schema.names


def test_nested_records_become_lists_of_structs():
    chain = arrow_schema(Dispatch).field("chief_chain").type
    assert pa.types.is_list(chain) and chain.value_type.get_field_index("phone") >= 0


def test_every_table_has_a_schema_and_rows_convert(tmp_path):
    for record in TABLES.values():
        assert len(arrow_schema(record)) == len(record._fields)
    row = as_row(dispatch(0))
    table = pa.Table.from_pylist([row], schema=arrow_schema(Dispatch))
    assert table.column("created_at")[0].value == dispatch(0).created_at_us


def test_dead_letters_travel_under_the_name_of_their_table():
    assert TABLES[DEAD_LETTERS] is DeadLetter
