"""The same replay on Prism, Beam's portable local runner, gives the same tables."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.job.run import run
from pipelines.analysis.tables import connect
from tests.conftest import simulated_events
from tests.pipelines.test_run import TABLE_KEYS, table


def prism_binary() -> str:
    configured = os.environ.get("ROADCHIEF_PRISM")
    if configured:
        return configured
    gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True).stdout.strip()
    built = Path(gopath) / "bin" / "prism"
    if built.exists():
        return str(built)
    found = shutil.which("prism")
    if not found:
        raise RuntimeError("Prism is not built: run `make prism`")
    return found


@pytest.fixture(scope="module")
def events(tmp_path_factory, world_folder):
    return simulated_events(tmp_path_factory.mktemp("prism"), world_folder, seed=5)


def test_prism_and_fnapi_runners_write_identical_tables(events, tmp_path):
    outputs = {}
    for runner, extra in (("FnApiRunner", []),
                          ("PrismRunner", ["--prism_location", prism_binary(),
                                           "--environment_type", "LOOPBACK"])):
        outputs[runner] = tmp_path / runner
        assert run(["--runner", runner, "--events", str(events), "--output",
                    str(outputs[runner]), *extra], summary=False) == 0
    fn_api, prism = connect(outputs["FnApiRunner"]), connect(outputs["PrismRunner"])
    for name in TABLE_KEYS:
        assert table(prism, name) == table(fn_api, name), name
    assert table(prism, "dispatches") and table(prism, "metrics")
