"""Beam's look at a function's signature, remembered for each function.

Beam reads the signature of every method of every DoFn (some thirty each,
`setup` and `display_data` as much as `process`) to find the state, timers
and other parameters they ask for, and does so about six times per DoFn: as
the graph is built, as it is translated for the runner and as each worker
builds the stage that runs it. That was some 25,000 calls of
`inspect.signature` in a replay, about a third of what a run costs before its
first event (docs/performance.md).

A function's signature is fixed once it is defined, and a method's, bound to
any object, is its function's less the first parameter: so each is worked out
once per function and held as long as the function lives. Anything else Beam
asks about (a builtin, a callable object, a partial) is inspected as before.

From those signatures Beam gathers a DoFn's state and timers, walking every
attribute of the DoFn, some 750 times a replay (a tenth of what a run costs
before its first event). They are the defaults of its methods, which its
class defines: so they are gathered once per class, and again for a DoFn
that holds a bound method of its own (as `beam.Map` does of a method it maps).

Importing this module applies it: it is a Beam plugin, as `pipelines.job.collector`
is, so every SDK worker imports it as it starts, and `roadchief run` imports
it for the stages it runs itself.
"""
import types
import weakref

from apache_beam.transforms import core, ptransform, userstate, util
from apache_beam.typehints import decorators

_beam_signature = decorators.get_signature
# Beam's modules that call it by the name they imported
USERS: tuple[types.ModuleType, ...] = (decorators, core, ptransform, util)
_of_functions: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_of_methods: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # by the method's function
_beam_dofn_specs = userstate.get_dofn_specs
_of_dofn_classes: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def remembered_signature(func):
    """What Beam's `get_signature(func)` gives, worked out once per function."""
    if type(func) is types.FunctionType:
        known, key = _of_functions, func
    elif type(func) is types.MethodType and type(func.__func__) is types.FunctionType:
        known, key = _of_methods, func.__func__
    else:
        return _beam_signature(func)
    signature = known.get(key)
    if signature is None:
        signature = known[key] = _beam_signature(func)
    return signature


def remembered_dofn_specs(dofn) -> tuple[set, set]:
    """What Beam's `get_dofn_specs(dofn)` gives (its state and timer specs), gathered once per
    DoFn class; a DoFn with a method among its own attributes is looked at alone."""
    if any(isinstance(value, types.MethodType) for value in vars(dofn).values()):
        return _beam_dofn_specs(dofn)
    specs = _of_dofn_classes.get(type(dofn))
    if specs is None:
        specs = _of_dofn_classes[type(dofn)] = _beam_dofn_specs(dofn)
    states, timers = specs
    return set(states), set(timers)


for _user in USERS:  # each module's own name for Beam's function, where it is still Beam's
    if vars(_user).get("get_signature") is _beam_signature:
        vars(_user)["get_signature"] = remembered_signature
if vars(userstate).get("get_dofn_specs") is _beam_dofn_specs:  # its callers ask for it by the module
    vars(userstate)["get_dofn_specs"] = remembered_dofn_specs
