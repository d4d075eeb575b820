"""One writer per output folder; readers see one whole run, the old or the new, never a mix.

Real `roadchief run` processes: two started on one folder, one killed with
SIGKILL half-way, and a reader querying while runs publish.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from pipelines.store.output_folder import OutputFolder
from tests.builders import large_and_small, repeated
from tests.servers import finish_run, start_run
from tests.tables import counts

pytestmark = pytest.mark.beam



@pytest.fixture(scope="module")
def inputs(tmp_path_factory, world_folder):
    """A large and a small events file, whose tables differ in every count."""
    return large_and_small(tmp_path_factory.mktemp("writers"), world_folder, seed=5, events=20_000,
                           small_lines=3000)


def version_ids(output) -> set[str]:
    return {p.name for p in (output / ".versions").glob("*")}


def wait_for_version(output, known=frozenset(), timeout=60) -> None:
    """Until a run has started writing a version of its own (one not in `known`)."""
    deadline = time.monotonic() + timeout
    while not version_ids(output) - known and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_second_run_on_the_same_folder_is_refused_and_the_first_publishes_whole(inputs, tmp_path):
    large, small = inputs
    longer = repeated(large, 5)  # still running when the second run has started and asks
    output = tmp_path / "out"
    first = start_run(longer, output)
    wait_for_version(output)
    code, _, err = finish_run(start_run(small, output), timeout=120)
    assert code == 2 and "Traceback" not in err
    assert f"is being written by another roadchief process (pid {first.pid}" in err
    assert finish_run(first)[0] == 0
    alone = tmp_path / "alone"
    assert finish_run(start_run(longer, alone))[0] == 0
    assert counts(output) == counts(alone)
    accounts = json.loads((output / "reconciliation.json").read_text())
    assert accounts["inputs"]["events"]["lines_in"] == 100_000


def test_a_run_killed_half_way_leaves_the_previous_tables_and_is_cleaned_next_time(inputs, tmp_path):
    large, small = inputs
    output = tmp_path / "out"
    assert finish_run(start_run(small, output))[0] == 0
    before = counts(output)
    reconciliation = (output / "reconciliation.json").read_text()
    for delay in (0.5, 3.0):
        known = version_ids(output)
        victim = start_run(repeated(large, 10), output)  # far from done 3 s in
        wait_for_version(output, known)
        time.sleep(delay)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        assert counts(output) == before
        assert (output / "reconciliation.json").read_text() == reconciliation
    code, _, err = finish_run(start_run(small, output))
    assert code == 0 and "removed the unfinished tables of run" in err
    versions = sorted(p.name for p in (output / ".versions").iterdir())
    assert len(versions) == 2 and (output / "current").resolve().name == versions[-1]


def test_readers_see_one_whole_run_while_runs_publish(inputs, tmp_path):
    large, small = inputs
    output = tmp_path / "out"
    expected = set()
    for events in (small, large):
        alone = tmp_path / events.stem
        assert finish_run(start_run(events, alone))[0] == 0
        expected.add(counts(alone))
    assert finish_run(start_run(small, output))[0] == 0
    seen, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            seen.append(counts(output))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for events in (large, small, large):
            assert finish_run(start_run(events, output))[0] == 0
    finally:
        stop.set()
        reader.join()
    assert len(seen) > 20 and set(seen) <= expected and len(set(seen)) == 2


def test_the_lock_dies_with_its_process(tmp_path):
    folder = OutputFolder(tmp_path / "out")
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time\nfrom pipelines.store.output_folder import OutputFolder\n"
                               "with OutputFolder(sys.argv[1]).writer('holder'):\n"
                               "    print('held', flush=True)\n    time.sleep(600)\n", str(folder.path)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(Exception, match=f"pid {holder.pid}.*holder"):
        with folder.writer("second"):
            pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with folder.writer("after the crash"):
        pass
