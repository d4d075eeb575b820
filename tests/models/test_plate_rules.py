import pytest

from models.plate_rules import canonical, normalise_plate, substitutions


@pytest.mark.parametrize("raw, expected", [
    ("琼C12345", "琼C12345"),
    ("琼c·12345", "琼C12345"),
    ("琼C 123 45", "琼C12345"),
    ("琼Ｃ１２３４５", "琼C12345"),
    ("琼CO1I45", "琼C01145"),
    ("琼CD12345", "琼CD12345"),
    ("粤B1234学", "粤B1234学"),
    ("琼A1234警", "琼A1234警"),
])
def test_normalise_accepts_plates_in_any_common_spelling(raw, expected):
    assert normalise_plate(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "ABC12345", "琼", "琼C1234", "琼C1234567", "琼#12345", "💥💥💥", "琼C12\u0000345",
    None, 12345, "琼C12345" * 10,
])
def test_normalise_refuses_what_is_not_a_plate(raw):
    assert normalise_plate(raw) is None


def test_canonical_merges_confusable_characters_but_keeps_the_province():
    assert canonical("琼C80D17") == canonical("琼CB0017") == canonical("琼C8QD71")
    assert canonical("琼C12345") != canonical("粤C12345")


def test_substitutions_count_confusable_positions_only():
    assert substitutions("琼C12345", "琼C12345") == 0
    assert substitutions("琼C1234S", "琼C12345") == 1
    assert substitutions("琼C7Z345", "琼C12345") == 2
    assert substitutions("琼C12349", "琼C12345") is None
    assert substitutions("琼C12345", "琼CD12345") is None
