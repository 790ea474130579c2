"""SQLite run store (WAL) living in a run directory.

Every engine request is stored with its stage, payload, timings, token counts and status; each of
its ``n`` samples is stored in ``samples`` the moment it finishes; every finished record (paper,
review, detection, ...) is stored under a (kind, key). So a run killed with SIGKILL loses no
finished sample, and ``--resume`` asks the engine only for what is missing (the k-th sample of a
request keeps its seed, ``seed + k``, so a resumed run samples what the first one would have).
Keys are content hashes, so nothing is duplicated. Persistence only: ``engines.runner`` runs the
engine and writes through this store.

Schema changes are named, append-only migrations (never edit an applied one).
No API key is ever written: engines describe themselves without secrets.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engines.base import ChatRequest, Completion, GenerationResult
from .errors import InputError, StoreError

DB_NAME = "run.sqlite"

MIGRATIONS: list[tuple[str, str]] = [
    (
        "001_initial",
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE requests (
            key TEXT PRIMARY KEY,
            stage TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
            result TEXT,
            error TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            elapsed_s REAL,
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            finished_at REAL
        );
        CREATE INDEX requests_stage ON requests(stage, status);
        CREATE TABLE records (
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            data TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (kind, key)
        );
        """,
    ),
    (
        # one row per sample of a request, written as each finishes (a request of n samples used to
        # reach the store only when all n were done, so a kill lost the finished ones)
        "002_samples",
        """
        CREATE TABLE samples (
            request_key TEXT NOT NULL,
            sample INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
            text TEXT,
            finish_reason TEXT,
            completion_tokens INTEGER,
            prompt_tokens INTEGER,
            elapsed_s REAL,
            error TEXT,
            attempts INTEGER NOT NULL DEFAULT 1,
            created_at REAL NOT NULL,
            finished_at REAL NOT NULL,
            PRIMARY KEY (request_key, sample)
        );
        """,
    ),
    (
        # the engine's notes on the request that drew a sample (a resumed run lost them)
        "003_sample_warnings",
        "ALTER TABLE samples ADD COLUMN warnings TEXT",
    ),
]


@dataclass
class SampleResult:
    """One sample of a request: its completion, or the error that stopped it (never both)."""

    index: int
    completion: Completion | None = None
    error: str | None = None
    prompt_tokens: int | None = None
    elapsed_s: float = 0.0
    attempts: int = 1
    #: the engine's notes on the request that drew it (e.g. a server that ignored ignore_eos)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and self.completion is not None


#: tables whose rows are work done (meta alone is settings, written before any work)
WORK_TABLES = ("requests", "records", "samples")


def is_run_dir(path: str | Path) -> bool:
    """A folder holding a run store: the one answer to "is this a run?"."""
    p = Path(path)
    return p.is_dir() and (p / DB_NAME).is_file()


def check_resume(directory: str | Path, resume: bool) -> None:
    """The --resume rule of every command with a run store: an existing run is continued only
    when asked; without --resume the command refuses rather than mix two runs."""
    if is_run_dir(directory) and not resume:
        raise InputError(
            f"{directory} already holds a run. Add --resume to continue it (finished requests are "
            "reused, failed ones retried), or choose another -o folder."
        )


def run_dirs(root: str | Path) -> list[Path]:
    """The run folders directly under ``root``, newest store first."""
    dbs = [db for db in Path(root).glob(f"*/{DB_NAME}") if db.is_file()]
    return [db.parent for db in sorted(dbs, key=lambda db: db.stat().st_mtime, reverse=True)]


