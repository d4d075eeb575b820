"""What a fresh SDK worker process shows before and after it imports its Beam plugins."""
import json
import subprocess
import sys

from apache_beam.options.pipeline_options import SetupOptions

from pipelines.job.run import pipeline_options


def before_and_after_plugins(runner: str, setup: str, shown: str) -> tuple:
    """The value of the expression `shown` in a fresh process (after the statements `setup`),
    before and after it imports the Beam plugins that `runner`'s options name, one by one, as an
    SDK worker does with --beam_plugins as it starts."""
    plugins = pipeline_options(["--runner", runner]).view_as(SetupOptions).beam_plugins
    done = subprocess.run(
        [sys.executable, "-c", f"import importlib, json, sys\n{setup}\n"
         f"before = {shown}\n"
         "for name in json.loads(sys.argv[1]): importlib.import_module(name)\n"
         f"print(json.dumps([before, {shown}]))", json.dumps(plugins)],
        capture_output=True, text=True, check=True)
    before, after = json.loads(done.stdout)
    return before, after
