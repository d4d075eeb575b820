"""Blocks packed for a shuffle come back as the same records, of the same type."""
from tests.builders import camera_event, passing_of
from transforms.blocks import Block, pack, unpack


def test_a_packed_block_unpacks_to_equal_records_of_its_type():
    events = Block([camera_event(), camera_event(plate=None, image="a.jpg")._replace(plate_alternates=["琼C12346"])])
    back = unpack(pack(events))
    assert back == events and isinstance(back, Block)
    assert [type(record) for record in back] == [type(events[0])] * 2
    passings = Block([passing_of("琼C12345", alternates=("琼C12346",)), passing_of("琼B00001", event_id="e2")])
    assert unpack(pack(passings)) == passings


def test_an_empty_block_packs():
    assert unpack(pack(Block())) == Block()
