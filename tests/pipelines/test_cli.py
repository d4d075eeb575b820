"""The command line: a person's mistake gets one clear line and a non-zero exit, never silence or a traceback."""
import json
import re
import subprocess
import sys
import time
from importlib.metadata import version

import pytest
import redis

from pipelines.cli import main, parser, snake_case_flags
from pipelines.job.flags import unknown_flag_problems
from transforms.redis_contract import DISPATCHES_STREAM

BEAM_FLAGS = ["--runner", "PrismRunner", "--flink_master", "localhost:8081", "--environment_type", "LOOPBACK",
              "--job_endpoint", "localhost:8099", "--streaming", "--save_main_session", "--parallelism=2",
              "--experiments=use_runner_v2", "--prism_location", "/usr/bin/prism", "--job-server-timeout", "60"]


def roadchief(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def one_clear_line(done: subprocess.CompletedProcess, *words: str) -> None:
    """A non-zero exit with a single line on stderr that names what was wrong."""
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert all(word in line for word in words), line


# roadchief run: a misspelt flag is refused, Beam's own flags pass

def test_run_refuses_a_misspelt_flag_and_names_the_one_meant(tmp_path, capsys):
    events = tmp_path / "events.jsonl"
    events.write_text("")
    assert main(["run", "--events", str(events), "--output", str(tmp_path / "out"), "--plain_plates",
                 "--cooldown-minutes", "3", "--windw_minutes", "5", "--sped=9"]) == 2
    problems = capsys.readouterr().err
    assert "--windw_minutes: unknown flag; did you mean --window_minutes?" in problems
    assert "--sped: unknown flag" in problems
    assert "--cooldown" not in problems


def test_every_flag_beam_defines_passes():
    assert unknown_flag_problems(BEAM_FLAGS + ["--window_minutes", "5", "--plain_plates"], "PrismRunner") == []


def test_the_flink_runners_own_flags_pass_on_flink_only():
    flink = ["--checkpointing_interval", "2000", "--finish_bundle_before_checkpointing",
             "--max_bundle_time_mills=100"]
    assert unknown_flag_problems(flink, "FlinkRunner") == []
    assert len(unknown_flag_problems(flink, "FnApiRunner")) == 3
    assert unknown_flag_problems(["--max_bundle_time_milliseconds", "100"], "FlinkRunner") == \
        ["--max_bundle_time_milliseconds: unknown flag; did you mean --max_bundle_time_mills?"]


# One flag style: both spellings everywhere, snake_case in help

def test_kebab_and_snake_case_name_the_same_flag_in_every_command():
    assert snake_case_flags(["--duration-s", "60", "--ack-within-s=5", "-h", "2026-11-29", "--", "--keep-me"]) == \
        ["--duration_s", "60", "--ack_within_s=5", "-h", "2026-11-29", "--", "--keep-me"]
    for kebab, snake in ([["simulate", "--out", "e.jsonl", "--duration-s", "60", "--history-days", "9"],
                          ["simulate", "--out", "e.jsonl", "--duration_s", "60", "--history_days", "9"]],
                         [["watch", "--redis", "redis://h", "--from-start"],
                          ["watch", "--redis", "redis://h", "--from_start"]]):
        assert parser().parse_args(snake_case_flags(kebab)) == parser().parse_args(snake)


def test_a_kebab_case_flag_reaches_the_pipeline(tmp_path, capsys):
    assert main(["run", "--events", str(tmp_path / "none.jsonl"), "--output", str(tmp_path / "out"),
                 "--plain-plates", "--cooldown-minutes", "0"]) == 2
    assert "--cooldown_minutes: must be positive" in capsys.readouterr().err


def test_help_shows_one_style(capsys):
    commands = parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    helps = [command.format_help() for command in commands.values()]
    assert main(["run", "--help"]) == 0
    helps.append(capsys.readouterr().out)
    for text in helps:
        assert not re.findall(r"--[a-z]+-[a-z]", text), text
    assert any("--window_minutes" in text for text in helps) and any("--duration_s" in text for text in helps)


def test_version_is_the_installed_distributions(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"roadchief {version('roadchief')}"


# One clear line instead of a traceback

def test_simulate_into_a_missing_folder(tmp_path):
    one_clear_line(roadchief("simulate", "--out", "missing_dir/ev.jsonl", "--events", "10", cwd=tmp_path),
                   "--out", "missing_dir")


def test_simulate_incidents_without_outcomes_writes_nothing(tmp_path):
    done = roadchief("simulate", "--out", "ev.jsonl", "--events", "10", "--incidents", "i.jsonl", cwd=tmp_path)
    one_clear_line(done, "--incidents", "--outcomes")
    assert list(tmp_path.iterdir()) == []


def test_report_with_a_label_of_no_such_week(tmp_path):
    one_clear_line(roadchief("report", "--tables", str(tmp_path), "--out", str(tmp_path / "r.html"),
                             "--period", "week", "--label", "2026-W99"), "--label 2026-W99", "week")


def test_report_with_a_label_but_no_kind_of_period(tmp_path):
    one_clear_line(roadchief("report", "--tables", str(tmp_path), "--out", str(tmp_path / "r.html"),
                             "--label", "2026-W47"), "--label", "--period")


def test_report_into_a_missing_folder_is_refused_before_any_work(tmp_path, capsys):
    assert main(["report", "--tables", str(tmp_path / "no_tables"), "--out", "missing_dir/x.html"]) == 2
    assert capsys.readouterr().err.strip() == \
        "roadchief report: --out missing_dir/x.html: the folder missing_dir does not exist"


@pytest.mark.model
def test_recognize_a_file_that_is_not_there(tmp_path):
    done = roadchief("recognize", str(tmp_path / "nope.jpg"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert json.loads(done.stdout)["reason"].startswith("cannot read file")
    assert "nope.jpg" in done.stderr.strip().splitlines()[-1]


# watch over Redis: an exact count, and a closed pipe ends it quietly

def publish(url: str, dispatches: int, first: int = 0) -> None:
    client = redis.Redis.from_url(url, decode_responses=True)
    for n in range(first, first + dispatches):
        client.xadd(DISPATCHES_STREAM, {
            "dispatch_id": f"D-{n}", "plate": "琼C12345", "category": "stolen", "priority": "1",
            "sightings": "1", "last_seen": "2026-11-29T08:10:00+08:00", "town": "嘉积镇", "road_name": "银海路",
            "chief_chain": "[]", "responders": "[]"})
    client.close()


def test_watch_count_prints_exactly_that_many(redis_url, capsys):
    publish(redis_url, 13)
    assert main(["watch", "--redis", redis_url, "--from-start", "--count", "2"]) == 0
    assert [line.split()[-1] for line in capsys.readouterr().out.splitlines()] == ["[D-0]", "[D-1]"]


def test_watch_into_a_closed_pipe_exits_quietly(redis_url):
    publish(redis_url, 3)
    watching = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "watch", "--redis", redis_url,
                                 "--from_start"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert "[D-0]" in watching.stdout.readline()  # type: ignore[union-attr]
    watching.stdout.close()  # type: ignore[union-attr]  as `| head -1` does once it has its line
    time.sleep(0.5)
    publish(redis_url, 1, first=3)
    assert watching.wait(timeout=60) == 141  # 128 + SIGPIPE, as a Unix tool's exit reads
    assert watching.stderr.read() == ""  # type: ignore[union-attr]
