import subprocess
import sys

import redis

from transforms.redis_contract import WATCHLIST_META


def test_watchlist_load_puts_every_entry_in_redis_and_audits_it(redis_url, world_folder, tmp_path):
    log = tmp_path / "audit.jsonl"
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "watchlist", "load",
                           f"{world_folder}/watchlist.csv", "--redis", redis_url,
                           "--reason", "daily list from 交警支队", "--audit-log", str(log)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "watchlist_load" in log.read_text(encoding="utf-8")
    meta = redis.Redis.from_url(redis_url).hgetall(WATCHLIST_META)
    lines = sum(1 for _ in open(f"{world_folder}/watchlist.csv", encoding="utf-8")) - 1
    assert int(meta[b"count"]) == lines and f"loaded {lines} entries" in done.stdout


def test_a_bad_file_is_a_clear_error_not_a_traceback(tmp_path, redis_url):
    bad = tmp_path / "bad.csv"
    bad.write_text("entry_id,plate\nW1,nonsense\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "watchlist", "load", str(bad),
                           "--redis", redis_url, "--reason", "test",
                           "--audit-log", str(tmp_path / "audit.jsonl")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "bad.csv row 1" in done.stderr and "Traceback" not in done.stderr
