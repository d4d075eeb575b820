"""The characters this model was trained to emit, and their CTC label ids.

The network's output layer has one class per character of `CHARS`, after
the CTC blank at index 0; the list is baked into the shipped weights
(`weights/`), so its order and length never change: a new character is
appended and the network retrained. It is the model's vocabulary, not the
plate rules (`models.plate_rules`): it holds the letter O, which the rules
allow only as the 粤O series' office letter, and not the suffixes 港 and 澳,
which the weights were never trained on. A test checks that every
character here is one the rules allow.
"""

CHARS = ("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
         "ABCDEFGHJKLMNOPQRSTUVWXYZ"
         "0123456789"
         "警学挂")
BLANK = 0
NUM_CLASSES = len(CHARS) + 1  # + CTC blank
CHAR_TO_ID = {c: i + 1 for i, c in enumerate(CHARS)}
ID_TO_CHAR = {i + 1: c for i, c in enumerate(CHARS)}
MAX_LEN = 8


def encode(plate: str) -> list[int]:
    """Label ids of a plate string; raises KeyError on a character the model cannot emit."""
    return [CHAR_TO_ID[c] for c in plate]
