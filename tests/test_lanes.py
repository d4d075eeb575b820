"""Each test lands in the lanes of what it starts, and every lane is registered."""
import ast
import tomllib
from pathlib import Path

from tests.lanes import LANE_OF_FIXTURE, SLOW_LANES, lanes

REPOSITORY = Path(__file__).resolve().parents[1]


def registered_markers() -> set[str]:
    config = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))
    return {line.split(":")[0] for line in config["tool"]["pytest"]["ini_options"]["markers"]}


def test_a_test_that_starts_nothing_is_a_unit_test():
    assert lanes(["tmp_path", "world_folder"], {"parametrize"}) == {"unit"}


def test_a_server_fixture_files_the_test_in_its_lane_beside_its_marks():
    assert lanes(["redis_url", "tmp_path"], set()) == {"redis"}
    assert lanes(["prism", "redis_url"], {"beam"}) == {"beam", "prism", "redis"}


def test_a_lane_mark_keeps_a_test_out_of_the_unit_lane():
    assert lanes([], {"model"}) == {"model"}


def test_every_lane_is_registered_for_strict_markers():
    assert SLOW_LANES | set(LANE_OF_FIXTURE.values()) | {"unit"} <= registered_markers()


def test_every_lane_fixture_exists_in_a_conftest():
    defined = set()
    for conftest in (REPOSITORY / "tests").rglob("conftest.py"):
        defined |= {node.name for node in ast.walk(ast.parse(conftest.read_text(encoding="utf-8")))
                    if isinstance(node, ast.FunctionDef)}
    assert set(LANE_OF_FIXTURE) <= defined
