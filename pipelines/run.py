"""`roadchief run`: replay event files through the pipeline on a named runner."""
import shutil
import time
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipelines.graph import build
from pipelines.options import validate
from pipelines.summary import print_summary
from pipelines.tables import count_lines
from transforms.write_tables import TABLES

DEFAULT_RUNNER = "FnApiRunner"


def pipeline_options(argv: list[str]) -> PipelineOptions:
    """Beam options from the command line, with the runner always named."""
    options = PipelineOptions(argv)
    standard = options.view_as(StandardOptions)
    standard.runner = standard.runner or DEFAULT_RUNNER
    return options


def clear_tables(output: str) -> None:
    """Remove the tables of an earlier run, and nothing else in the folder."""
    for name in TABLES:
        shutil.rmtree(Path(output) / name, ignore_errors=True)


def run(argv: list[str], summary: bool = True) -> int:
    options = pipeline_options(argv)
    app = validate(options)
    clear_tables(app.output)
    started = time.perf_counter()
    with beam.Pipeline(options=options) as pipeline:
        build(pipeline, app)
    elapsed = time.perf_counter() - started
    lines_in = count_lines(app.events)
    print(f"{lines_in:,} lines in {elapsed:.1f} s ({lines_in / elapsed:,.0f} lines/s) "
          f"on {options.view_as(StandardOptions).runner}; tables under {app.output}")
    balanced = print_summary(app.output, lines_in) if summary else True
    return 0 if balanced else 1
