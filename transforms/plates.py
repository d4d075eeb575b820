"""Licence plate text: normalisation and OCR-equivalence.

Cameras and models misread plates in predictable ways: 0 and D, 8 and B,
1 and 7 look alike on a dirty plate at night. Every plate therefore has a
*canonical form* in which each character is replaced by the representative of
its confusion class. Two plates with the same canonical form differ only by
confusable characters, and the number of positions where they differ is the
number of OCR substitutions separating them. An index keyed by canonical form
finds every such candidate with one lookup, however many substitutions are
allowed.
"""
import re
import unicodedata
from typing import Optional

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

CONFUSION_CLASSES = ("0DQ", "8B", "17T", "5S", "2Z", "6G", "4A")

_LETTER = "A-HJ-NP-Z"
_PLATE = re.compile(
    rf"^[{PROVINCES}][{_LETTER}0-9]"
    rf"(?:[{_LETTER}0-9]{{5,6}}|[{_LETTER}0-9]{{4}}[挂学警港澳])$")
_SEPARATORS = re.compile(r"[\s·•\-_.]")
_NEVER_ON_PLATES = str.maketrans({"O": "0", "I": "1"})
_CANONICAL = str.maketrans({
    char: members[0] for members in CONFUSION_CLASSES for char in members})


def normalise_plate(text: object) -> Optional[str]:
    """The plate in standard form, or None when it is not a Chinese plate.

    Full-width characters become ASCII, separators go, letters are upper-cased,
    and O and I (never issued on mainland plates) become 0 and 1. A digit
    where the city letter belongs is kept: it is a misread (4 for A, 8 for B)
    that the fuzzy watchlist match can still resolve.
    """
    if not isinstance(text, str) or len(text) > 32:
        return None
    plain = unicodedata.normalize("NFKC", text)
    plain = _SEPARATORS.sub("", plain).upper().translate(_NEVER_ON_PLATES)
    return plain if _PLATE.match(plain) else None


def canonical(plate: str) -> str:
    """The plate with each character replaced by its confusion-class representative."""
    return plate[:1] + plate[1:].translate(_CANONICAL)


def substitutions(read: str, listed: str) -> Optional[int]:
    """OCR substitutions that turn `read` into `listed`, or None if unrelated."""
    if len(read) != len(listed) or canonical(read) != canonical(listed):
        return None
    return sum(a != b for a, b in zip(read, listed))
