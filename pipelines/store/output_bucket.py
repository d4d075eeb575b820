"""An s3:// output: the object-store counterpart of `pipelines.store.output_folder`.

TaskManagers on other hosts cannot write to one local disk, so a cluster's runs write
their tables to an S3-compatible store, with the folder's promises where the store can
keep them:

    <prefix>/.roadchief.lease            who is writing (`pipelines.store.lease`)
    <prefix>/.versions/<id>/<table>/…    one run's tables and reconciliation.json
    <prefix>/.versions/<id>/PUBLISHED    written just before the switch
    <prefix>/_current.json               the pointer: {"version": "<id>", …}

A store has no symbolic links and no rename, but it replaces one object whole: the
pointer is one small PUT, so a reader that reads it sees every table of one run, the
old or the new, never a mix. The PUT is made just after the lease was renewed, and only
if the pointer is still the one this run found when it took the lease (If-Match on its
ETag): a writer that lost its lease unawares still cannot publish over another's run.
The version that was current before stays until the next switch; older ones go. A
version neither current nor PUBLISHED was left by a killed run: the next writer
removes its objects, and aborts its unfinished multipart uploads, and says so.

There are no fixed `<prefix>/<table>` links: read through the pointer
(`pipelines.analysis.tables.connect`, `roadchief query --tables s3://…`).
"""
import json
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import duckdb
from pyarrow.fs import FileSystem

from pipelines.errors import ObjectStoreError, RunFailed
from pipelines.store.lease import Lease
from pipelines.store.object_store import ObjectStore, S3Location, not_found, precondition_failed, refusal

LEASE = ".roadchief.lease"
VERSIONS = ".versions"
POINTER = "_current.json"
PUBLISHED = "PUBLISHED"
LEASE_S = 60.0


