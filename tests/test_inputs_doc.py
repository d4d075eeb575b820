"""docs/inputs.md names every field the parsers and the world loader read, and no other."""
import ast
import re
from pathlib import Path

import pytest

from geo import world
from transforms.ingest import parse_events, parse_reports

ROOT = Path(__file__).resolve().parents[1]
FIELD_READERS = {"text_field", "number_field", "time_field", "choice_field", "count_field"}


def documented() -> dict[str, set[str]]:
    """Section title → the names in the first column of its table."""
    sections: dict[str, set[str]] = {}
    title = ""
    for line in (ROOT / "docs" / "inputs.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("# ").strip()
        elif match := re.match(r"\| `([^`]+)` \|", line):
            sections.setdefault(title, set()).add(match.group(1))
    return sections


def fields_read(module, function: str) -> set[str]:
    """The JSON fields `function` of `module` reads through the field readers of fields.py."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    body = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == function)
    names: set[str] = set()
    for call in ast.walk(body):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
            if call.func.id in FIELD_READERS and isinstance(call.args[1], ast.Constant):
                names.add(call.args[1].value)
            elif call.func.id == "position_fields":
                names |= {"lon", "lat"}
    return names


def world_json_keys() -> set[str]:
    """The keys the world loader reads from world.json (`meta.get("key", ...)`)."""
    tree = ast.parse(Path(world.__file__).read_text(encoding="utf-8"))
    return {call.args[0].value for call in ast.walk(tree)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and call.func.attr == "get" and isinstance(call.func.value, ast.Name) and call.func.value.id == "meta"}


@pytest.mark.parametrize("section, expected", [
    ("Camera events", fields_read(parse_events, "_validate")),
    ("Incident reports (警情)", fields_read(parse_reports, "parse_incident")),
    ("Dispatch outcomes", fields_read(parse_reports, "parse_outcome")),
    ("`world.json`", world_json_keys()),
    ("`roads.geojson` / `roads.gpkg`", set(world.ROAD_COLUMNS + world.OPTIONAL_ROAD_COLUMNS)),
    ("`chiefs.csv`", set(world.CHIEF_COLUMNS)),
    ("`cameras.csv`", set(world.CAMERA_COLUMNS)),
    ("`responders.csv`", set(world.RESPONDER_COLUMNS)),
    ("`watchlist.csv`", set(world.WATCHLIST_COLUMNS)),
])
def test_every_field_read_is_documented_and_every_documented_field_is_read(section, expected):
    assert expected, f"found no fields for {section}: the parser changed shape"
    assert documented().get(section) == expected


def test_the_readme_points_to_the_inputs():
    assert "docs/inputs.md" in (ROOT / "README.md").read_text(encoding="utf-8")
