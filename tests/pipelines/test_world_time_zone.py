"""Every local time follows the world's time zone: validity days, the summary, the dispatch
stream and `roadchief watch`. The sample world is China's; these tests move it elsewhere."""
import json
import shutil
from pathlib import Path

import pytest

from geo.world import world_zone
from models.records import Dispatch
from pipelines.analysis.tables import views
from pipelines.job.options import SAMPLE_WORLD
from pipelines.job.summary import print_summary
from pipelines.operate.watch import dispatch_line
from tests.builders import WATCHLIST_ROWS, dispatch
from transforms.act.publish_dispatches import stream_fields
from transforms.enrich.watchlist_store import entry_from_row
from transforms.store.write_tables import arrow_schema, as_table

HOUR_US = 3_600_000_000


def world_in(folder: Path, timezone: str) -> Path:
    """A copy of the sample world whose world.json names `timezone`."""
    world = Path(shutil.copytree(SAMPLE_WORLD, folder / "world"))
    meta = json.loads((world / "world.json").read_text(encoding="utf-8"))
    (world / "world.json").write_text(json.dumps({**meta, "timezone": timezone}), encoding="utf-8")
    return world


@pytest.fixture
def urumqi(tmp_path):
    return world_zone(world_in(tmp_path, "Asia/Urumqi"))


def test_validity_days_run_midnight_to_midnight_in_the_worlds_zone(urumqi):
    shanghai = entry_from_row(WATCHLIST_ROWS[0], "w.csv row 1", world_zone(SAMPLE_WORLD))
    moved = entry_from_row(WATCHLIST_ROWS[0], "w.csv row 1", urumqi)
    assert moved.valid_from_us - shanghai.valid_from_us == 2 * HOUR_US  # Urumqi is two hours behind
    assert moved.valid_to_us - shanghai.valid_to_us == 2 * HOUR_US


def test_the_dispatch_stream_and_watch_show_the_worlds_local_time_with_its_offset(urumqi):
    fields = stream_fields(dispatch(15), urumqi)  # last seen at T0, 2026-11-29 00:00 UTC
    assert fields["last_seen"] == "2026-11-29T06:00:00+06:00"
    assert dispatch_line(fields).startswith("2026-11-29 06:00:00+06:00  P1 stolen")


def test_the_summary_shows_the_top_dispatches_in_the_worlds_local_time(urumqi, capsys):
    con = views({})
    con.register("dispatches", as_table([dispatch(15)], arrow_schema(Dispatch)))
    print_summary(con, urumqi)
    assert "2026-11-29 06:00:00+06:00" in capsys.readouterr().out


def test_a_world_json_without_a_time_zone_is_read_as_chinas(tmp_path):
    world = world_in(tmp_path, "Asia/Shanghai")
    meta = json.loads((world / "world.json").read_text(encoding="utf-8"))
    del meta["timezone"]
    (world / "world.json").write_text(json.dumps(meta), encoding="utf-8")
    assert world_zone(world).key == "Asia/Shanghai"


def test_an_unknown_time_zone_is_refused_naming_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"world\.json: timezone 'Asia/Qionghai' is not an IANA time zone"):
        world_zone(world_in(tmp_path, "Asia/Qionghai"))


def test_a_missing_world_folder_is_refused_not_read_as_the_default_zone(tmp_path):
    with pytest.raises(ValueError, match="not a world folder"):
        world_zone(tmp_path / "wrold")
