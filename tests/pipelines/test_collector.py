"""Every process that runs stages collects garbage at roadchief's thresholds, not Python's."""
from apache_beam.options.pipeline_options import SetupOptions

from pipelines.job import collector, sampler, signatures
from pipelines.job.run import pipeline_options
from tests.workers import before_and_after_plugins


def test_every_worker_imports_the_collector_settings_and_keeps_the_plugins_given():
    plugins = pipeline_options(["--runner", "PrismRunner", "--beam_plugins", "json"]).view_as(
        SetupOptions).beam_plugins
    assert plugins == ["json", collector.__name__, signatures.__name__, sampler.__name__]


def test_a_worker_that_imports_its_plugins_collects_young_objects_rarely():
    before, after = before_and_after_plugins("FlinkRunner", "import gc", "gc.get_threshold()")
    assert before[0] < collector.YOUNG_OBJECTS
    assert tuple(after) == collector.THRESHOLDS
