"""CTC decoding on hand-made network outputs: text, confidences, alternates, grammar."""
import numpy as np
import pytest

from models.plates import region
from models.plates.charset import BLANK, CHAR_TO_ID, NUM_CLASSES
from models.plates.decode import decode_batch
from models.plates.grammar import is_plate


def logits_for(frames: list[dict[str, float]]) -> np.ndarray:
    """Log-probabilities for a sequence of frames, each {char or '' (blank): probability}."""
    probs = np.full((len(frames), NUM_CLASSES), 1e-6, np.float32)
    for t, frame in enumerate(frames):
        for ch, p in frame.items():
            probs[t, CHAR_TO_ID[ch] if ch else BLANK] = p
    return np.log(probs / probs.sum(1, keepdims=True))[None]


def plate_frames(text: str, weak: dict[int, dict[str, float]] | None = None) -> list[dict[str, float]]:
    """Each character on one frame, blanks between, as a trained network emits them."""
    frames = [{"": 1.0}]
    for i, ch in enumerate(text):
        frames += [(weak or {}).get(i, {ch: 1.0}), {"": 1.0}]
    return frames + [{"": 1.0}] * (32 - len(frames))


def test_reads_repeated_characters_separated_by_blanks():
    (d,) = decode_batch(logits_for(plate_frames("琼A88888")))
    assert d.text == "琼A88888"
    assert min(d.char_confidences) > 0.99 and d.alternates == ()


def test_weak_character_has_its_runner_up_as_alternate():
    (d,) = decode_batch(logits_for(plate_frames("琼A12345", {4: {"3": 0.6, "5": 0.4}})))
    assert d.text == "琼A12345"
    assert d.char_confidences[4] == pytest.approx(0.6, abs=1e-3)
    assert d.alternates == ("琼A12545",)


def test_series_letter_is_a_letter_even_when_the_digit_wins():
    """粤O plates: the network cannot tell O from 0, the grammar can."""
    (d,) = decode_batch(logits_for(plate_frames("粤0A9112", {1: {"0": 0.7, "O": 0.25, "D": 0.05}})))
    assert d.text == "粤OA9112"
    assert d.char_confidences[1] == pytest.approx(0.25, abs=1e-3)


def test_province_position_takes_the_best_province():
    (d,) = decode_batch(logits_for(plate_frames("AE12345", {0: {"A": 0.5, "苏": 0.3, "京": 0.2}})))
    assert d.text == "苏E12345"
    assert d.char_confidences[0] == pytest.approx(0.3, abs=1e-3)
    assert d.alternates[0] == "京E12345"


def test_short_reads_are_left_for_the_reader_to_reject():
    for repair in (False, True):
        (d,) = decode_batch(logits_for(plate_frames("0A123")), repair=repair)
        assert d.text == "0A123"


def test_repair_drops_a_character_read_between_province_and_letter():
    """The separator dot or a rivet beside 粤, read as an eighth character."""
    logits = logits_for(plate_frames("粤1BA9H07", {1: {"1": 0.6, "": 0.4}}))
    (plain,) = decode_batch(logits)
    (mended,) = decode_batch(logits, repair=True)
    assert not is_plate(plain.text)
    assert mended.text == "粤BA9H07" and min(mended.char_confidences) > 0.99


def test_repair_puts_back_a_missed_character_with_its_low_confidence():
    (d,) = decode_batch(logits_for(plate_frames("苏EB68W9", {1: {"": 0.7, "E": 0.3}})), repair=True)
    assert d.text == "苏EB68W9"
    assert d.char_confidences[1] == pytest.approx(0.3, abs=1e-3)


def test_repair_leaves_an_improbable_mend_alone():
    (d,) = decode_batch(logits_for(plate_frames("苏EB68W9", {1: {"": 0.999, "E": 0.001}})), repair=True)
    assert d.text == "苏B68W9"


def test_the_cameras_province_corrects_an_unsure_local_read():
    """A blurred 琼 read as 粤 at 0.55, with 琼 a close second: a camera in Hainan reads 琼."""
    logits = logits_for(plate_frames("粤A12345", {0: {"粤": 0.55, "琼": 0.3, "鄂": 0.15}}))
    (plain,) = decode_batch(logits)
    (local,) = decode_batch(logits, region="琼")
    assert plain.text == "粤A12345"
    assert local.text == "琼A12345"
    assert 0.55 < local.char_confidences[0] < 1.0  # the posterior: surer than the evidence alone, never certain
    assert local.alternates[0] == "粤A12345"  # a watchlisted visitor is still matched


def test_a_confident_visitor_keeps_its_province():
    """Stolen cars come from elsewhere: a province read above UNSURE_BELOW is never replaced."""
    sure = region.UNSURE_BELOW + 0.05
    (d,) = decode_batch(logits_for(plate_frames("粤A12345", {0: {"粤": sure, "琼": 1 - sure}})), region="琼")
    assert d.text == "粤A12345"
    assert d.char_confidences[0] == pytest.approx(sure, abs=1e-3)


def test_an_unsure_visitor_without_evidence_for_the_home_province_keeps_its_province():
    (d,) = decode_batch(logits_for(plate_frames("粤A12345", {0: {"粤": 0.55, "鄂": 0.45}})), region="琼")
    assert d.text == "粤A12345"


def test_the_prior_leaves_reads_that_are_not_plates_alone():
    (d,) = decode_batch(logits_for(plate_frames("粤A123", {0: {"粤": 0.55, "琼": 0.45}})), region="琼")
    assert d.text == "粤A123"


def test_a_region_must_be_a_province():
    for bad in ("A", "琼粤", "港", ""):
        with pytest.raises(ValueError, match="province"):
            region.check_region(bad)
    assert region.check_region(None) is None and region.check_region("琼") == "琼"
