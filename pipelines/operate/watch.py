"""`roadchief watch`: follow the dispatch stream in a terminal, one line per dispatch."""
import json
from collections.abc import Callable

from pipelines.operate import show_at_once
from transforms.redis_contract import DISPATCHES_STREAM, connect, read_streams


def plan_text(stops: list[dict]) -> str:
    """The plan's first stop in an officer's words, and how many more there are."""
    if not stops:
        return "no interception point within reach"
    stop, more = stops[0], len(stops) - 1
    when = stop["vehicle_at"][11:19]
    vehicle = f"vehicle {stop['vehicle_eta_s'] / 60:.1f} min, {stop['probability']:.0%} likely"
    if stop["kind"] == "handover":
        text = (f"hand over to the next jurisdiction at {stop['place']}, vehicle expected {when}"
                f" from the {stop['from_direction']}, {vehicle}")
    else:
        who = stop["responders"][0]
        where = f"{stop['place']} junction" if "/" in stop["place"] else stop["place"]
        text = (f"{who['name']} go to {where}, vehicle expected {when} from the"
                f" {stop['from_direction']}, ETA you {who['eta_s'] / 60:.1f} min, {vehicle}")
    cameras = f"; confirm at {', '.join(stop['cameras'][:2])}" if stop["cameras"] else ""
    return text + cameras + (f" (+{more} more)" if more else "")


def dispatch_line(fields: dict[str, str]) -> str:
    """What an operator needs at a glance: what, where, who is responsible, who goes, and
    where to meet the vehicle."""
    chain = json.loads(fields.get("chief_chain") or "[]")
    responders = json.loads(fields.get("responders") or "[]")
    manager = f"{chain[0]['title']} {chain[0]['name']} {chain[0]['phone']}" if chain else "no road manager"
    nearest = (f"{responders[0]['name']} ({responders[0]['kind']}) {responders[0]['eta_s'] / 60:.1f} min"
               if responders else "no responder on duty")
    return (f"{fields['last_seen'].replace('T', ' ')}  P{fields['priority']} {fields['category']:<18} "
            f"{fields['plate']:<9} seen {fields['sightings']}x  {fields['town']} {fields['road_name']}"
            f"  -> {manager}; nearest {nearest}; {plan_text(json.loads(fields.get('intercepts') or '[]'))}"
            f"  [{fields['dispatch_id']}]")


def watch(url: str, stream: str = DISPATCHES_STREAM, from_start: bool = False, count: int = 0,
          show: Callable[[str], None] = show_at_once, block_ms: int = 5000) -> int:
    """Print dispatches as they arrive; stop after exactly `count` (0: until interrupted)."""
    client = connect(url, timeout_s=5 + block_ms / 1000, decode_responses=True)
    last_id, shown = ("0" if from_start else "$"), 0
    try:
        while not count or shown < count:
            wanted = min(100, count - shown) if count else 100
            for _, entries in read_streams(client, {stream: last_id}, count=wanted, block_ms=block_ms):
                for entry_id, fields in entries:
                    show(dispatch_line(fields))
                    last_id = entry_id
                    shown += 1
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
    return 0
