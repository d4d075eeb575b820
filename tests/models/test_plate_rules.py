"""The plate rules, and the agreement of everything that uses them: the reader's grammar,
the parser's standard form, the matcher's canonical form and the simulator's misreads."""
import random
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.synthetic.build_world import random_plates
from geo.synthetic.simulate import _misread
from models import plate_rules
from models.plate_rules import (
    ALPHABET,
    CONFUSABLE,
    CONFUSION_CLASSES,
    DIGITS,
    LETTERS,
    OFFICE_LETTERS,
    PROVINCES,
    SUFFIXES,
    canonical,
    canonicals,
    is_province,
    normalise_plate,
    province_variants,
    substitutions,
)
from models.plates import charset
from models.plates.grammar import READ_SUFFIXES, is_plate
from models.plates.training import render


@pytest.mark.parametrize("raw, expected", [
    ("琼C12345", "琼C12345"),
    ("琼c·12345", "琼C12345"),
    ("琼C 123 45", "琼C12345"),
    ("琼Ｃ１２３４５", "琼C12345"),
    ("琼CO1I45", "琼C01145"),
    ("琼CD12345", "琼CD12345"),
    ("粤B1234学", "粤B1234学"),
    ("琼A1234警", "琼A1234警"),
    ("琼C12345\n", "琼C12345"),
])
def test_normalise_accepts_plates_in_any_common_spelling(raw, expected):
    assert normalise_plate(raw) == expected


@given(st.text(ALPHABET + "abcoiOI ·-_.\n\t１Ｃｃ０", max_size=10) | st.sampled_from(["琼C12345", "粤O1234警"]))
def test_a_plate_already_in_standard_form_is_taken_as_the_full_rules_take_it(raw):
    assert normalise_plate(raw) == plate_rules._normalised.__wrapped__(raw)


@pytest.mark.parametrize("raw", [
    "", "ABC12345", "琼", "琼C1234", "琼C1234567", "琼#12345", "💥💥💥", "琼C12\u0000345",
    None, 12345, "琼C12345" * 10,
])
def test_normalise_refuses_what_is_not_a_plate(raw):
    assert normalise_plate(raw) is None


def test_canonical_merges_confusable_characters_but_keeps_the_province():
    assert canonical("琼C80D17") == canonical("琼CB0017") == canonical("琼C8QD71")
    assert canonical("琼C12345") != canonical("粤C12345")


def test_a_block_of_plates_takes_the_canonical_form_each_takes_alone():
    rng = random.Random(5)
    plates = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 9))) for _ in range(500)]
    plates += ["琼C80D17", "粤B8TQ0S", "0DQ8B", ""]
    assert canonicals(plates) == [canonical(plate) for plate in plates]
    assert canonicals([]) == []


def test_substitutions_count_confusable_positions_only():
    assert substitutions("琼C12345", "琼C12345") == 0
    assert substitutions("琼C1234S", "琼C12345") == 1
    assert substitutions("琼C7Z345", "琼C12345") == 2
    assert substitutions("琼C12349", "琼C12345") is None
    assert substitutions("琼C12345", "琼CD12345") is None


def test_the_rules_load_without_tensorflow_or_opencv():
    """The parser imports them for every event."""
    loaded = subprocess.run([sys.executable, "-c", "import sys, models.plate_rules; print(sorted(sys.modules))"],
                            capture_output=True, text=True, check=True).stdout
    assert "tensorflow" not in loaded and "cv2" not in loaded and "numpy" not in loaded


def test_standard_form_holds_no_i_or_o_and_spells_the_series_o_as_0():
    assert "I" not in LETTERS and "O" not in LETTERS
    assert OFFICE_LETTERS == "ABCDEFGHJKLMNOPQRSTUVWXYZ"
    assert normalise_plate("粤OA9112") == "粤0A9112"
    assert all(c in ALPHABET for c in normalise_plate("苏AHOG66I"))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_suffix_makes_a_plate_for_the_parser(suffix):
    assert normalise_plate(f"粤Z1234{suffix}") == f"粤Z1234{suffix}"


def test_confusion_classes_are_disjoint_and_confusable_names_the_other_members():
    chars = "".join(CONFUSION_CLASSES)
    assert len(chars) == len(set(chars)) and set(chars) <= set(LETTERS + DIGITS)
    assert CONFUSABLE["1"] == "7T" and CONFUSABLE["T"] == "17" and CONFUSABLE["Q"] == "0D"
    assert all(canonical(f"琼C{c}2345") == canonical(f"琼C{o}2345")
               for c, others in CONFUSABLE.items() for o in others)


# The reader, the parser, the matcher and the simulator agree.

def test_the_model_emits_only_characters_the_rules_allow():
    assert charset.BLANK == 0 and charset.NUM_CLASSES == len(charset.CHARS) + 1 == 70
    assert set(charset.CHARS) <= set(PROVINCES + OFFICE_LETTERS + DIGITS + SUFFIXES)
    assert set(charset.CHARS) - set(ALPHABET) == {"O"}  # only as the 粤O series' office letter


def test_the_reader_searches_the_rules_suffixes_it_can_read():
    assert set(READ_SUFFIXES) == set(SUFFIXES) & set(charset.CHARS) == set("警学挂")
    assert all(is_plate(f"京A1234{s}") for s in READ_SUFFIXES)
    assert not is_plate("粤Z1234港")  # the model cannot emit 港: not a read it can make


def test_the_reader_refuses_o_and_i_in_a_serial_but_reads_the_series_o():
    assert is_plate("粤OA9112") and is_plate("苏AH0G66")
    assert not is_plate("苏AHOG66")


def test_every_plate_the_renderer_draws_is_one_for_the_reader_and_for_the_parser():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        plate, _ = render.random_plate(rng)
        assert is_plate(plate), plate
        standard = normalise_plate(plate)
        assert standard and set(standard) <= set(ALPHABET), plate


def test_the_simulator_misreads_only_within_the_matchers_confusion_classes():
    rnd = random.Random(1)
    plates = [plate for plate, _ in random_plates(np.random.default_rng(1), 500)]
    assert all(normalise_plate(p) == p and set(p) <= set(ALPHABET) for p in plates)
    swaps = set()
    for plate in plates:
        if not any(c in CONFUSABLE for c in plate[1:]):
            continue
        read = _misread(plate, rnd)
        assert substitutions(read, plate) in (1, 2), (read, plate)
        assert normalise_plate(read) == read
        swaps |= {(t, r) for t, r in zip(plate, read) if t != r}
    assert any("T" in swap for swap in swaps)  # T is in 1 and 7's class for the simulator too


def test_a_province_is_one_of_the_31_abbreviations():
    assert is_province("琼") and is_province("粤")
    assert not any(is_province(text) for text in ("A", "琼粤", "港", "", None, 7))


def test_an_unsure_province_may_have_been_any_other():
    variants = province_variants("琼C12345")
    assert len(variants) == len(PROVINCES) - 1 == len(set(variants))
    assert "琼C12345" not in variants and "粤C12345" in variants
    assert all(v[1:] == "C12345" for v in variants)
