"""The runtime package holds what the pipeline runs: training and synthetic data stay out of it."""
import json
import subprocess
import sys

from pipelines.cli import CHECKOUT_ONLY

RUNTIME_ENTRIES = ["pipelines.job.graph", "pipelines.flink.worker", "pipelines.cli",
                   "transforms.enrich.recognise_plates", "models.plates.reader"]


def _modules_after_importing(names: list[str]) -> list[str]:
    """The modules a fresh interpreter holds after importing `names`."""
    code = ("import importlib, json, sys\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module(name)\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_graph_and_the_worker_entry_load_no_training_or_synthetic_module():
    loaded = _modules_after_importing(RUNTIME_ENTRIES)
    assert set(RUNTIME_ENTRIES) <= set(loaded)
    assert [name for name in loaded if name.startswith(CHECKOUT_ONLY)] == []


def test_checkout_only_names_the_training_and_synthetic_packages():
    """So that the test above cannot pass by naming packages that no longer exist."""
    loaded = _modules_after_importing(["geo.synthetic.simulate", "models.plates.training.train"])
    checkout_only = {name for name in loaded if name.startswith(CHECKOUT_ONLY)}
    assert {"geo.synthetic.simulate", "models.plates.training.train", "models.plates.training.render"} <= checkout_only


def test_simulate_without_the_synthetic_package_is_one_clear_line(tmp_path):
    """Where only the runtime package is installed, `roadchief simulate` says why it cannot run."""
    code = ("import sys\n"
            "sys.modules['geo.synthetic'] = None  # as where the runtime package alone is installed\n"
            "from pipelines.cli import main\n"
            f"sys.exit(main(['simulate', '--out', {str(tmp_path / 'events.jsonl')!r}, '--events', '10']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("roadchief simulate: needs geo.synthetic") and line.endswith(
        "which the runtime package leaves out: run it from a checkout (pip install -e .)")
    assert not (tmp_path / "events.jsonl").exists()
