"""Every process that runs stages collects garbage at roadchief's thresholds, not Python's."""
import json
import subprocess
import sys

from apache_beam.options.pipeline_options import SetupOptions

from pipelines.job import collector, sampler, signatures
from pipelines.job.run import pipeline_options


def test_every_worker_imports_the_collector_settings_and_keeps_the_plugins_given():
    plugins = pipeline_options(["--runner", "PrismRunner", "--beam_plugins", "json"]).view_as(
        SetupOptions).beam_plugins
    assert plugins == ["json", collector.__name__, signatures.__name__, sampler.__name__]


def test_a_worker_that_imports_its_plugins_collects_young_objects_rarely():
    plugins = pipeline_options(["--runner", "FlinkRunner"]).view_as(SetupOptions).beam_plugins
    # What an SDK worker does with --beam_plugins as it starts: import each, in a fresh process.
    shown = subprocess.run(
        [sys.executable, "-c", "import gc, importlib, json, sys\n"
         "before = gc.get_threshold()\n"
         "for name in json.loads(sys.argv[1]): importlib.import_module(name)\n"
         "print(json.dumps([before, gc.get_threshold()]))", json.dumps(plugins)],
        capture_output=True, text=True, check=True)
    before, after = json.loads(shown.stdout)
    assert before[0] < collector.YOUNG_OBJECTS
    assert tuple(after) == collector.THRESHOLDS
