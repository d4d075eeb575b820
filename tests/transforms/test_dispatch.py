import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms.dispatch import DispatchOfficers, _MakeDispatch, dispatch_id
from transforms.records import Hit

T0 = 1_795_910_400_000_000  # 2026-11-29 08:00 +08:00
MINUTE = 60_000_000


def hit(event_id, minutes, plate="琼C12345", action="intercept", score=1.0, priority=1,
        category="stolen", entry_id="W1", segment_id="JJ-0001") -> Hit:
    return Hit(event_id, T0 + minutes * MINUTE, plate, plate, entry_id, category, priority, action,
               "exact", 0, score, "QH-SG-001", segment_id, "嘉积大道", "嘉积镇", "urban",
               "street_grid", 110.4552, 19.2330, "v1")


def test_hits_within_the_cooldown_update_one_dispatch_and_a_later_one_opens_another(world_folder):
    hits = [hit("a", 0), hit("b", 10), hit("c", 50)]
    with TestPipeline(runner="FnApiRunner") as p:
        out = p | beam.Create(hits) | DispatchOfficers(world_folder, cooldown_minutes=30)
        assert_that(out | beam.Map(lambda d: (d.dispatch_id, d.sightings, tuple(d.hit_event_ids))),
                    equal_to([(dispatch_id("琼C12345", "a"), 2, ("a", "b")),
                              (dispatch_id("琼C12345", "c"), 1, ("c",))]))


def test_observe_entries_and_weak_matches_dispatch_nobody(world_folder):
    hits = [hit("a", 0, action="observe"), hit("b", 1, plate="琼C99999", score=0.3)]
    with TestPipeline(runner="FnApiRunner") as p:
        out = p | beam.Create(hits) | DispatchOfficers(world_folder, min_score=0.5)
        assert_that(out, equal_to([]))


def test_a_dispatch_names_the_chain_and_the_fastest_on_duty_responders(world_folder):
    fn = _MakeDispatch(world_folder, responders_k=3)
    fn.setup()
    (stamped,) = list(fn.process(("琼C12345", [
        hit("b", 5, category="unpaid_violations", priority=4, entry_id="W9"), hit("a", 0)])))
    d = stamped.value
    assert d.dispatch_id == dispatch_id("琼C12345", "a")
    assert (d.category, d.priority, d.entry_id) == ("stolen", 1, "W1")
    assert d.categories == ["stolen", "unpaid_violations"]
    assert [c.title for c in d.chief_chain] == ["路管员", "三级路长", "二级路长", "一级路长", "总路长"]
    assert len(d.responders) == 3 and d.best_eta_s == d.responders[0].eta_s
    assert [r.eta_s for r in d.responders] == sorted(r.eta_s for r in d.responders)
    assert d.created_at_us == T0 and d.last_seen_us == T0 + 5 * MINUTE
    assert stamped.timestamp.micros == T0
