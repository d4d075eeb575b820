"""Keep no plain plate of a vehicle nobody is looking for.

More than 99.9% of passings are of vehicles on no watchlist. On the way to the
passings table their plates (and alternate reads) become keyed HMAC tokens:
the same vehicle still links across sightings, but the plate cannot be
recovered without the key. Passings that hit the watchlist keep the plate, as
hits and dispatches do. Dead letters keep the raw line for debugging, with
every plate-like text in it replaced by its token (`privacy.redact_plates`).
The key is read on the worker (`setup`), from the environment or a key file,
so it never travels inside the pipeline graph.
"""
from typing import Optional

import apache_beam as beam

from models.records import DeadLetter
from transforms.blocks import Block
from transforms.enrich.privacy import PlateTokens, load_plate_key, pseudonymise_passings, redact_plates


class _Keyed(beam.DoFn):
    def __init__(self, key_file: Optional[str]):
        self._key_file = key_file

    def setup(self):
        self._key = load_plate_key(key_file=self._key_file)


class _Pseudonymise(_Keyed):
    def setup(self):
        super().setup()
        self._tokens = PlateTokens(self._key)

    def process(self, passings: Block):
        yield pseudonymise_passings(passings, self._tokens)


class _RedactRaw(_Keyed):
    def process(self, letter: DeadLetter):
        yield letter._replace(reason=redact_plates(letter.reason, self._key),
                              raw=redact_plates(letter.raw, self._key))


class PseudonymiseNonHits(beam.PTransform):
    """Blocks of passings marked by MatchWatchlist → the same blocks, non-hit plates as tokens."""

    def __init__(self, key_file: Optional[str] = None):
        super().__init__()
        self._fn = _Pseudonymise(key_file)

    def expand(self, passings):
        return passings | beam.ParDo(self._fn).with_output_types(Block)


class PseudonymiseDeadLetters(beam.PTransform):
    """DeadLetters → the same, with no plain plate in their raw lines or reasons."""

    def __init__(self, key_file: Optional[str] = None):
        super().__init__()
        self._fn = _RedactRaw(key_file)

    def expand(self, dead_letters):
        return dead_letters | beam.ParDo(self._fn)
