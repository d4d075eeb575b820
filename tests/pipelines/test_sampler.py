"""Beam's state sampler looks every SAMPLING_PERIOD_MS in every process that runs stages."""
from apache_beam.runners.worker import statesampler
from apache_beam.utils.counters import CounterFactory

from pipelines.job import sampler
from tests.workers import before_and_after_plugins


def test_a_bundles_sampler_looks_every_sampling_period():
    assert sampler.SAMPLING_PERIOD_MS < statesampler.DEFAULT_SAMPLING_PERIOD_MS
    assert statesampler.StateSampler("step", CounterFactory()).sampling_period_ms == sampler.SAMPLING_PERIOD_MS
    # a period asked for is kept
    assert statesampler.StateSampler("step", CounterFactory(), 500).sampling_period_ms == 500


def test_a_worker_that_imports_its_plugins_samples_every_sampling_period():
    before, after = before_and_after_plugins(
        "PrismRunner", "from apache_beam.runners.worker import statesampler\n"
        "from apache_beam.utils.counters import CounterFactory",
        "statesampler.StateSampler('s', CounterFactory()).sampling_period_ms")
    assert before == statesampler.DEFAULT_SAMPLING_PERIOD_MS
    assert after == sampler.SAMPLING_PERIOD_MS
