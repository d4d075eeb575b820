from tests.builders import passing
from transforms.blocks import Block
from transforms.enrich.privacy import load_plate_key, plate_token
from transforms.enrich.pseudonymise import _Pseudonymise


def test_only_vehicles_that_hit_nothing_lose_their_plate(plate_key):
    fn = _Pseudonymise(key_file=None)
    fn.setup()
    stranger = passing("a", 1, "琼C12345")._replace(plate_alternates=["琼C1234S"])
    wanted = passing("b", 1, "琼E25088")._replace(watchlist_hit=True)
    ((hidden, kept),) = fn.process(Block([stranger, wanted]))
    key = load_plate_key()
    assert hidden.plate == plate_token("琼C12345", key) and hidden.plate.startswith("h:")
    assert hidden.plate_alternates == [plate_token("琼C1234S", key)]
    assert kept == wanted


def test_the_key_can_come_from_a_file(tmp_path, plate_key):
    key_file = tmp_path / "plate.key"
    key_file.write_text("ab" * 32)
    fn = _Pseudonymise(key_file=str(key_file))
    fn.setup()
    ((hidden,),) = fn.process(Block([passing("a", 1, "琼C12345")]))
    assert hidden.plate == plate_token("琼C12345", bytes.fromhex("ab" * 32))
