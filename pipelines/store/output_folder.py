"""One writer per output folder, and readers that see one whole run: the old or the new.

A run writes its tables into a version folder of its own and, once every
table is complete, switches one pointer to it. The switch is a single
rename of a symbolic link, which is atomic: a reader that follows the
pointer sees every table of one run, never the new passings beside the old
dispatches. The version that was current before stays until the next
switch, so a reader that resolved it a moment earlier can finish.

    <output>/.roadchief.lock           who is writing (held with flock while a run or purge writes)
    <output>/.versions/<id>/           one run's tables and reconciliation.json
    <output>/.versions/<id>/PUBLISHED  written just before the switch
    <output>/current -> .versions/<id> the pointer
    <output>/<table> -> current/<table>, <output>/reconciliation.json -> current/…
                                       fixed links, so `<output>/passings/*.parquet` still reads

The lock is an flock on an open file: the kernel drops it when its process
dies however it dies, so a crash never leaves a stale lock behind. A version
that is not current and was never published (no PUBLISHED marker) was left by a
run that was killed; the next writer removes it and says so.
"""
import fcntl
import json
import os
import shutil
import socket
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.errors import OutputBusy

if TYPE_CHECKING:
    import duckdb

LOCK = ".roadchief.lock"
VERSIONS = ".versions"
CURRENT = "current"
PUBLISHED = "PUBLISHED"
RECONCILIATION = "reconciliation.json"
LEGACY_STAGING = ".staging"


def tables_root(folder: str | Path) -> Path:
    """Where a reader finds the tables of `folder`: its current version, resolved once.

    A folder that was never published through a pointer (tables written by
    hand or by an older release) is read as it is.
    """
    folder = Path(folder)
    pointer = folder / CURRENT
    return pointer.resolve() if pointer.is_symlink() else folder


class OutputFolder:
    """The output folder of runs: its lock, its versions and its pointer."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.location = str(self.path)
        self._versions = self.path / VERSIONS

    @contextmanager
    def writer(self, command: str) -> Iterator["OutputFolder"]:
        """Hold the folder's lock for the whole block; OutputBusy names the holder if taken."""
        self.path.mkdir(parents=True, exist_ok=True)
        handle = open(self.path / LOCK, "a+", encoding="utf-8")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                raise OutputBusy(f"{self.path} is being written by another roadchief process "
                                 f"({_holder(handle.read())}); wait for it to finish or write "
                                 f"elsewhere") from None
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                     "started": datetime.now(UTC).isoformat(timespec="seconds"),
                                     "command": command[:300]}) + "\n")
            handle.flush()
            yield self
        finally:
            handle.close()  # releases the lock

    def clean_leftovers(self) -> list[str]:
        """Remove what killed runs left behind; one line for each thing removed."""
        removed = []
        legacy = self.path / LEGACY_STAGING
        if legacy.exists():
            shutil.rmtree(legacy, ignore_errors=True)
            removed.append(f"removed {legacy}, left by a run that stopped before publishing")
        keep = self._kept()
        for version in self._all_versions():
            if version.name not in keep and not (version / PUBLISHED).exists():
                stopped = datetime.fromtimestamp(version.stat().st_mtime, UTC)
                shutil.rmtree(version, ignore_errors=True)
                removed.append(f"removed the unfinished tables of run {version.name} "
                               f"(stopped before publishing, last written {stopped:%Y-%m-%d %H:%M:%S} UTC)")
        return removed

    def new_version(self) -> Path:
        """An empty folder for one run's tables, named so that versions sort by start time."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        version = self._versions / f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        version.mkdir(parents=True)
        return version

    def write_text(self, version: Path, name: str, text: str) -> None:
        (version / name).write_text(text)

    def discard(self, version: Path) -> None:
        shutil.rmtree(version, ignore_errors=True)

    def publish(self, version: Path, tables: list[str]) -> None:
        """Make `version` current in one atomic switch; keep the one it replaces, drop older ones."""
        (version / PUBLISHED).write_text(datetime.now(UTC).isoformat() + "\n")
        for name in tables:
            (version / name).mkdir(exist_ok=True)
        previous = self.current()
        pointer = self.path / CURRENT
        swap = self.path / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
        os.symlink(os.path.relpath(version, self.path), swap)
        os.replace(swap, pointer)
        _fsync_dir(self.path)
        for name in [*tables, RECONCILIATION]:
            self._link(name)
        keep = {version.name} | ({previous.name} if previous else set())
        for old in self._all_versions():
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)

    def drop_earlier_versions(self) -> None:
        """Remove every version but the current one."""
        keep = self._kept()
        for old in self._all_versions():
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)

    def current(self) -> Path | None:
        pointer = self.path / CURRENT
        return pointer.resolve() if pointer.is_symlink() else None

    def connect(self, version: Path | None = None) -> "duckdb.DuckDBPyConnection":
        """DuckDB views over `version`'s tables, or else the current version's."""
        from pipelines.analysis.tables import connect  # pipelines.analysis.tables resolves the pointer with tables_root
        return connect(version or self.path)

    def _link(self, name: str) -> None:
        """`<output>/<name>` → `current/<name>`, replacing a table folder of an older layout."""
        link = self.path / name
        target = os.path.join(CURRENT, name)
        if link.is_symlink() and os.readlink(link) == target:
            return
        if link.is_dir() and not link.is_symlink():
            shutil.rmtree(link)
        swap = self.path / f".{name}.{uuid.uuid4().hex[:8]}"
        os.symlink(target, swap)
        os.replace(swap, link)

    def _kept(self) -> set[str]:
        pointer = self.path / CURRENT
        return {Path(os.readlink(pointer)).name} if pointer.is_symlink() else set()

    def _all_versions(self) -> list[Path]:
        return sorted(p for p in self._versions.iterdir() if p.is_dir()) if self._versions.is_dir() else []


def _holder(text: str) -> str:
    try:
        return describe_holder(json.loads(text))
    except ValueError:
        return "holder unknown"


def describe_holder(who: dict) -> str:
    """Who is writing an output, for the message that refuses a second writer."""
    try:
        return f"pid {who['pid']} on {who['host']}, started {who['started']}: {who['command']}"
    except (KeyError, TypeError):
        return "holder unknown"


def _fsync_dir(folder: Path) -> None:
    """Make the switch survive a power cut, not only a crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def command_line() -> str:
    return " ".join(["roadchief", *sys.argv[1:]]) if sys.argv else "roadchief"
