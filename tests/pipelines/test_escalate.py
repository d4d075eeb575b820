"""Escalation up the chief chain when a dispatch is not acknowledged in time (real Redis, own clock)."""
import json

import redis

from pipelines.cli import main
from pipelines.operate.escalate import Escalator, ack
from transforms.redis_contract import ACKS_STREAM, DISPATCHES_STREAM, ESCALATIONS_STREAM

CHAIN = [{"level": level, "title": title, "chief_id": f"CH-{i}", "name": name, "phone": f"1380000000{i}"}
         for i, (level, title, name) in enumerate([("road_manager", "路管员", "甲"), ("level3", "三级路长", "乙"),
                                                   ("level2", "二级路长", "丙"), ("level1", "一级路长", "丁"),
                                                   ("general", "总路长", "戊")])]
RESPONDERS = [{"responder_id": responder_id, "name": "己", "kind": "patrol", "eta_s": 90.0}
              for responder_id in ("RSP-0001", "RSP-0007")]


def issue(url, dispatch_id, sightings=1) -> float:
    """A dispatch as PublishDispatches appends it; returns its time (from the entry id) in seconds."""
    client = redis.Redis.from_url(url, decode_responses=True)
    entry = client.xadd(DISPATCHES_STREAM, {"dispatch_id": dispatch_id, "plate": "琼C12345",
                                            "sightings": str(sightings),
                                            "chief_chain": json.dumps(CHAIN, ensure_ascii=False),
                                            "responders": json.dumps(RESPONDERS, ensure_ascii=False)})
    return int(entry.split("-")[0]) / 1000


def test_an_unacknowledged_dispatch_climbs_one_level_per_period_until_acknowledged(redis_url):
    issued = issue(redis_url, "D-1")
    now = {"t": issued + 119}
    escalator = Escalator(redis_url, ack_within_s=120, clock=lambda: now["t"])
    assert escalator.step() == []
    now["t"] = issued + 121
    (first,) = escalator.step()
    assert (first.dispatch_id, first.level, first.title, first.name) == ("D-1", 1, "三级路长", "乙")
    assert escalator.step() == []  # once per level
    now["t"] = issued + 250
    issue(redis_url, "D-1", sightings=2)  # an update of the same dispatch changes nothing
    assert [e.title for e in escalator.step()] == ["二级路长"]
    ack(redis_url, "D-1", "RSP-0001")
    now["t"] = issued + 1000
    assert escalator.step() == []
    escalations = redis.Redis.from_url(redis_url, decode_responses=True).xrange(ESCALATIONS_STREAM)
    assert [f["title"] for _, f in escalations] == ["三级路长", "二级路长"]


def test_a_restarted_escalator_rebuilds_its_state_and_repeats_nothing(redis_url):
    issued = issue(redis_url, "D-2")
    clock = lambda: issued + 300  # noqa: E731
    assert [e.level for e in Escalator(redis_url, 120, clock).step()] == [1, 2]
    assert Escalator(redis_url, 120, clock).step() == []
    late = lambda: issued + 10_000  # noqa: E731  a long outage: the rest of the chain at once, to 总路长
    assert [e.title for e in Escalator(redis_url, 120, late).step()] == ["一级路长", "总路长"]


def test_an_acknowledged_dispatch_is_never_escalated_even_after_a_restart(redis_url):
    issued = issue(redis_url, "D-3")
    ack(redis_url, "D-3")
    assert Escalator(redis_url, 60, lambda: issued + 10_000).step() == []


def test_roadchief_ack_records_who_acknowledged(redis_url, capsys):
    issue(redis_url, "D-4")
    assert main(["ack", "D-4", "--redis", redis_url, "--responder", "RSP-0007"]) == 0
    ((_, fields),) = redis.Redis.from_url(redis_url, decode_responses=True).xrange(ACKS_STREAM)
    assert (fields["dispatch_id"], fields["responder_id"]) == ("D-4", "RSP-0007")
    assert "D-4" in capsys.readouterr().out


def test_an_unknown_dispatch_id_is_refused_and_nothing_is_recorded(redis_url, capsys):
    issue(redis_url, "D-5")
    assert main(["ack", "D-doesnotexist", "--redis", redis_url]) == 2
    assert capsys.readouterr().err.strip() == \
        f"roadchief ack: D-doesnotexist: no such dispatch in {DISPATCHES_STREAM}"
    assert redis.Redis.from_url(redis_url).xlen(ACKS_STREAM) == 0


def test_only_a_responder_or_chief_the_dispatch_names_can_acknowledge_it(redis_url, capsys):
    issue(redis_url, "D-6")
    assert main(["ack", "D-6", "--redis", redis_url, "--responder", "RSP-0070"]) == 2
    refusal = capsys.readouterr().err.strip()
    assert refusal.startswith("roadchief ack: RSP-0070 is not among the responders and chiefs of D-6")
    assert "RSP-0007" in refusal and "CH-1" in refusal
    assert redis.Redis.from_url(redis_url).xlen(ACKS_STREAM) == 0
    assert main(["ack", "D-6", "--redis", redis_url, "--responder", "CH-1"]) == 0  # the 三级路长 himself
    assert redis.Redis.from_url(redis_url).xlen(ACKS_STREAM) == 1


def test_a_responder_sent_to_an_interception_point_can_acknowledge(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    stop = {"kind": "intercept", "place": "银海路/东风路", "responders": [{"responder_id": "RSP-0099"}]}
    client.xadd(DISPATCHES_STREAM, {"dispatch_id": "D-7", "plate": "琼C12345", "sightings": "1",
                                    "chief_chain": json.dumps(CHAIN, ensure_ascii=False),
                                    "responders": json.dumps(RESPONDERS, ensure_ascii=False),
                                    "intercepts": json.dumps([stop], ensure_ascii=False)})
    ack(redis_url, "D-7", "RSP-0099")
    assert client.xlen(ACKS_STREAM) == 1