class OutputBucket:
    """The s3:// output of runs: its lease, its versions and its pointer."""

    def __init__(self, location: str, store: ObjectStore | None = None, lease_s: float = LEASE_S):
        self.location = location.rstrip("/")
        self._where = S3Location.parse(self.location)
        self._store = store or ObjectStore.from_environment()
        self._client = self._store.client()
        self._lease_s = lease_s
        self._lease: Lease | None = None
        self._taken_over: str | None = None
        self._found: tuple[str | None, str | None] = (None, None)  # the pointer when the lease was taken

    @contextmanager
    def writer(self, command: str) -> Iterator["OutputBucket"]:
        """Hold the output's lease for the whole block; OutputBusy names the holder if taken."""
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": datetime.now(UTC).isoformat(timespec="seconds"), "command": command[:300]}
        lease = Lease(self._client, self._where.bucket, self._where.key(LEASE), self._lease_s, holder,
                      self.location)
        self._taken_over = lease.acquire()
        lease.keep_renewed()
        self._lease = lease
        self._found = self._pointer()
        try:
            yield self
        finally:
            self._lease = None
            lease.release()

    def clean_leftovers(self) -> list[str]:
        """Remove what killed runs left behind; one line for each thing removed."""
        removed = [self._taken_over] if self._taken_over else []
        current = self.current()
        for version, objects in self._versions().items():
            if version != current and self._where.key(VERSIONS, version, PUBLISHED) not in objects:
                stopped = max(objects.values())
                self._remove(version, objects)
                removed.append(f"removed the unfinished tables of run {version} (stopped before publishing, "
                               f"last written {stopped:%Y-%m-%d %H:%M:%S} UTC)")
        return removed

    def new_version(self) -> str:
        """Where one run writes its tables, named so that versions sort by start time."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        return self._where.url(VERSIONS, f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:6]}")

    def write_text(self, version: str, name: str, text: str) -> None:
        self._put(f"{self._key_of(version)}/{name}", text)

    def discard(self, version: str) -> None:
        self._remove(_name(version), dict(self._listing(self._key_of(version) + "/")))

    def publish(self, version: str, tables: list[str]) -> None:
        """Make `version` current with one PUT; keep the one it replaces, drop older ones.

        Tables without files need nothing: a reader finds them empty.
        """
        if self._lease is None:
            raise RunFailed(f"{self.location}: publish outside writer()")
        self._lease.confirm()
        name = _name(version)
        self._put(self._where.key(VERSIONS, name, PUBLISHED), datetime.now(UTC).isoformat() + "\n")
        previous, etag = self._found
        pointer = {"version": name, "published": datetime.now(UTC).isoformat(timespec="seconds"),
                   "tables": tables}
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            self._found = (name, self._put(self._where.key(POINTER), json.dumps(pointer) + "\n", **condition))
        except _Refused:
            raise RunFailed(f"{self.location}: another writer published after this run took the lease; "
                            f"this run published nothing") from None
        keep = {name, previous}
        for old, objects in self._versions().items():
            if old not in keep:
                self._remove(old, objects)

    def current(self) -> str | None:
        """The current version's name, or None if no run was published here."""
        return self._pointer()[0]

    def connect(self, version: str | None = None) -> duckdb.DuckDBPyConnection:
        """DuckDB views over `version`'s tables, or else the current version's, resolved once.

        An output never published through the pointer is read as it is.
        """
        from pipelines.analysis.tables import views  # pipelines.analysis.tables reads s3:// outputs through this class
        return views(self.table_files(version), self.filesystem())

    def table_files(self, version: str | None = None) -> dict[str, list[str]]:
        """Each table's Parquet objects in `version`, or else in the current version
        (resolved once), as `bucket/key` paths on `filesystem()`."""
        if version is None:
            current = self.current()
            root = self._where.key(VERSIONS, current) if current else self._where.key()
        else:
            root = self._key_of(version)
        keys = [key for key, _ in self._listing(root + "/" if root else "")]
        if version is None and not keys:
            raise ValueError(f"--tables: there is nothing under {self.location}")
        files = defaultdict(list)
        for key in keys:
            table, _, file = key[len(root):].lstrip("/").partition("/")
            if file.endswith(".parquet") and "/" not in file:
                files[table].append(f"{self._where.bucket}/{key}")
        return files

    def filesystem(self) -> FileSystem:
        """The store as pyarrow reaches it, to read `table_files` back."""
        return self._store.filesystem()

    def _key_of(self, version: str) -> str:
        return S3Location.parse(version).prefix

    def _pointer(self) -> tuple[str | None, str | None]:
        """The current version's name and the pointer's ETag; (None, None) before the first publish."""
        try:
            reply = self._client.get_object(Bucket=self._where.bucket, Key=self._where.key(POINTER))
            return json.loads(reply["Body"].read())["version"], reply["ETag"]
        except Exception as failure:  # noqa: BLE001 - told apart here
            if not_found(failure):
                return None, None
            if isinstance(failure, (ValueError, KeyError, TypeError)):
                raise ObjectStoreError(f"{self.location}/{POINTER} is not a roadchief pointer") from None
            raise ObjectStoreError(f"{self.location}: {refusal(failure)}") from None

    def _versions(self) -> dict[str, dict[str, datetime]]:
        """Each version's objects, with when each was last written."""
        versions: dict[str, dict[str, datetime]] = defaultdict(dict)
        base = self._where.key(VERSIONS) + "/"
        for key, modified in self._listing(base):
            versions[key[len(base):].partition("/")[0]][key] = modified
        return versions

    def _remove(self, version: str, objects: dict[str, datetime]) -> None:
        """Delete a version's objects and abort its unfinished multipart uploads."""
        keys = list(objects)
        try:
            for start in range(0, len(keys), 1000):
                self._client.delete_objects(Bucket=self._where.bucket, Delete={
                    "Objects": [{"Key": key} for key in keys[start:start + 1000]], "Quiet": True})
            prefix = self._where.key(VERSIONS, version) + "/"
            for page in self._client.get_paginator("list_multipart_uploads").paginate(
                    Bucket=self._where.bucket, Prefix=prefix):
                for upload in page.get("Uploads", []):
                    self._client.abort_multipart_upload(Bucket=self._where.bucket, Key=upload["Key"],
                                                        UploadId=upload["UploadId"])
        except Exception as failure:  # noqa: BLE001
            raise ObjectStoreError(f"{self.location}: could not remove run {version}: {refusal(failure)}") from None

    def _listing(self, prefix: str) -> list[tuple[str, datetime]]:
        try:
            return [(item["Key"], item["LastModified"])
                    for page in self._client.get_paginator("list_objects_v2").paginate(
                        Bucket=self._where.bucket, Prefix=prefix)
                    for item in page.get("Contents", [])]
        except Exception as failure:  # noqa: BLE001
            raise ObjectStoreError(f"{self.location}: {refusal(failure)}") from None

    def _put(self, key: str, text: str, **condition) -> str:
        """Write one object whole; its ETag."""
        try:
            reply = self._client.put_object(Bucket=self._where.bucket, Key=key, Body=text.encode(), **condition)
            return reply["ETag"]
        except Exception as failure:  # noqa: BLE001
            if precondition_failed(failure):
                raise _Refused() from None
            raise ObjectStoreError(f"{self.location}: could not write {key}: {refusal(failure)}") from None


class _Refused(Exception):
    """A conditional PUT whose condition no longer held."""


def _name(version: str) -> str:
    return version.rstrip("/").rsplit("/", 1)[-1]


def output_problem(location: str, store: ObjectStore) -> str | None:
    """Why runs cannot write to `location`, found by writing and deleting a probe object.

    The probe is written twice with If-None-Match: a store that accepts the second write
    ignores conditions, and on it two writers could both hold the lease.
    """
    try:
        where = S3Location.parse(location)
        client = store.client(timeout_s=10.0)
    except ObjectStoreError as bad:
        return str(bad)
    probe = where.key(f".roadchief-probe-{uuid.uuid4().hex}")
    try:
        client.put_object(Bucket=where.bucket, Key=probe, Body=b"", IfNoneMatch="*")
    except Exception as failure:  # noqa: BLE001
        return f"cannot write to {location} ({refusal(failure)})"
    try:
        client.put_object(Bucket=where.bucket, Key=probe, Body=b"", IfNoneMatch="*")
        ignored = True
    except Exception as failure:  # noqa: BLE001
        ignored = not precondition_failed(failure)
    try:
        client.delete_object(Bucket=where.bucket, Key=probe)
    except Exception as failure:  # noqa: BLE001
        return f"cannot delete from {location} ({refusal(failure)}); runs remove old versions"
    if ignored:
        return (f"the store behind {location} ignores conditional writes (If-None-Match), "
                f"so it cannot keep two writers apart")
    return None
