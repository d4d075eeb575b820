"""Pseudonymised plates: the same vehicle gets the same token, the plate stays secret.

Most passings are of vehicles nobody is looking for. Their plates are replaced
by a keyed token before the passings table is written, so analysts can still
count unique vehicles and follow one token from camera to camera, but cannot
read the plate back without the key. Hits and dispatches keep the plate:
officers act on it. See docs/privacy.md for the policy, docs/threat-model.md
for what a token does and does not protect.

The key is 32 or more random bytes written as hex (`openssl rand -hex 32`),
given in the environment variable ROADCHIEF_PLATE_KEY or in a file
(`--plate_key_file`). Hex only: every hex string is also valid base64, so
accepting both would make some keys mean two different byte strings.

Why HMAC and not a plain hash: the plate space is small (a province character,
a letter and five characters: about 10^10 plates in all, 10^9 in one
province), so sha256(plate) is reversed by hashing every plate, in minutes or
less on one GPU. A keyed HMAC can only be reversed that way by someone who
holds the key.
"""
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

from models.plate_rules import PROVINCES, SUFFIXES, normalise_plate
from transforms.blocks import Block

KEY_ENV = "ROADCHIEF_PLATE_KEY"
MIN_KEY_BYTES = 32
TOKEN_PREFIX = "h:"
TOKEN_HEX_CHARS = 32  # 128 bits: collisions stay improbable for any number of plates


class PlateKey(bytes):
    """Key bytes that print as their public fingerprint, never as themselves.

    A bytes subclass, so hmac takes it as is and Beam pickles it with a DoFn,
    while a log line, an exception or a debugger shows only the key_id.
    """

    def __repr__(self) -> str:
        return f"PlateKey(key_id={key_id(self)})"

    __str__ = __repr__


def load_plate_key(env: Mapping[str, str] = os.environ, key_file: Optional[str] = None) -> PlateKey:
    """The plate key from `key_file` if given, else from ROADCHIEF_PLATE_KEY.

    ValueError if neither is set, the file cannot be read, the text is not hex,
    or the key is shorter than 32 bytes. Messages name where the key came from,
    never its content.
    """
    if key_file is not None:
        where = f"plate key file {key_file}"
        try:
            text = Path(key_file).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as problem:
            raise ValueError(f"{where}: cannot read it ({type(problem).__name__})") from None
    elif env.get(KEY_ENV):
        where, text = KEY_ENV, env[KEY_ENV]
    else:
        raise ValueError(f"no plate key: set {KEY_ENV} or give --plate_key_file "
                         f"(create one with: openssl rand -hex {MIN_KEY_BYTES})")
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError(f"{where}: not a hex string (create one with: openssl rand -hex "
                         f"{MIN_KEY_BYTES})") from None
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"{where}: {len(key)} bytes, at least {MIN_KEY_BYTES} are needed")
    return PlateKey(key)


def plate_token(plate: str, key: bytes) -> str:
    """"h:" and 32 hex characters of HMAC-SHA256(key, plate).

    Give it the normalised plate (as the passings table holds it), so that two
    reads of the same plate get the same token.
    """
    digest = hmac.digest(key, plate.encode("utf-8"), "sha256").hex()
    return TOKEN_PREFIX + digest[:TOKEN_HEX_CHARS]


class PlateTokens:
    """A worker's plate → token, remembered: a vehicle passes many cameras, and a dict
    probe costs a fraction of an HMAC. Past `max_plates` (about 6 MB of them) it starts
    afresh: the cameras a vehicle passes next see it within minutes, not hours."""

    max_plates = 50_000

    def __init__(self, key: bytes):
        self._key = key
        self._known: dict[str, str] = {}

    def __call__(self, plate: str) -> str:
        token = self._known.get(plate)
        if token is None:
            if len(self._known) >= self.max_plates:
                self._known.clear()
            token = self._known[plate] = plate_token(plate, self._key)
        return token


def key_id(key: bytes) -> str:
    """A short public fingerprint of the key, to record which key made a token.

    It is an HMAC of a fixed label, so it reveals nothing about the key and
    cannot collide with a plate token (different message, no "h:" prefix).
    """
    return hmac.new(key, b"roadchief plate key id", hashlib.sha256).hexdigest()[:12]


def pseudonymise_passings(passings: Block, tokens: PlateTokens) -> Block:
    """The passings with the plate and alternate reads of each that did not hit the watchlist
    replaced by tokens.

    Applied only on the way to the passings table: matching, dispatch and
    metrics still see the plate.
    """
    hits = passings.column("watchlist_hit")
    return passings.with_columns(
        plate=[plate if hit or plate is None else tokens(plate)
               for plate, hit in zip(passings.column("plate"), hits)],
        plate_alternates=[[tokens(alternate) for alternate in alternates] if alternates and not hit else alternates
                          for alternates, hit in zip(passings.column("plate_alternates"), hits)])


_ALNUM = "0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a"  # ASCII and full-width
_SEP = "\\s·•\\-_.\u30fb\uff0e\uff0d\uff3f"
# A province character, then 5 to 7 letters or digits with separators between: every way a
# camera, a person or a misread writes a plate, generously (a few characters too many is no harm).
_PLATE_LIKE = re.compile(rf"[{PROVINCES}](?:[{_SEP}]{{0,3}}[{_ALNUM}]){{5,7}}(?:[{_SEP}]{{0,3}}[{SUFFIXES}])?")
_PLATE_ALONE = re.compile(_PLATE_LIKE.pattern + rf"(?![{_ALNUM}])")  # first, plates that end where a word ends
# The value of any "plate" field, even in a line that is not valid JSON.
_PLATE_FIELD = re.compile(r'("plate"\s*:\s*")((?:[^"\\]|\\.)*)(")')
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _unescaped(match: re.Match) -> str:
    code = int(match.group(1), 16)
    return match.group(0) if 0xD800 <= code <= 0xDFFF or code < 0x20 or code in (0x22, 0x5C) else chr(code)


def _token_for(text: str, key: bytes) -> str:
    """The token of the plate `text` holds (so it joins the passings' tokens), else of the text."""
    plate = next((p for p in (normalise_plate(text[:n]) for n in range(min(len(text), 32), 6, -1)) if p), None)
    return plate_token(plate or text, key)


def redact_plates(raw: str, key: bytes) -> str:
    """`raw` with every plate-like text replaced by its keyed token.

    For the raw input lines kept in dead letters: lines refused for any reason
    still carry plates of vehicles nobody is looking for. JSON escapes of
    ordinary characters are shown as the characters first, so that an escaped
    plate cannot slip through; the line is otherwise kept as it came.
    """
    text = _ESCAPE.sub(_unescaped, raw) if "\\u" in raw else raw
    text = _PLATE_FIELD.sub(lambda m: m.group(1) + _token_for(m.group(2), key) + m.group(3)
                            if m.group(2) else m.group(0), text)
    for pattern in (_PLATE_ALONE, _PLATE_LIKE):
        text = pattern.sub(lambda m: _token_for(m.group(0), key), text)
    return text
