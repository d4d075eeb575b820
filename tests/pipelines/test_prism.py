"""The same replay on Prism, Beam's portable local runner, gives the same tables."""
import pytest

from pipelines.analysis.tables import connect
from pipelines.job.run import run
from tests.builders import simulated_events
from tests.tables import TABLE_KEYS, table

pytestmark = pytest.mark.beam


@pytest.fixture(scope="module")
def events(tmp_path_factory, world_folder):
    return simulated_events(tmp_path_factory.mktemp("prism"), world_folder, seed=5)


def test_prism_and_fnapi_runners_write_identical_tables(events, tmp_path, prism):
    outputs = {}
    for runner, extra in (("FnApiRunner", []),
                          ("PrismRunner", ["--prism_location", prism,
                                           "--environment_type", "LOOPBACK"])):
        outputs[runner] = tmp_path / runner
        assert run(["--runner", runner, "--events", str(events), "--output",
                    str(outputs[runner]), *extra], summary=False) == 0
    fn_api, prism = connect(outputs["FnApiRunner"]), connect(outputs["PrismRunner"])
    for name in TABLE_KEYS:
        assert table(prism, name) == table(fn_api, name), name
    assert table(prism, "dispatches") and table(prism, "metrics")
