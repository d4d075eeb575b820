"""Who looked at what, and why: an append-only, hash-chained audit log.

Every query of the output tables and every watchlist change is one JSON line:

    {seq, at, user, action, reason, detail, prev_hash, hash}

A query's detail says what left: its SQL, the rows written (or returned and shown on
a terminal), and a file's path, size and SHA-256. A deployment has one log, found
the same from any folder (`log_home`): --audit_log, $ROADCHIEF_AUDIT_LOG, or else
`.audit/audit.jsonl` in the tables folder.

`hash` is the SHA-256 of the entry's canonical JSON without `hash`, and
`prev_hash` is the hash of the entry before it (64 zeros for the first), so
editing, removing, reordering or inserting an entry breaks the chain at that
entry and `verify` names it.

What the chain cannot show on its own (docs/threat-model.md):
- removal of the *last* entries: the shorter file is still a valid chain;
- a rewrite of every entry from some point on, hashes recomputed: the hash
  has no secret, so anyone who can write the file can do it.
Both are caught by an anchor: the head hash (`verify(...).head`) recorded
somewhere the writer of the log cannot change, and passed back as
`verify(path, expected_head=...)`.

Appends from several processes are serialised with an exclusive flock, and
each entry is one write() on an O_APPEND descriptor followed by fsync.
"""
import fcntl
import hashlib
import json
import os
import pwd
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple, Optional
from zoneinfo import ZoneInfo

GENESIS = "0" * 64
ENV = "ROADCHIEF_AUDIT_LOG"
BESIDE_TABLES = Path(".audit") / "audit.jsonl"
FIELDS = frozenset({"seq", "at", "user", "action", "reason", "detail", "prev_hash", "hash"})
_TAIL_BLOCK = 4096


class VerifyResult(NamedTuple):
    ok: bool
    entries: int            # entries that verified before the first problem
    problem: Optional[str]  # which line, and what is wrong with it
    head: Optional[str]     # hash of the last good entry: record it elsewhere as an anchor


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def _entry_hash(entry: dict) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def _last_line(fd: int) -> bytes:
    """The file's last line with its newline, read backwards; b"" if empty."""
    position = os.lseek(fd, 0, os.SEEK_END)
    tail = b""
    while position > 0:
        step = min(_TAIL_BLOCK, position)
        position -= step
        tail = os.pread(fd, step, position) + tail
        cut = tail.rfind(b"\n", 0, len(tail) - 1)
        if cut >= 0:
            return tail[cut + 1:]
    return tail


def os_user() -> str:
    """The account of the process's real uid.

    Not getpass.getuser(): that reads $LOGNAME and $USER first, which anyone
    can set to someone else's name.
    """
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # containers often run uids without a passwd entry
        return f"uid {os.getuid()}"


def _require_reason(reason: str) -> None:
    if not reason or not reason.strip():
        raise ValueError("a reason is required")


class AuditLog:
    """Appends entries to the JSON Lines file at `path`, created 0600 if absent."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def ready(self) -> None:
        """Create the log, and its folder, if absent: nothing is read that could not be logged."""
        if not self.path.parent.parent.is_dir():
            raise ValueError(f"audit log {self.path}: the folder {self.path.parent.parent} does not exist")
        self.path.parent.mkdir(mode=0o700, exist_ok=True)
        os.close(os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600))

    def append(self, user: str, action: str, reason: str, detail: dict) -> dict:
        """Write one entry chained to the current last one, and return it."""
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            last = _last_line(fd)
            if last and not last.endswith(b"\n"):
                raise ValueError(f"audit log {self.path} ends in a cut-off entry; "
                                 f"run verify before appending")
            previous: dict[str, Any] = json.loads(last) if last else {"seq": 0, "hash": GENESIS}
            entry = {"seq": previous["seq"] + 1,
                     "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                     "user": user, "action": action, "reason": reason, "detail": detail,
                     "prev_hash": previous["hash"]}
            entry["hash"] = _entry_hash(entry)
            os.write(fd, _canonical(entry) + b"\n")
            os.fsync(fd)
            return entry
        finally:
            os.close(fd)  # closing releases the lock


def log_home(tables: Optional[str], configured: Optional[str]) -> Path:
    """The deployment's one audit log, wherever the command runs from: `configured`
    (--audit_log), else $ROADCHIEF_AUDIT_LOG, else `.audit/audit.jsonl` in the tables folder."""
    from pipelines.store.object_store import is_s3  # with boto3 and Beam: only where a log is looked for
    configured = configured or os.environ.get(ENV)
    if configured:
        return Path(configured)
    if tables is None:
        raise ValueError(f"--audit_log: name the deployment's audit log, or set ${ENV}")
    if is_s3(tables):
        raise ValueError(f"--audit_log: an s3:// output has no folder for the audit log; "
                         f"name one with --audit_log or ${ENV}")
    if not Path(tables).is_dir():
        raise ValueError(f"--tables: {tables} is not a folder")
    return Path(tables) / BESIDE_TABLES


def entries(path: str | Path, *, user: Optional[str] = None, reason: Optional[str] = None,
            since: Optional[date] = None, until: Optional[date] = None) -> list[dict]:
    """The log's entries by `user`, with `reason` in their reason (any case), made
    from `since` to `until` (UTC days, both included)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no audit log at {path}")
    found = []
    with path.open("rb") as handle:
        for raw in handle:
            try:
                entry = json.loads(raw)
                day = date.fromisoformat(entry["at"][:10])
            except (ValueError, TypeError, KeyError):
                continue  # verify names the broken line
            if ((user is None or entry.get("user") == user)
                    and (reason is None or reason.casefold() in str(entry.get("reason")).casefold())
                    and (since is None or day >= since) and (until is None or day <= until)):
                found.append(entry)
    return found


