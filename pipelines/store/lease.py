"""One writer per s3:// output: a lease object guarded by the store's conditional writes.

An flock reaches no further than one kernel, and an object store has no locks. The
lease is one object, created only where none exists (PUT If-None-Match: *), so of two
writers starting at once exactly one creates it. Its holder renews it every third of
its term with PUT If-Match on the ETag it wrote last. A lease left unrenewed for its
term belongs to a writer that crashed or hangs: the next writer takes it over with
PUT If-Match on that stale ETag, so of two writers taking over at once exactly one
succeeds, and a writer that hung learns at its next renewal that it lost the lease.

The term is judged by the store's clock (the lease's Last-Modified against the Date of
the reply), never by the writers' clocks, which may disagree across hosts; and by the
holder's own term, written in the lease, so that a writer given a shorter term cannot
take over early. Every body carries a fresh token: the ETag is the body's MD5, and two
equal bodies would share an ETag and let a stale If-Match through.
"""
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple

from pipelines.errors import ObjectStoreError, OutputBusy, RunFailed
from pipelines.store.object_store import not_found, precondition_failed, refusal
from pipelines.store.output_folder import describe_holder

CLOCK_GRAIN_S = 1.0


class LeaseLost(RunFailed):
    """Another writer took the lease over: this run must publish nothing."""


class _Seen(NamedTuple):
    """The lease as another writer finds it."""
    holder: dict
    etag: str
    age_s: float  # since its last renewal, by the store's clock

    @property
    def expired(self) -> bool:
        """Unrenewed for longer than its holder's term, by a margin: HTTP dates count whole
        seconds, so an age read from two of them can be almost a second too long."""
        return self.age_s > float(self.holder.get("term_s", 0)) + CLOCK_GRAIN_S


class Lease:
    """The lease on one output: taken, kept renewed by a heartbeat thread, then released."""

    def __init__(self, client, bucket: str, key: str, term_s: float, holder: dict, output: str):
        self._client, self._bucket, self._key = client, bucket, key
        self._term_s = term_s
        self._holder = {**holder, "term_s": term_s}
        self._output = output
        self._etag = ""
        self._renewed_at = 0.0  # time.monotonic() of the last renewal the store accepted
        self._lost: str | None = None
        self._guard = threading.Lock()  # the heartbeat and publish() both renew
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def acquire(self) -> str | None:
        """Take the lease, or raise OutputBusy naming its holder.

        Returns a line saying whose expired lease was taken over, if one was.
        """
        for _ in range(3):
            if self._put(IfNoneMatch="*"):
                return None
            seen = self._read()
            if seen is None:
                continue  # released between the two requests
            if not seen.expired:
                raise OutputBusy(
                    f"{self._output} is being written by another roadchief process ({describe_holder(seen.holder)}; "
                    f"lease renewed {seen.age_s:.0f} s ago, taken over if not renewed for "
                    f"{float(seen.holder.get('term_s', 0)):.0f} s); wait for it to finish or write elsewhere")
            if self._put(IfMatch=seen.etag):
                return (f"took over the lease of {describe_holder(seen.holder)}: not renewed for {seen.age_s:.0f} s, "
                        f"its writer stopped")
        raise OutputBusy(f"{self._output}: other writers keep taking the lease; wait for them to finish")

    def keep_renewed(self) -> None:
        """Renew the lease every third of its term until released."""
        self._heartbeat = threading.Thread(target=self._beat, name="roadchief-lease", daemon=True)
        self._heartbeat.start()

    def confirm(self) -> None:
        """Renew now, or raise LeaseLost: called just before publishing, so that a writer
        that lost its lease while it hung publishes nothing."""
        with self._guard:
            if self._lost is None:
                try:
                    if not self._put(IfMatch=self._etag):
                        self._lost = "another writer took it over"
                except ObjectStoreError as failure:
                    if time.monotonic() - self._renewed_at > self._term_s:
                        self._lost = f"it could not be renewed for its term ({failure})"
            if self._lost:
                raise LeaseLost(f"this run lost its lease on {self._output} ({self._lost}); it publishes nothing")

    def release(self) -> None:
        """Stop renewing and delete the lease, unless another writer has taken it over."""
        self._stop.set()
        if self._heartbeat:
            self._heartbeat.join()
        with self._guard:
            if self._lost:
                return
            try:
                self._client.delete_object(Bucket=self._bucket, Key=self._key, IfMatch=self._etag)
            except Exception:  # noqa: BLE001 - an undeleted lease expires after its term
                pass

    def _beat(self) -> None:
        while not self._stop.wait(self._term_s / 3):
            try:
                self.confirm()
            except LeaseLost:
                return

    def _put(self, **condition) -> bool:
        """Write the lease under `condition`; False if the store says it no longer holds."""
        body = {**self._holder, "renewed": datetime.now(UTC).isoformat(timespec="seconds"),
                "token": uuid.uuid4().hex}
        try:
            reply = self._client.put_object(Bucket=self._bucket, Key=self._key, Body=json.dumps(body).encode(),
                                            ContentType="application/json", **condition)
        except Exception as failure:  # noqa: BLE001 - every refusal is told apart below
            if precondition_failed(failure):
                return False
            raise ObjectStoreError(f"{self._output}: the lease could not be written: {refusal(failure)}") from None
        self._etag = reply["ETag"]
        self._renewed_at = time.monotonic()
        return True

    def _read(self) -> _Seen | None:
        try:
            reply = self._client.get_object(Bucket=self._bucket, Key=self._key)
        except Exception as failure:  # noqa: BLE001
            if not_found(failure):
                return None
            raise ObjectStoreError(f"{self._output}: the lease could not be read: {refusal(failure)}") from None
        now = parsedate_to_datetime(reply["ResponseMetadata"]["HTTPHeaders"]["date"])
        try:
            holder = json.loads(reply["Body"].read())
        except ValueError:
            holder = {}
        return _Seen(holder if isinstance(holder, dict) else {}, reply["ETag"],
                     (now - reply["LastModified"]).total_seconds())
