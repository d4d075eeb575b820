"""Where a run's tables go: a local folder or an s3:// prefix, behind one interface.

`roadchief run` writes, publishes and reads back its tables the same way whichever it
is; what differs (an flock or a lease, a symbolic link or a pointer object) stays in
`pipelines.store.output_folder` and `pipelines.store.output_bucket`.
"""
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

import duckdb
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.job.options import RoadchiefOptions
from pipelines.store.object_store import ObjectStore, is_s3
from pipelines.store.output_bucket import OutputBucket
from pipelines.store.output_folder import OutputFolder

# Where one run writes its tables: a folder's Path, or an s3:// prefix. Each output takes back
# only the versions it made itself.
Version = TypeVar("Version")


class Output(Protocol[Version]):
    """The output of runs: one writer at a time, and readers that see one whole run."""
    location: str

    def writer(self, command: str) -> AbstractContextManager["Output[Version]"]:
        """Hold the output for one writer; OutputBusy names the holder if another has it."""

    def clean_leftovers(self) -> list[str]:
        """Remove what killed runs left behind; one line for each thing removed."""

    def new_version(self) -> Version: ...

    def write_text(self, version: Version, name: str, text: str) -> None: ...

    def discard(self, version: Version) -> None: ...

    def publish(self, version: Version, tables: list[str]) -> None:
        """Make `version` current in one atomic switch."""

    def connect(self, version: Version | None = None) -> duckdb.DuckDBPyConnection:
        """DuckDB views over `version`'s tables, or else the current version's."""


def output_of(options: PipelineOptions) -> Output[Any]:
    """The output a run's `--output` names, reached as the run's workers reach it; which
    kind of version it makes is only known at run time."""
    app = options.view_as(RoadchiefOptions)
    if is_s3(app.output):
        return OutputBucket(app.output, ObjectStore.for_run(options), app.output_lease_s)
    return OutputFolder(app.output)
