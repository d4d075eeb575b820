import pyarrow as pa
import pyarrow.parquet as pq

from models.records import DEAD_LETTERS, DeadLetter, Dispatch, Passing
from tests.builders import dispatch, passing
from transforms.blocks import Block
from transforms.store import write_tables
from transforms.store.write_tables import TABLES, _Publish, _WriteFiles, arrow_schema, as_row


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


def _written(folder, table):
    return sorted(path.name for path in (folder / table).iterdir())


def test_published_files_are_named_in_order_and_the_staging_folder_goes(tmp_path):
    staging = tmp_path / ".writing-x"
    staging.mkdir()
    schemas = {"passings": arrow_schema(Passing), "dead_letters": arrow_schema(DeadLetter)}
    files = []
    for rows in ([passing("e1", 0, "琼C12345")], [passing("e2", 1, "琼C54321"), passing("e3", 2, None)]):
        fn = _WriteFiles(str(staging), "passings", schemas["passings"], blocks=True)
        fn.start_bundle()
        fn.process(Block(rows))
        files += [output.value for output in fn.finish_bundle()]
    (staging / "passings-of-a-failed-bundle.parquet").write_bytes(b"half a file")
    publish = _Publish(str(tmp_path), str(staging), schemas)
    published = list(publish.process((None, [*files, ("passings", None), ("dead_letters", None)])))
    assert _written(tmp_path, "passings") == ["part-00000-of-00002.parquet", "part-00001-of-00002.parquet"]
    assert published == [str(tmp_path / table / name) for table in schemas for name in _written(tmp_path, table)]
    assert not staging.exists()
    table = pq.read_table(tmp_path / "passings")
    assert sorted(table.column("event_id").to_pylist()) == ["e1", "e2", "e3"]


def test_a_table_without_rows_gets_one_empty_file_with_its_schema_and_metadata(tmp_path):
    schema = arrow_schema(DeadLetter).with_metadata({"roadchief.plate_key_id": "abc"})
    list(_Publish(str(tmp_path), str(tmp_path / ".writing-x"), {"dead_letters": schema}).process(
        (None, [("dead_letters", None)])))
    assert _written(tmp_path, "dead_letters") == ["part-00000-of-00001.parquet"]
    written = pq.read_table(tmp_path / "dead_letters" / "part-00000-of-00001.parquet")
    assert written.num_rows == 0 and written.schema == schema


def test_a_retried_publish_keeps_the_files_the_first_one_moved(tmp_path):
    staging = tmp_path / ".writing-x"
    schemas = {"passings": arrow_schema(Passing)}
    fn = _WriteFiles(str(staging), "passings", schemas["passings"], blocks=False)
    fn.start_bundle()
    fn.process(passing("e1", 0, "琼C12345"))
    files = [output.value for output in fn.finish_bundle()]
    for _ in range(2):
        list(_Publish(str(tmp_path), str(staging), schemas).process((None, [*files, ("passings", None)])))
    assert pq.read_table(tmp_path / "passings").column("event_id").to_pylist() == ["e1"]


def test_a_bundle_of_many_rows_is_one_file_of_several_row_groups(tmp_path, monkeypatch):
    monkeypatch.setattr(write_tables, "ROWS_PER_GROUP", 2)
    fn = _WriteFiles(str(tmp_path), "passings", arrow_schema(Passing), blocks=True)
    fn.start_bundle()
    for first in (0, 2, 4):  # blocks of 2, 2 and 1 rows
        fn.process(Block(passing(f"e{i}", i, "琼C12345") for i in range(first, min(first + 2, 5))))
    [(_, path)] = [output.value for output in fn.finish_bundle()]
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    assert pq.read_table(path).num_rows == 5
