"""The lanes a test runs in, by what it starts: `make test-fast` runs the `unit` lane only.

A module files its tests with `pytestmark`, a test with its own mark; a test that uses a
fixture starting a server, a runner or the plate model is filed in that lane as well."""

LANE_OF_FIXTURE = {
    "redis_server": "redis", "redis_url": "redis",
    "s3_server": "s3", "s3_output": "s3",
    "kafka_broker": "kafka", "kafka_expansion": "kafka",
    "prism": "prism",
    "flink_cluster": "flink",
    "reader": "model",
}
# Every lane but `unit`: a test in one of them is not a unit test.
SLOW_LANES = frozenset({"beam", "redis", "prism", "flink", "kafka", "s3", "model"})


def lanes(fixtures, marks) -> set[str]:
    """The lanes of a test that uses `fixtures` and carries `marks` (mark names): its lane
    marks and its fixtures' lanes, or `unit` where that leaves none."""
    found = (set(marks) & SLOW_LANES) | {LANE_OF_FIXTURE[name] for name in fixtures if name in LANE_OF_FIXTURE}
    return found or {"unit"}
