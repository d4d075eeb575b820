"""Beam's state sampler looks every SAMPLING_PERIOD_MS in every process that runs stages."""
import json
import subprocess
import sys

from apache_beam.options.pipeline_options import SetupOptions
from apache_beam.runners.worker import statesampler
from apache_beam.utils.counters import CounterFactory

from pipelines.job import sampler
from pipelines.job.run import pipeline_options


def test_a_bundles_sampler_looks_every_sampling_period():
    assert sampler.SAMPLING_PERIOD_MS < statesampler.DEFAULT_SAMPLING_PERIOD_MS
    assert statesampler.StateSampler("step", CounterFactory()).sampling_period_ms == sampler.SAMPLING_PERIOD_MS
    # a period asked for is kept
    assert statesampler.StateSampler("step", CounterFactory(), 500).sampling_period_ms == 500


def test_a_worker_that_imports_its_plugins_samples_every_sampling_period():
    plugins = pipeline_options(["--runner", "PrismRunner"]).view_as(SetupOptions).beam_plugins
    shown = subprocess.run(
        [sys.executable, "-c", "import importlib, json, sys\n"
         "from apache_beam.runners.worker import statesampler\n"
         "from apache_beam.utils.counters import CounterFactory\n"
         "before = statesampler.StateSampler('s', CounterFactory()).sampling_period_ms\n"
         "for name in json.loads(sys.argv[1]): importlib.import_module(name)\n"
         "print(json.dumps([before, statesampler.StateSampler('s', CounterFactory()).sampling_period_ms]))",
         json.dumps(plugins)],
        capture_output=True, text=True, check=True)
    before, after = json.loads(shown.stdout)
    assert before == statesampler.DEFAULT_SAMPLING_PERIOD_MS
    assert after == sampler.SAMPLING_PERIOD_MS