def _problem(raw: bytes, line: int, prev_hash: str) -> Optional[str]:
    """What is wrong with one line of the log, given the hash before it; None if nothing."""
    if not raw.endswith(b"\n"):
        return "cut off (no newline): the write did not finish or the file was truncated"
    try:
        entry = json.loads(raw)
    except ValueError:
        return "not JSON"
    if not isinstance(entry, dict) or set(entry) != FIELDS:
        return f"not an audit entry (fields must be {', '.join(sorted(FIELDS))})"
    if entry["hash"] != _entry_hash(entry):
        return f"entry seq {entry['seq']} was edited: its hash does not match its content"
    if entry["seq"] != line:
        return (f"entry seq {entry['seq']} where seq {line} belongs: "
                f"entries were removed, reordered or inserted")
    if entry["prev_hash"] != prev_hash:
        return f"entry seq {line} does not chain to the entry before it (prev_hash differs)"
    return None


def verify(path: str | Path, expected_head: Optional[str] = None) -> VerifyResult:
    """Check the whole chain; with `expected_head`, also that it still holds that entry.

    `expected_head` is a head hash recorded earlier: the log may have grown
    since, but an entry with that hash must still be in it, otherwise the tail
    was cut off or the log was rewritten.
    """
    path = Path(path)
    if not path.is_file():
        return VerifyResult(False, 0, f"no audit log at {path}", None)
    head, entries, anchored = GENESIS, 0, expected_head is None
    with path.open("rb") as handle:
        for raw in handle:
            problem = _problem(raw, entries + 1, head)
            if problem:
                return VerifyResult(False, entries, f"line {entries + 1}: {problem}", head)
            head = json.loads(raw)["hash"]
            entries += 1
            anchored = anchored or head == expected_head
    if not anchored:
        return VerifyResult(False, entries, f"the expected head {expected_head} is not in the log: "
                            f"its last entries were removed or it was rewritten", head)
    return VerifyResult(True, entries, None, head)


@contextmanager
def audited_access(log_path: str | Path, sql: str, *, reason: str,
                   user: Optional[str] = None) -> Iterator[dict]:
    """Log one query when the block ends: who ran it, why, and what the block put in
    the yielded detail (rows, and where they went).

    A query that fails is logged too, with its error: an attempt is access.
    """
    _require_reason(reason)
    import duckdb  # with Beam (via pipelines.analysis.tables), loaded only where queries run
    log, user = AuditLog(log_path), user or os_user()
    log.ready()
    detail: dict[str, Any] = {"sql": sql}
    try:
        yield detail
    except (duckdb.Error, ValueError, OSError) as problem:
        log.append(user, "query", reason, {**detail, "error": str(problem)})
        raise
    log.append(user, "query", reason, detail)


def audited_query(tables_dir: str | Path, sql: str, *, reason: str, log_path: str | Path,
                  zone: Optional[ZoneInfo] = None, user: Optional[str] = None) -> tuple[list[tuple], list[str]]:
    """Run SQL over the output tables, sealed in (`pipelines.analysis.sandbox`), and log
    who ran it, why, and how many rows came back; times come back in `zone`, the world's."""
    from pipelines.analysis.sandbox import sealed
    with audited_access(log_path, sql, reason=reason, user=user) as detail:
        cursor = sealed(tables_dir, zone).execute(sql)
        rows = cursor.fetchall()
        detail["rows"] = len(rows)
    return rows, [column[0] for column in cursor.description]


def audit_watchlist_change(log_path: str | Path, *, reason: str, source: str, count: int,
                           version: str, user: Optional[str] = None) -> dict:
    """Log a watchlist replacement: who loaded which file, how many entries, which version."""
    _require_reason(reason)
    return AuditLog(log_path).append(user or os_user(), "watchlist_load", reason,
                                     {"source": source, "count": count, "version": version})
