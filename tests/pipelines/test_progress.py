"""Progress on a terminal, plain output elsewhere, and what --verbose adds."""
import logging
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.progress import Progress, set_verbosity
from tests.builders import simulated_events

pytestmark = pytest.mark.beam

REPOSITORY = Path(__file__).resolve().parents[2]
CONTROL = ("\x1b", "\r")  # colours, cursor moves, a line redrawn in place


def roadchief(*argv: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *argv]


def on_terminal(argv: list[str]) -> str:
    """What a person at a terminal sees: the command runs on a pseudo-terminal."""
    main, child = pty.openpty()
    process = subprocess.Popen(argv, stdin=child, stdout=child, stderr=child, cwd=REPOSITORY,
                               env={**os.environ, "TERM": "xterm", "COLUMNS": "140"})
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 1 << 16)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    assert process.wait() == 0, seen.decode(errors="replace")
    return seen.decode(errors="replace")


def piped(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPOSITORY, check=True)


@pytest.fixture(scope="module")
def events(tmp_path_factory, world_folder):
    return simulated_events(tmp_path_factory.mktemp("sim"), world_folder, seed=5, events=600)


def test_without_a_terminal_progress_shows_nothing(capsys):
    with Progress.for_user(verbose=False) as progress:
        progress.step("writing", total=10, unit="lines")
        progress.done(5)
    assert capsys.readouterr() == ("", "")


def test_verbosity_sets_the_log_level_and_tensorflows(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    set_verbosity(False)
    assert root.level == logging.ERROR and os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
    set_verbosity(True)
    assert root.level == logging.INFO and os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"


def test_simulate_shows_lines_written_on_a_terminal_and_nothing_when_piped(tmp_path):
    seen = on_terminal(roadchief("simulate", "--out", str(tmp_path / "tty.jsonl"), "--events", "20000"))
    assert "writing" in seen and "/ 20,000 lines" in seen and "\x1b[" in seen
    assert "wrote 20,000 lines" in seen
    done = piped(roadchief("simulate", "--out", str(tmp_path / "pipe.jsonl"), "--events", "2000"))
    assert done.stdout.startswith("wrote 2,000 lines") and done.stderr == ""
    assert not any(mark in done.stdout + done.stderr for mark in CONTROL)


def test_run_shows_its_phase_on_a_terminal_and_nothing_when_piped(events, tmp_path):
    seen = on_terminal(roadchief("run", "--events", str(events), "--output", str(tmp_path / "tty")))
    assert "running the pipeline on FnApiRunner" in seen and "lines in" in seen
    done = piped(roadchief("run", "--events", str(events), "--output", str(tmp_path / "pipe")))
    assert "600 lines in" in done.stdout
    assert not any(mark in done.stdout + done.stderr for mark in CONTROL)
    assert "INFO" not in done.stderr


def test_run_verbose_shows_beams_logs(events, tmp_path):
    done = piped(roadchief("run", "--verbose", "--events", str(events), "--output", str(tmp_path / "out")))
    assert "600 lines in" in done.stdout
    assert "INFO apache_beam" in done.stderr


def test_replay_shows_entries_pushed_on_a_terminal(events, redis_url):
    seen = on_terminal(roadchief("replay", str(events), "--redis", redis_url, "--speed", "0"))
    assert "pushing to roadchief:events" in seen and "/ 600 entries" in seen


FAILING_RUN = """
import sys

from pipelines import cli  # first, as `roadchief` starts: it quiets Beam's import-time warnings

import apache_beam as beam
from pipelines.job import run


def explode(_):
    raise OSError("the disk refused the write\\nsector 7 of /dev/sdz is unreadable")


def build(pipeline, app, output, real_build=run.build):
    real_build(pipeline, app, output)
    _ = pipeline | "Seed" >> beam.Create([1]) | "Explode" >> beam.Map(explode)


run.build = build  # the pipeline as built, plus a step that fails with a cause of two lines
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("verbose", [False, True])
def test_a_failed_run_is_one_line_and_all_of_its_cause_with_verbose(events, tmp_path, verbose):
    argv = ["run", "--events", str(events), "--output", str(tmp_path / "out")] + ["--verbose"] * verbose
    done = subprocess.run([sys.executable, "-c", FAILING_RUN, *argv], capture_output=True, text=True,
                          cwd=REPOSITORY)
    assert done.returncode == 2
    problem = done.stderr[done.stderr.index("roadchief run: "):]
    assert "changed no table" in problem and "sector 7 of /dev/sdz is unreadable" in problem
    if verbose:
        assert "the disk refused the write" in problem and "Traceback" in problem
        assert "INFO apache_beam" in done.stderr
    else:
        assert done.stderr == problem and problem.count("\n") == 1
