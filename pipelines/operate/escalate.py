"""Acknowledgements and escalation up the chief chain, beside the pipeline.

A dispatch names its road manager first. If nobody acknowledges it in time
(`roadchief ack DISPATCH_ID` appends to the acks stream), the command centre
must go up the chain: after `ack_within_s` the 三级路长, after twice that the
二级路长, and so on to 总路长, each step appended to the escalations stream
and printed (streams and sets named in `transforms.redis_contract`).

This runs on the wall clock: "not acknowledged within two minutes" is a
question of processing time. Keeping it out of the Beam graph keeps
processing-time timers out of the core pipeline (and off the local runners,
which cannot run them beside an unbounded source); the escalator is a small
loop over Redis that tests drive with their own clock. Its state is rebuilt
from the two streams on start, with each dispatch's time taken from its
stream entry id, and each escalation step is recorded in a set before it is
appended, so a restarted escalator escalates nothing twice.
"""
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

import redis

from pipelines.operate import show_at_once
from transforms.redis_contract import (
    ACKS_STREAM,
    APPEND_ONCE,
    DISPATCHES_STREAM,
    ESCALATIONS_STREAM,
    SENT_ESCALATIONS,
    connect,
    entry_time_s,
    read_streams,
)

BATCH = 1000


class Escalation(NamedTuple):
    dispatch_id: str
    plate: str
    level: int  # index in the chief chain: 1 is the chief above the road manager
    title: str
    name: str
    phone: str
    waited_s: float

    def line(self) -> str:
        return (f"ESCALATED {self.dispatch_id} {self.plate}: no acknowledgement after "
                f"{self.waited_s / 60:.1f} min -> {self.title} {self.name} {self.phone}")


class _Pending(NamedTuple):
    plate: str
    issued_s: float
    chain: list


def ack(url: str, dispatch_id: str, responder_id: str = "") -> str:
    """Record an acknowledgement; returns its stream entry id.

    Only a dispatch that was published can be acknowledged, and only by someone it
    names (a responder, a chief of its chain, or a responder sent to one of its
    interception points) or by nobody in particular: an
    officer who mistypes an id must hear so at once, not believe the dispatch
    acknowledged while the real one escalates. ValueError otherwise.
    """
    client = connect(url, decode_responses=True)
    try:
        named = _people_named(client, dispatch_id)
        if named is None:
            raise ValueError(f"{dispatch_id}: no such dispatch in {DISPATCHES_STREAM}")
        if responder_id and responder_id not in named:
            raise ValueError(f"{responder_id} is not among the responders and chiefs of {dispatch_id} "
                             f"({', '.join(sorted(named)) or 'it names nobody'})")
        # the client decodes responses, so the id is a str; redis-py types it for either decoding
        return client.xadd(ACKS_STREAM, {"dispatch_id": dispatch_id, "responder_id": responder_id,  # type: ignore[return-value]
                                         "at": datetime.now(UTC).isoformat(timespec="seconds")})
    finally:
        client.close()


def _people_named(client: redis.Redis, dispatch_id: str) -> set[str] | None:
    """The responder, chief and interception-point responder ids that any version of the
    dispatch names; None if it was never published."""
    named, found, after = set(), False, "-"
    while True:
        # the client decodes responses; redis-py types XRANGE's reply for every protocol and decoding
        entries: list[tuple[str, dict[str, str]]] = client.xrange(  # type: ignore[assignment]
            DISPATCHES_STREAM, min=after, count=BATCH)
        for _, fields in entries:
            if fields["dispatch_id"] == dispatch_id:
                found = True
                named |= {responder["responder_id"] for responder in json.loads(fields.get("responders") or "[]")}
                named |= {chief["chief_id"] for chief in json.loads(fields.get("chief_chain") or "[]")}
                named |= {responder["responder_id"] for stop in json.loads(fields.get("intercepts") or "[]")
                          for responder in stop["responders"]}
        if len(entries) < BATCH:
            return named if found else None
        after = f"({entries[-1][0]}"


class Escalator:
    """Follows dispatches and acknowledgements; escalates what waits too long."""

    def __init__(self, url: str, ack_within_s: float = 120.0, clock: Callable[[], float] = time.time):
        self._client = connect(url, timeout_s=None, decode_responses=True)  # step() blocks as asked
        self._escalate_once = self._client.register_script(APPEND_ONCE)
        self._ack_within_s = ack_within_s
        self._clock = clock
        self._last = {DISPATCHES_STREAM: "0", ACKS_STREAM: "0"}
        self._pending: dict[str, _Pending] = {}
        self._acked: set[str] = set()

    def step(self, block_ms: int = 0) -> list[Escalation]:
        """Read what arrived on both streams, then escalate whatever is overdue."""
        for stream, entries in read_streams(self._client, self._last, count=1000, block_ms=block_ms or None):
            for entry_id, fields in entries:
                self._last[stream] = entry_id
                if stream == ACKS_STREAM:
                    self._acked.add(fields["dispatch_id"])
                    self._pending.pop(fields["dispatch_id"], None)
                elif fields["dispatch_id"] not in self._acked:
                    self._pending.setdefault(fields["dispatch_id"], _Pending(
                        fields["plate"], entry_time_s(entry_id), json.loads(fields.get("chief_chain") or "[]")))
        return self._escalate()

    def _escalate(self) -> list[Escalation]:
        now, sent, finished = self._clock(), [], []
        for dispatch_id, pending in self._pending.items():
            waited = now - pending.issued_s
            due_level = min(int(waited // self._ack_within_s), len(pending.chain) - 1)
            if due_level == len(pending.chain) - 1:
                finished.append(dispatch_id)  # up to 总路长 (or no chain): nobody left to call
            for level in range(1, due_level + 1):
                chief = pending.chain[level]
                escalation = Escalation(dispatch_id, pending.plate, level, chief["title"], chief["name"],
                                        chief["phone"], round(waited, 1))
                fields = [part for pair in escalation._asdict().items() for part in (pair[0], str(pair[1]))]
                if self._escalate_once(keys=[SENT_ESCALATIONS, ESCALATIONS_STREAM],
                                       args=[f"{dispatch_id}:{level}", *fields]):
                    sent.append(escalation)
        for dispatch_id in finished:
            del self._pending[dispatch_id]
        return sent

    def close(self):
        self._client.close()


def escalate(url: str, ack_within_s: float, show: Callable[[str], None] = show_at_once) -> int:
    """Run the escalator until interrupted."""
    escalator = Escalator(url, ack_within_s)
    try:
        while True:
            for escalation in escalator.step(block_ms=1000):
                show(escalation.line())
    except KeyboardInterrupt:
        return 0
    finally:
        escalator.close()
