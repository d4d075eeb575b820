"""What an operator watches while a run goes: Beam metrics of the stages, namespace `roadchief`.

These are not the `metrics` table (WindowedMetrics): they are the runner's own
counters, shown per stage in Flink's web UI and by Prism while the job runs,
and printed by `roadchief run` when it ends (`pipelines.job.stage_metrics`).

Each is counted in the stage that does the work. Updating a Beam metric looks
up the current metrics container, which costs more than the work it counts in
a stage that handles elements one at a time; such a stage adds its count up
over the bundle and reports it once, and a buffering stage once per buffer.

Dead letters are counted by reason class: a short label that stays the same
whatever the reason's text says about the line (`bad_json`, `missing_field`,
`unknown_camera`, …), so a dashboard can follow each class over time.
"""
from functools import cache

from apache_beam.metrics import Metrics

from models.records import DeadLetter

NAMESPACE = "roadchief"
EVENTS_IN = Metrics.counter(NAMESPACE, "events_in")
FRAMES_RECOGNISED = Metrics.counter(NAMESPACE, "frames_recognised")
RECOGNITION_MS = Metrics.distribution(NAMESPACE, "recognition_ms")
WATCHLIST_LOOKUPS = Metrics.counter(NAMESPACE, "watchlist_lookups")
WATCHLIST_CACHE_HITS = Metrics.counter(NAMESPACE, "watchlist_cache_hits")
HITS = Metrics.counter(NAMESPACE, "hits")
DISPATCHES = Metrics.counter(NAMESPACE, "dispatches")
DEAD_LETTERS = "dead_letters_"

# Stages whose dead letters all have one cause; the parse stages say which rule a line broke.
_STAGE_CLASSES = {"recognise": "unusable_image", "deduplicate": "duplicate",
                  "incident_deduplicate": "duplicate", "outcome_follow": "conflicting_outcome"}
# A whole line's problem (the reason names no field), by how the reason starts.
_LINE_CLASSES = (("empty line", "empty_line"), ("line longer than", "line_too_long"),
                 ("not valid UTF-8", "bad_encoding"), ("not valid JSON", "bad_json"),
                 ("not a JSON object", "bad_json"), ("neither plate nor image", "no_plate_or_image"))
# A field's problem ("<field>: <problem>"), by how the problem starts; any other is a bad value:
# mistyped, out of range, not one of the choices, not a timestamp.
_FIELD_CLASSES = (("missing", "missing_field"), ("empty", "missing_field"),
                  ("required for", "missing_field"), ("give both or neither", "missing_field"),
                  ("unknown camera", "unknown_camera"), ("not in the responder roster", "unknown_responder"),
                  ("not a licence plate", "not_a_plate"), ("too far in the future", "future_time"),
                  ("late,", "late"), ("not valid Unicode", "bad_encoding"))


def reason_class(stage: str, reason: str) -> str:
    """The stable class of a dead letter's reason, as its counter names it."""
    if stage in _STAGE_CLASSES:
        return _STAGE_CLASSES[stage]
    for start, label in _LINE_CLASSES:
        if reason.startswith(start):
            return label
    _, _, problem = reason.partition(": ")
    for start, label in _FIELD_CLASSES:
        if problem.startswith(start):
            return label
    return "bad_value"


@cache
def _dead_letter_counter(label: str):
    return Metrics.counter(NAMESPACE, DEAD_LETTERS + label)


def counted(letter: DeadLetter) -> DeadLetter:
    """The dead letter, counted under its reason class (dead letters are few: one update each)."""
    _dead_letter_counter(reason_class(letter.stage, letter.reason)).inc()
    return letter
