"""Beam's look at a function's signature, worked out once per function and the same as Beam's own."""
import functools
import gc
import weakref

import apache_beam as beam
from apache_beam.transforms import core, userstate

from pipelines.job import signatures
from pipelines.job.signatures import remembered_signature
from transforms.ingest.deduplicate import _KeepFirstArrival


class _Counting(beam.DoFn):
    COUNT = userstate.ReadModifyWriteStateSpec("count", beam.coders.VarIntCoder())

    def process(self, keyed, count=beam.DoFn.StateParam(COUNT), now=beam.DoFn.TimestampParam):
        yield keyed

    def __call__(self, a, b=2):
        return a


def test_beams_modules_ask_the_remembered_signature():
    assert all(user.get_signature is remembered_signature for user in signatures.USERS)
    assert core.get_signature is remembered_signature  # where Beam reads a DoFn's methods
    assert userstate.get_dofn_specs is signatures.remembered_dofn_specs


def test_every_kind_of_callable_gets_the_signature_beam_gives_it():
    def plain(a, b=1, *rest, **named):
        return a
    one, other = _Counting(), _Counting()
    for func in (plain, lambda x: x, one.process, other.process, one.setup, str.upper, len, one,
                 functools.partial(plain, 1), _Counting.process):
        assert remembered_signature(func) == signatures._beam_signature(func)
    # a method's signature is its function's, whatever it is bound to: worked out once
    assert remembered_signature(one.process) is remembered_signature(other.process)
    assert remembered_signature(plain) is remembered_signature(plain)


def test_a_stateful_dofn_still_shows_its_state_every_time_it_is_asked():
    for _ in range(2):
        states, timers = userstate.get_dofn_specs(_KeepFirstArrival())
        assert {state.name for state in states} == {"seen", "firsts"} and not timers
        assert {state.name for state in userstate.get_dofn_specs(_Counting())[0]} == {"count"}


def test_a_function_is_not_kept_alive_by_its_remembered_signature():
    def made(event, rest=None):
        return event
    remembered_signature(made)
    gone = weakref.ref(made)
    del made
    gc.collect()
    assert gone() is None


class _Mapping(beam.DoFn):
    """Holds a bound method, as `beam.Map(obj.method)` does: its specs are its own."""

    def __init__(self, held):
        self._held = held

    def process(self, element):
        yield element


def test_a_dofn_class_gives_its_state_once_and_a_dofn_holding_a_method_is_looked_at_alone():
    first, second = _Counting(), _Counting()
    assert signatures.remembered_dofn_specs(first) == signatures._beam_dofn_specs(second)
    assert signatures._of_dofn_classes[_Counting] is not None  # gathered for the class
    states, _ = signatures.remembered_dofn_specs(first)
    states.clear()  # a caller's copy: the class's specs are untouched
    assert {state.name for state in signatures.remembered_dofn_specs(second)[0]} == {"count"}
    holding = _Mapping(_KeepFirstArrival().process)
    assert signatures.remembered_dofn_specs(holding) == signatures._beam_dofn_specs(holding)
    assert {state.name for state in signatures.remembered_dofn_specs(holding)[0]} == {"seen", "firsts"}
    assert not signatures.remembered_dofn_specs(_Mapping(len))[0]
