"""Blocks: records held as columns, changed a column at a time, and encoded for a runner and back."""
import pytest

from tests.builders import camera_event, passing_of
from transforms.blocks import Block, BlockCoder


def coded(block: Block) -> Block:
    return BlockCoder().decode(BlockCoder().encode(block))


def test_an_encoded_block_decodes_to_equal_records_of_its_type():
    events = Block([camera_event(), camera_event(plate=None, image="a.jpg")._replace(plate_alternates=["琼C12346"])])
    back = coded(events)
    assert back == events and isinstance(back, Block)
    assert [type(record) for record in back] == [type(events[0])] * 2
    passings = Block([passing_of("琼C12345", alternates=("琼C12346",)), passing_of("琼B00001", event_id="e2")])
    assert coded(passings) == passings


def test_an_empty_block_is_encoded():
    assert coded(Block()) == Block()


def test_a_block_replaces_whole_columns_and_takes_rows_in_the_order_asked():
    passings = Block([passing_of("琼C12345", event_id="e1"), passing_of("琼B00001", event_id="e2"),
                      passing_of(None, None, event_id="e3")])
    marked = passings.with_columns(watchlist_hit=[True, False, False])
    assert [p.watchlist_hit for p in marked] == [True, False, False]
    assert [p._replace(watchlist_hit=False) for p in marked] == list(passings)
    assert [p.event_id for p in marked.take([2, 0])] == ["e3", "e1"]
    assert [p.event_id for p in Block.joined([passings.take([1]), Block(), passings.take([0])])] == ["e2", "e1"]
    with pytest.raises(AssertionError):
        passings.with_columns(watchlist_hits=[True, False, False])
