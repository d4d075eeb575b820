"""`roadchief watch` tells the officer where to meet the vehicle, in his terms."""
from models.records import AssignedResponder, Intercept
from pipelines.operate.watch import dispatch_line
from tests.builders import MINUTE, T0, ZONE, dispatch
from transforms.act.publish_dispatches import stream_fields

LI = AssignedResponder("RSP-1", "李英德", "traffic_police", "嘉积中队", "110", 900.0, 126.0)


def stop(kind, place, eta_s, responders=(), cameras=("QH-SG-019",)):
    return Intercept(kind, place, 110.45, 19.24, T0 + round(eta_s * 1e6), eta_s, "east", 0.65,
                     list(responders), list(cameras))


def line(*stops):
    return dispatch_line(stream_fields(dispatch(0)._replace(intercepts=list(stops)), ZONE))


def test_the_first_stop_says_where_to_go_when_the_vehicle_comes_and_both_etas():
    shown = line(stop("intercept", "银海路/东风路", 204.0, [LI]), stop("handover", "出市卡口", 600.0))
    assert ("李英德 go to 银海路/东风路 junction, vehicle expected 08:03:24 from the east,"
            " ETA you 2.1 min, vehicle 3.4 min, 65% likely; confirm at QH-SG-019 (+1 more)") in shown
    assert shown.count("\n") == 0  # still one line a dispatch


def test_a_vehicle_nobody_can_meet_is_handed_over_at_the_border():
    shown = line(stop("handover", "G223国道往万宁出市卡口", 12 * MINUTE / 1e6, cameras=()))
    assert "hand over to the next jurisdiction at G223国道往万宁出市卡口, vehicle expected 08:12:00" in shown


def test_no_plan_is_said_plainly():
    assert "no interception point within reach" in line()


def test_a_point_on_one_road_is_not_called_a_junction():
    assert "李英德 go to 嘉积环城高速, vehicle expected" in line(stop("intercept", "嘉积环城高速", 60.0, [LI]))
