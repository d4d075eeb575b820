"""What a Chinese licence plate is: its characters, its grammar, its standard form, its misreads.

The one home of these rules: the plate reader searches its network's output
for strings of this grammar, the parser and the watchlist accept and match
plates in this standard form, and the simulator misreads plates with these
confusion classes. Pure Python (no TensorFlow, no OpenCV): the parser imports
it for every event.

The characters (GA 36, the plate standard):

- a plate opens with the province's one-character abbreviation (琼, 粤, ...);
- then the issuing office's letter. Serials and office letters use the Latin
  letters without I and O, which a reader cannot tell from 1 and 0. The one
  exception is the office letter O of the 粤O series (police and government
  vehicles), printed on real plates (three of the real crops) and read by
  the plate model;
- then five letters or digits; or four and a suffix: 挂 trailer, 学 learner,
  警 police, 港 and 澳 vehicles from Hong Kong and Macao that cross into
  Guangdong; or, on new-energy plates, D or F and five (small vehicles) or five
  digits and D or F (large vehicles).

The standard form writes O as 0 and I as 1, wherever they stand: the series
O is the only O issued and no I is, a camera cannot tell them apart from the
digits, and a plate has one spelling in every table and every watchlist
lookup. Plates in standard form therefore use `LETTERS`, never I or O.
`PLATE` accepts a little more than plates are issued: a digit where the
office letter belongs and six letters or digits after it, since a read with a
misread character (8 for B, A for 4) is still worth a fuzzy watchlist match.

Cameras and the plate model misread plates in predictable ways: 0, D and Q,
8 and B, 1, 7 and T (the new-energy plates' 1 carries a flag at its top and
reads as T), 5 and S, 2 and Z, 6 and G, 4 and A look alike on a dirty plate at
night. Every plate has a *canonical form* in which each character is replaced
by the representative of its confusion class. Two plates with the same
canonical form differ only by confusable characters, and the number of
positions where they differ is the number of substitutions separating them:
an index keyed by canonical form finds every such candidate with one lookup,
however many substitutions are allowed.

The province character has no such classes: on plates as small as far
cameras deliver them, the plate model's province misreads spread over most
pairs of provinces (`bench/bench_hit_recall.py` counts them), so the province
of its unsure read (under `UNSURE_READ_BELOW`) may have been any province, and
the watchlist match tries each (`province_variants`) at one substitution's cost.
"""
import re
import unicodedata
from functools import lru_cache
from typing import Optional

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = "0123456789"
SUFFIXES = "挂学警港澳"
NEW_ENERGY = "DF"
PUBLIC_SECURITY_OFFICE = "O"
# The issuing office's letter as printed on the plate, in alphabetical order.
OFFICE_LETTERS = "".join(sorted(LETTERS + PUBLIC_SECURITY_OFFICE))
# Every character of a plate in standard form.
ALPHABET = PROVINCES + LETTERS + DIGITS + SUFFIXES

CONFUSION_CLASSES = ("0DQ", "8B", "17T", "5S", "2Z", "6G", "4A")
UNSURE_READ_BELOW = 0.9  # the reader offers alternates for characters under this confidence, too
# Each confusable character and the characters it is misread as.
CONFUSABLE = {char: members.replace(char, "") for members in CONFUSION_CLASSES for char in members}

_SERIAL = f"[{LETTERS}{DIGITS}]"
PLATE = re.compile(rf"^[{PROVINCES}]{_SERIAL}(?:{_SERIAL}{{5,6}}|{_SERIAL}{{4}}[{SUFFIXES}])$")
_SEPARATORS = re.compile(r"[\s·•\-_.]")
_STANDARD = str.maketrans({PUBLIC_SECURITY_OFFICE: "0", "I": "1"})
_CANONICAL = str.maketrans({char: members[0] for members in CONFUSION_CLASSES for char in members})
# The same classes over UTF-8 bytes: they hold ASCII only, which no byte of a multi-byte character is.
_CANONICAL_BYTES = bytes.maketrans(b"".join(members.encode() for members in CONFUSION_CLASSES),
                                   b"".join(members[0].encode() * len(members) for members in CONFUSION_CLASSES))


def normalise_plate(text: object) -> Optional[str]:
    """The plate in standard form, or None when it is not a Chinese plate.

    Full-width characters become ASCII, separators go, letters are upper-cased,
    and O and I become 0 and 1. A digit where the office letter belongs is
    kept: it is a misread (4 for A, 8 for B) that the fuzzy watchlist match
    can still resolve.
    """
    if not isinstance(text, str) or len(text) > 32:
        return None
    if PLATE.fullmatch(text):  # already in standard form, as cameras write nearly every plate
        return text
    return _normalised(text)


@lru_cache(maxsize=1 << 12)  # a camera's own spelling of a plate comes again from the cameras beside it
def _normalised(text: str) -> Optional[str]:
    plain = unicodedata.normalize("NFKC", text)
    plain = _SEPARATORS.sub("", plain).upper().translate(_STANDARD)
    return plain if PLATE.match(plain) else None


def is_province(text: object) -> bool:
    """Whether ``text`` is one province's one-character abbreviation (琼, 粤, ...)."""
    return isinstance(text, str) and len(text) == 1 and text in PROVINCES


def province_variants(plate: str) -> list[str]:
    """The plate with each other province in place of its own: what an unsure province may have been."""
    return [province + plate[1:] for province in PROVINCES if province != plate[:1]]


def canonical(plate: str) -> str:
    """The plate with each character replaced by its confusion-class representative."""
    return plate[:1] + plate[1:].translate(_CANONICAL)


def canonicals(plates: list[str]) -> list[str]:
    """`canonical` of each plate, translated together as one text: a block of camera reads
    costs a fifth of what a call per plate does. A plate holds no line break (`PLATE`)."""
    rests = "\n".join([plate[1:] for plate in plates]).encode().translate(_CANONICAL_BYTES).decode()
    return [plate[:1] + rest for plate, rest in zip(plates, rests.split("\n"))]


def substitutions(read: str, listed: str) -> Optional[int]:
    """OCR substitutions that turn `read` into `listed`, or None if unrelated."""
    if len(read) != len(listed) or canonical(read) != canonical(listed):
        return None
    return sum(a != b for a, b in zip(read, listed))
