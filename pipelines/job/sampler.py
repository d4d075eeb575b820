"""Beam's state sampler, looking every SAMPLING_PERIOD_MS instead of every 200 ms.

Each bundle an SDK worker runs has a thread that wakes now and then to note
which step the bundle is in (the msecs of each step that the runner reports).
It sleeps between looks, a little longer each time up to Beam's 200 ms, and a
bundle cannot end until that thread has woken from its last sleep: so every
bundle longer than a second ended, on average, about 100 ms after its work
was done. That was a twentieth of a 200,000-event replay on the FnApiRunner,
and a live bundle's dispatches waited as long (docs/performance.md). A look
costs a few microseconds, so looking ten times as often costs nothing
measurable.

Importing this module applies it: it is a Beam plugin, as `pipelines.job.collector`
is, so every SDK worker imports it as it starts, and `roadchief run` imports
it for the stages it runs itself.
"""
from apache_beam.runners.worker import statesampler

SAMPLING_PERIOD_MS = 20

_init = statesampler.StateSampler.__init__
if _init.__defaults__ == (statesampler.DEFAULT_SAMPLING_PERIOD_MS,):  # Beam's own default, still
    _init.__defaults__ = (SAMPLING_PERIOD_MS,)
