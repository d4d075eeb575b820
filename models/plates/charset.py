"""The characters of a Chinese civil/police plate and their CTC label ids.

Index 0 is the CTC blank; every plate character maps to 1..N. The order is
part of the shipped model: append new characters, never reorder.
"""

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Letters on plates: no I (too close to 1); O appears in the 粤O police/government series.
LETTERS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
SUFFIXES = "警学挂"

CHARS = PROVINCES + LETTERS + DIGITS + SUFFIXES
BLANK = 0
NUM_CLASSES = len(CHARS) + 1  # + CTC blank
CHAR_TO_ID = {c: i + 1 for i, c in enumerate(CHARS)}
ID_TO_CHAR = {i + 1: c for i, c in enumerate(CHARS)}
MAX_LEN = 8


def encode(plate: str) -> list[int]:
    """Label ids of a plate string; raises KeyError on a character no plate has."""
    return [CHAR_TO_ID[c] for c in plate]
