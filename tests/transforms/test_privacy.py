"""Plate tokens: keyed, stable, and the key never shows."""
import hashlib
import secrets

import pytest

from models.records import Passing
from transforms.blocks import Block
from transforms.enrich.privacy import (
    KEY_ENV,
    PlateTokens,
    key_id,
    load_plate_key,
    plate_token,
    pseudonymise_passings,
    redact_plates,
)

KEY_HEX = secrets.token_hex(32)
KEY = bytes.fromhex(KEY_HEX)


def test_token_is_stable_for_one_key_and_differs_across_keys():
    other = secrets.token_bytes(32)
    assert plate_token("琼C12345", KEY) == plate_token("琼C12345", KEY)
    assert plate_token("琼C12345", KEY) != plate_token("琼C12346", KEY)
    assert plate_token("琼C12345", KEY) != plate_token("琼C12345", other)


def test_token_is_an_hmac_not_a_hash_of_the_plate():
    token = plate_token("琼C12345", KEY)
    assert token.startswith("h:") and len(token) == 34
    assert hashlib.sha256("琼C12345".encode()).hexdigest()[:32] not in token


def test_key_from_environment_in_hex():
    assert load_plate_key({KEY_ENV: KEY_HEX + "\n"}) == KEY


def test_key_from_file_wins_over_environment(tmp_path):
    key_file = tmp_path / "plate.key"
    key_file.write_text(KEY_HEX.upper() + "\n")
    assert load_plate_key({KEY_ENV: secrets.token_hex(32)}, key_file=str(key_file)) == KEY


@pytest.mark.parametrize("env, expected", [
    ({}, "no plate key: set ROADCHIEF_PLATE_KEY"),
    ({KEY_ENV: KEY_HEX[:62]}, "31 bytes, at least 32"),
    ({KEY_ENV: "base64:" + KEY_HEX}, "not a hex string"),
])
def test_bad_or_missing_key_is_a_clear_error(env, expected):
    with pytest.raises(ValueError, match=expected) as raised:
        load_plate_key(env)
    assert KEY_HEX[:62] not in str(raised.value)


def test_unreadable_key_file_names_the_file(tmp_path):
    missing = tmp_path / "absent.key"
    with pytest.raises(ValueError, match=f"plate key file {missing}: cannot read it"):
        load_plate_key({}, key_file=str(missing))


def test_key_never_prints():
    key = load_plate_key({KEY_ENV: KEY_HEX})
    for shown in (repr(key), str(key), f"{key}", "%s" % key, repr([key])):  # noqa: UP031 (%-formatting is a way to show it)
        assert KEY_HEX not in shown and repr(KEY) not in shown
        assert "PlateKey(key_id=" in shown


def pseudonymise_passing(passing, tokens):
    (hidden,) = pseudonymise_passings(Block([passing]), tokens)
    return hidden


def test_pseudonymised_passing_keeps_everything_but_the_plates():
    passing = Passing("f:1", "e1", "cam", 0, "琼C12345", 0.9, "camera", ["琼C1234S"], "blue",
                      "s1", "银海路", "嘉积", "urban", "street_grid", 110.4, 19.2, 3.0, False)
    hidden = pseudonymise_passing(passing, PlateTokens(KEY))
    assert hidden.plate == plate_token("琼C12345", KEY)
    assert hidden.plate_alternates == [plate_token("琼C1234S", KEY)]
    assert hidden._replace(plate=passing.plate, plate_alternates=passing.plate_alternates) == passing
    assert pseudonymise_passing(passing._replace(plate=None, plate_alternates=[]), PlateTokens(KEY)).plate is None
    assert pseudonymise_passing(passing._replace(watchlist_hit=True), PlateTokens(KEY)).plate == "琼C12345"


def test_key_id_is_a_stable_fingerprint_that_tells_keys_apart():
    assert key_id(KEY) == key_id(bytes(KEY))
    assert key_id(KEY) != key_id(secrets.token_bytes(32))
    assert KEY_HEX[:12] != key_id(KEY)


@pytest.mark.parametrize("raw", [
    '{"event_id": "e1", "camera_id": "nowhere", "plate": "琼C12345"}',
    '{"event_id": "e1", "plate": "琼c 123·45", "camera_id": ',
    '{"plate":"\\u743cC12345","lane":-1}',
    '{"plate": "琼Ｃ１２３４５"}',
    "images/琼C12345.jpg",
    '{"note": "followed 琼C-12345 into town"}',
])
def test_plates_in_raw_lines_become_their_tokens(raw):
    redacted = redact_plates(raw, KEY)
    assert "12345" not in redacted and "１２３４５" not in redacted
    assert plate_token("琼C12345", KEY) in redacted


def test_a_plate_field_that_is_no_plate_is_hidden_too_and_other_text_stays():
    redacted = redact_plates('{"plate": "C12345", "camera_id": "QH-BC-001", "town": "琼海市"}', KEY)
    assert "C12345" not in redacted and '"camera_id": "QH-BC-001", "town": "琼海市"' in redacted
