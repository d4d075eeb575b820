import builtins
import os
import socket

import pytest

from pipelines.errors import OptionsError
from pipelines.job.options import flag_problems, probe_problems, validate
from pipelines.job.run import pipeline_options

UNREACHABLE = "redis://127.0.0.1:9/0"  # the discard port: nothing answers


def options(*flags, output="/nowhere/out"):
    return pipeline_options(["--runner", "FnApiRunner", "--output", output, *flags])


def test_flag_checks_touch_neither_disk_nor_network_and_name_only_the_flags_problems(monkeypatch):
    given = options("--events", "/nowhere/*.jsonl", "--watchlist", UNREACHABLE,
                    "--publish_dispatches", UNREACHABLE, "--plate_key_file", "/nowhere/plate.key",
                    "--world", "/nowhere/world", "--model", "/nowhere/model.keras",
                    "--window_minutes", "0", "--responders_k", "99", "--custom_period", "2026-13-01..x")
    touched = []  # paths the flags name and any connection; Beam's own option parsing stats locale files

    def spy(name, real):
        def call(*args, **kwargs):
            if name == "connect" or "/nowhere" in str(args[:1]) or "127.0.0.1" in str(args[:2]):
                touched.append((name, args))
            return real(*args, **kwargs)
        return call
    for module, name in ((socket.socket, "connect"), (socket, "create_connection"), (os, "stat"),
                         (os, "scandir"), (os, "access"), (builtins, "open")):
        monkeypatch.setattr(module, name, spy(name, getattr(module, name)))
    problems = flag_problems(given)
    monkeypatch.undo()
    assert touched == []
    assert [problem.split(":")[0] for problem in problems] == [
        "--custom_period", "--window_minutes", "--responders_k"]


def test_probes_find_what_the_flags_name_missing_or_silent(tmp_path):
    (tmp_path / "a-file").write_text("")
    problems = probe_problems(options("--events", "/nowhere/*.jsonl", "--publish_dispatches", UNREACHABLE,
                                      "--plate_key_file", "/nowhere/plate.key", "--world", "/nowhere/world",
                                      output=str(tmp_path / "a-file" / "out")))
    named = " ".join(problems)
    for expected in ("--events: nothing matches /nowhere/*.jsonl", "--publish_dispatches: ConnectionError",
                     "--world: /nowhere/world is not a folder", "--plate_key_file:", "--output: cannot write"):
        assert expected in named


def test_a_badly_formed_flag_is_not_probed():
    problems = probe_problems(options("--events", __file__, "--publish_dispatches", "http://cache:6379",
                                      "--output", "ftp://tables", "--plain_plates"))
    assert problems == []


def test_validation_reports_flag_and_probe_problems_together(tmp_path):
    with pytest.raises(OptionsError) as refused:
        validate(options("--events", "/nowhere/*.jsonl", "--max_substitutions", "9", "--plain_plates",
                         output=str(tmp_path / "out")))
    assert "--max_substitutions: must be 0..3" in str(refused.value)
    assert "--events: nothing matches" in str(refused.value)


def test_a_negative_interception_margin_is_refused():
    problems = flag_problems(options("--events", "x.jsonl", "--intercept_margin_s", "-5"))
    assert [problem for problem in problems if problem.startswith("--intercept_margin_s")] == [
        "--intercept_margin_s: must not be negative"]
