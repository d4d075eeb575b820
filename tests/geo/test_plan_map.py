from geo import maps
from geo.shared import world_at
from tests.builders import hit
from transforms.act.dispatch import _MakeDispatch
from transforms.store.write_tables import as_row


def test_a_plan_is_drawn_from_its_dispatch_row(world_folder):
    fn = _MakeDispatch(world_folder, responders_k=3)
    fn.setup()
    dispatch = fn.make("琼C12345", [hit("a", 0)])
    row = as_row(dispatch)
    png = maps.interception_plans(world_at(world_folder), [
        {"lon": row["lon"], "lat": row["lat"], "intercepts": row["intercepts"], "chance": row["intercept_chance"]}],
        "Interception plans")
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
