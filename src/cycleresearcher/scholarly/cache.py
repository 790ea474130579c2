"""The on-disk answer cache: one SQLite file under the user cache directory, so that a rerun of the
same enrichment sends no request at all. Negative answers (an unknown id, a search with no result)
are kept too: asking again would only repeat them.

Where: ``$CYCLERESEARCHER_SCHOLARLY_CACHE`` (a file path), else
``$XDG_CACHE_HOME/cycleresearcher/scholarly.sqlite`` (``~/.cache/...`` without XDG_CACHE_HOME).
Delete the file to forget every answer.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

#: a stored answer that means "the service knows nothing under this key"
MISSING: Any = None


def default_cache_path() -> Path:
    explicit = os.environ.get("CYCLERESEARCHER_SCHOLARLY_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cycleresearcher" / "scholarly.sqlite"


class AnswerCache:
    """``(service, kind, key) -> JSON answer``; ``get`` tells a cached ``None`` (a negative answer)
    from no entry by returning ``(found, value)``."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_cache_path()
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS answers (service TEXT, kind TEXT, key TEXT, value TEXT,"
            " stored REAL, PRIMARY KEY (service, kind, key))"
        )
        self._db.commit()

    def get(self, service: str, kind: str, key: str) -> tuple[bool, Any]:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM answers WHERE service=? AND kind=? AND key=?", (service, kind, key)
            ).fetchone()
        return (False, None) if row is None else (True, json.loads(row[0]))

    def put(self, service: str, kind: str, key: str, value: Any) -> None:
        self.put_many(service, kind, {key: value})

    def put_many(self, service: str, kind: str, values: dict[str, Any]) -> None:
        now = time.time()
        rows = [(service, kind, k, json.dumps(v, ensure_ascii=False), now) for k, v in values.items()]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)", rows)
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()
