"""The runtime package holds what the pipeline runs: training and synthetic data stay out of it."""
import importlib.util
import json
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from pipelines.cli import CHECKOUT_ONLY

ROOT = Path(__file__).resolve().parents[2]

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


def _setup_py():
    """setup.py as a module: its pins, without running setup()."""
    spec = importlib.util.spec_from_file_location("setup", ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_setup_py_leaves_training_and_synthetic_data_out_of_the_package():
    setup = _setup_py()
    assert set(setup.CHECKOUT_ONLY) == {f"{package}{tail}" for package in CHECKOUT_ONLY for tail in ("", ".*")}


def test_the_makefile_takes_the_beam_version_pinned_in_setup_py():
    setup = _setup_py()
    done = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT),
                           "--eval", "show-beam-version: ; @echo $(BEAM_VERSION)", "show-beam-version"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == setup.pinned("apache-beam") == version("apache-beam")


def test_the_dockerfile_pins_nothing_itself():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.findall(r"==\s*\d|:\d+\.\d+", dockerfile) == []
    assert "setup.REQUIREMENTS" in dockerfile and "${BEAM_VERSION}" in dockerfile
