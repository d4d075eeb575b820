import math

import pytest

from geo.network import VEHICLE, RoadNetwork
from tests.geo.small_world import ORIGIN, road, small_world


def node_at(network, x, y):
    """The node nearest a position in metres from the origin."""
    located = network.locate(ORIGIN[0] + x, ORIGIN[1] + y)
    edge = network.edges[2 * located.segment]
    return edge.tail if located.fraction < 0.5 else edge.head


def from_node(network, node, mode):
    return network.times({node: (0.0, 0.0)}, mode)


def test_a_straight_road_takes_its_length_over_the_speed_of_the_slower_of_road_and_mode():
    # A —1 km— B —1 km— C at 36 km/h: a car (60) is held to 10 m/s, a walker goes 5 km/h.
    network = RoadNetwork(small_world([road("AB", (0, 0), (1000, 0)), road("BC", (1000, 0), (2000, 0))]))
    a, c = node_at(network, 0, 0), node_at(network, 2000, 0)
    seconds, metres = from_node(network, a, "car")
    assert seconds[c] == pytest.approx(200.0, rel=1e-3) and metres[c] == pytest.approx(2000.0, rel=1e-3)
    assert from_node(network, a, "foot")[0][c] == pytest.approx(2000 / (5 / 3.6), rel=1e-3)
    assert from_node(network, a, VEHICLE)[0][c] == pytest.approx(200.0, rel=1e-3)


def test_at_a_junction_the_faster_road_wins_even_when_longer():
    # A to D: straight over a 20 km/h lane (1 km: 180 s) or round by a 72 km/h road
    # (A–B–C–D, 2.2 km), which a car drives at its own 60 km/h (132 s).
    network = RoadNetwork(small_world([
        road("AD", (0, 0), (1000, 0), speed_kmh=20),
        road("AB", (0, 0), (0, 600), speed_kmh=72), road("BC", (0, 600), (1000, 600), speed_kmh=72),
        road("CD", (1000, 600), (1000, 0), speed_kmh=72)]))
    a, d = node_at(network, 0, 0), node_at(network, 1000, 0)
    seconds, metres = from_node(network, a, "car")
    assert seconds[d] == pytest.approx(2200 / (60 / 3.6), rel=1e-3)
    assert metres[d] == pytest.approx(2200, rel=1e-3)


def test_a_one_way_street_binds_vehicles_but_not_walkers():
    network = RoadNetwork(small_world([road("AB", (0, 0), (1000, 0), oneway="yes"),
                                       road("BC", (1000, 0), (2000, 0), oneway="-1")]))
    a, b, c = node_at(network, 0, 0), node_at(network, 1000, 0), node_at(network, 2000, 0)
    assert from_node(network, a, VEHICLE)[0][b] == pytest.approx(100.0, rel=1e-3)
    assert math.isinf(from_node(network, b, VEHICLE)[0][a])
    assert math.isinf(from_node(network, b, "car")[0][c])  # drawn B→C, one-way against it
    assert from_node(network, c, "car")[0][b] == pytest.approx(100.0, rel=1e-3)
    assert from_node(network, b, "foot")[0][a] == pytest.approx(1000 / (5 / 3.6), rel=1e-3)


def test_nobody_walks_or_rides_an_e_bike_on_an_expressway():
    network = RoadNetwork(small_world([road("AB", (0, 0), (1000, 0), road_class="expressway", speed_kmh=100)]))
    a, b = node_at(network, 0, 0), node_at(network, 1000, 0)
    assert math.isinf(from_node(network, a, "foot")[0][b]) and math.isinf(from_node(network, a, "ebike")[0][b])
    assert from_node(network, a, "motorbike")[0][b] == pytest.approx(1000 / (45 / 3.6), rel=1e-3)


def test_a_place_beside_a_road_starts_at_both_ends_of_its_segment():
    network = RoadNetwork(small_world([road("AB", (0, 0), (1000, 0))]))
    at = network.locate(ORIGIN[0] + 250, ORIGIN[1] + 20)
    assert at.fraction == pytest.approx(0.25, abs=1e-3) and at.offset_m == pytest.approx(20, abs=0.5)
    seeds = network.seeds_from(at, "car", 10.0)
    a, b = node_at(network, 0, 0), node_at(network, 1000, 0)
    assert seeds[a][0] == pytest.approx(2 + 25, rel=1e-2) and seeds[b][0] == pytest.approx(2 + 75, rel=1e-2)