def holds_work(path: str | Path) -> bool | None:
    """Whether the run store in ``path`` holds any request or record (None: none there, or not a
    store we can read), read without creating or migrating anything."""
    db = Path(path) / DB_NAME
    if not db.is_file():
        return None
    try:
        conn = sqlite3.connect(db, timeout=5)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            return any(conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() for t in WORK_TABLES if t in tables)
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def request_key(stage: str, request: ChatRequest, extra: Any = None) -> str:
    """Content hash of what is sent: same stage + messages + sampling (+ extra) = same key."""
    body = {
        "stage": stage,
        "messages": request.messages,
        "sampling": request.sampling.to_dict(),
        "extra": extra,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


def _store_error(path: Path, exc: sqlite3.Error) -> StoreError | None:
    """What a SQLite failure means to the user (a full disk, a damaged file, the store in use), or
    None for a failure that is a bug of ours (a constraint, a bad statement): that one is raised."""
    from .atomic import disk_full_error, is_disk_full, nearly_full

    if is_disk_full(exc) or ("I/O error" in str(exc) and nearly_full(path)):
        return disk_full_error(path, exc)
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError(
            f"{path} is busy: another process holds it ({text}). Wait for it to finish, then rerun."
        )
    # "database disk image is malformed", "file is not a database": plain DatabaseError
    if type(exc) is sqlite3.DatabaseError or any(
        s in text for s in ("malformed", "not a database", "I/O error")
    ):
        return StoreError(
            f"{path} is damaged ({text}): this run store cannot be read or continued. Move the folder "
            f"aside and use a new -o folder; `sqlite3 {path} .recover` may save what is left."
        )
    if isinstance(exc, sqlite3.OperationalError) and ("unable to open" in text or "readonly" in text):
        return StoreError(
            f"{path} cannot be opened for writing ({text}). Use a new -o folder you can write to."
        )
    return None


class _Rows(list):
    """Rows fetched in full (a damaged page then fails inside ``execute``, where it is translated)."""

    def fetchone(self) -> Any:
        return self[0] if self else None

    def fetchall(self) -> list[Any]:
        return list(self)


class _Connection(sqlite3.Connection):
    """A connection whose failures are StoreErrors that say what happened (full, damaged, busy):
    a store with junk over a page raised a bare DatabaseError ("please report it")."""

    def execute(self, sql: str, params: Any = ()) -> _Rows:  # type: ignore[override]
        try:
            return _Rows(super().execute(sql, params).fetchall())
        except sqlite3.DatabaseError as exc:
            error = _store_error(Path(self.path_name), exc)
            if error is None:
                raise
            raise error from exc

    path_name = ""


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection; on read-only media (no -shm can be made) the file is opened immutable."""
    writable = os.access(path.parent, os.W_OK) and _mount_writable(path.parent)
    mode = "mode=ro" if writable else "immutable=1"
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?{mode}", uri=True, isolation_level=None, check_same_thread=False,
        factory=_Connection,
    )  # fmt: skip
    conn.path_name = str(path)
    conn.execute("SELECT count(*) FROM sqlite_master")  # a file that is no store fails here
    return conn


def _mount_writable(folder: Path) -> bool:
    """False on a read-only mount (root passes os.access there, yet SQLite cannot make its -shm)."""
    try:
        return not os.statvfs(folder).f_flag & os.ST_RDONLY
    except OSError:
        return True


class RunStore:
    """One run directory = one SQLite file (``run.sqlite``) plus exported files beside it."""

    def __init__(self, run_dir: str | Path, *, create: bool = True, readonly: bool = False):
        self.dir = Path(run_dir)
        if self.dir.suffix in {".sqlite", ".db"}:
            self.dir, self.path = self.dir.parent, self.dir
        else:
            self.path = self.dir / DB_NAME
        if not self.path.exists() and (not create or readonly):
            raise StoreError(
                f"{self.dir} is not a run directory (no {DB_NAME}). Pass the folder a command wrote with -o."
            )
        self.readonly = readonly
        try:
            if readonly:  # reading a run (as review input, in the web list): never write beside it
                self.conn = _open_readonly(self.path)
            else:
                self.dir.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False, factory=_Connection
                )
                self.conn.path_name = str(self.path)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
                self._migrate()
        except StoreError:
            raise
        except sqlite3.DatabaseError as exc:
            raise _store_error(self.path, exc) or StoreError(
                f"{self.path} is not a usable run store ({exc}). Use a new -o folder."
            ) from exc

    # -- schema -----------------------------------------------------------------------------
    def _migrate(self) -> None:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        done = {r[0] for r in self.conn.execute("SELECT name FROM _migrations")}
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            with self.transaction():
                for stmt in filter(str.strip, sql.split(";")):
                    self.conn.execute(stmt)
                self.conn.execute("INSERT INTO _migrations VALUES (?, ?)", (name, time.time()))

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- meta -------------------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    # -- requests ---------------------------------------------------------------------------
    def get_result(self, key: str) -> GenerationResult | None:
        row = self.conn.execute(
            "SELECT result FROM requests WHERE key = ? AND status = 'done'", (key,)
        ).fetchone()
        return GenerationResult.from_dict(json.loads(row[0])) if row else None

    def mark_pending(self, key: str, stage: str, request: ChatRequest) -> None:
        self.conn.execute(
            "INSERT INTO requests (key, stage, payload, status, created_at) VALUES (?, ?, ?, 'pending', ?) "
            "ON CONFLICT(key) DO UPDATE SET status = CASE WHEN status = 'done' THEN 'done' ELSE 'pending' END",
            (key, stage, json.dumps(request.to_dict(), ensure_ascii=False), time.time()),
        )

    def save_result(self, key: str, result: GenerationResult) -> None:
        status = "done" if result.ok else "failed"
        self.conn.execute(
            "UPDATE requests SET status = ?, result = ?, error = ?, prompt_tokens = ?, completion_tokens = ?, "
            "elapsed_s = ?, attempts = attempts + 1, finished_at = ? WHERE key = ?",
            (
                status,
                json.dumps(result.to_dict(), ensure_ascii=False),
                result.error,
                result.prompt_tokens,
                result.completion_tokens,
                result.elapsed_s,
                time.time(),
                key,
            ),
        )

    # -- samples ----------------------------------------------------------------------------
    def save_sample(self, key: str, sample: SampleResult) -> None:
        """Commit one finished (or failed) sample of request ``key``; a failed one is replaced when
        it is generated again, and ``attempts`` counts how often it was."""
        comp = sample.completion
        now = time.time()
        self.conn.execute(
            "INSERT INTO samples (request_key, sample, status, text, finish_reason, completion_tokens, "
            "prompt_tokens, elapsed_s, error, attempts, created_at, finished_at, warnings) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) "
            "ON CONFLICT(request_key, sample) DO UPDATE SET status = excluded.status, text = excluded.text, "
            "finish_reason = excluded.finish_reason, completion_tokens = excluded.completion_tokens, "
            "prompt_tokens = excluded.prompt_tokens, elapsed_s = excluded.elapsed_s, error = excluded.error, "
            "attempts = samples.attempts + 1, finished_at = excluded.finished_at, warnings = excluded.warnings",
            (
                key,
                sample.index,
                "done" if sample.ok else "failed",
                comp.text if comp else None,
                comp.finish_reason if comp else None,
                comp.completion_tokens if comp else None,
                sample.prompt_tokens,
                sample.elapsed_s,
                sample.error,
                now,
                now,
                json.dumps(sample.warnings, ensure_ascii=False) if sample.warnings else None,
            ),
        )

    def samples(self, key: str, *, done_only: bool = False) -> dict[int, SampleResult]:
        """The stored samples of request ``key`` by index (failed ones too unless ``done_only``)."""
        sql = (
            "SELECT sample, status, text, finish_reason, completion_tokens, prompt_tokens, elapsed_s, error, "
            "attempts, warnings FROM samples WHERE request_key = ?"
        )
        if done_only:
            sql += " AND status = 'done'"
        out = {}
        for k, status, text, reason, tokens, pt, el, err, attempts, notes in self.conn.execute(sql, (key,)):
            comp = Completion(text=text or "", finish_reason=reason, completion_tokens=tokens)
            out[k] = SampleResult(
                k,
                comp if status == "done" else None,
                err if status != "done" else None,
                pt,
                el or 0.0,
                attempts,
                json.loads(notes) if notes else [],
            )
        return out

    def request_rows(self, stage: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT key, stage, status, error, prompt_tokens, completion_tokens, elapsed_s, attempts FROM requests"
        args: tuple = ()
        if stage:
            sql += " WHERE stage = ?"
            args = (stage,)
        cols = [
            "key",
            "stage",
            "status",
            "error",
            "prompt_tokens",
            "completion_tokens",
            "elapsed_s",
            "attempts",
        ]
        return [
            dict(zip(cols, r, strict=True)) for r in self.conn.execute(sql + " ORDER BY created_at", args)
        ]

    def summary(self) -> dict[str, dict[str, float]]:
        """Tokens, time and status counts per stage (for the end-of-run summary)."""
        out: dict[str, dict[str, float]] = {}
        for stage, status, n, pt, ct, el in self.conn.execute(
            "SELECT stage, status, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(elapsed_s) "
            "FROM requests GROUP BY stage, status"
        ):
            s = out.setdefault(
                stage,
                {
                    "done": 0,
                    "failed": 0,
                    "pending": 0,
                    "prompt_tokens": 0,
                    "completion_tokens": 0,
                    "elapsed_s": 0.0,
                },
            )
            s[status] = n
            s["prompt_tokens"] += pt or 0
            s["completion_tokens"] += ct or 0
            s["elapsed_s"] += el or 0.0
        return out

    # -- records ----------------------------------------------------------------------------
    def put(self, kind: str, key: str, data: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?)",
            (kind, key, json.dumps(data, ensure_ascii=False), time.time()),
        )

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM records WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return json.loads(row[0]) if row else None

    def items(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self.conn.execute(
            "SELECT key, data FROM records WHERE kind = ? ORDER BY created_at, key", (kind,)
        )
        return [(k, json.loads(d)) for k, d in rows]

    def delete(self, kind: str, key: str) -> None:
        self.conn.execute("DELETE FROM records WHERE kind = ? AND key = ?", (kind, key))
