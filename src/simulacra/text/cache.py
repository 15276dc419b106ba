"""The per-request cache (on by default): sqlite, keyed on the rendered prompt, the model and the parameters.

A code change that leaves the prompt alone reuses the cached answers; a resumed run gets the answers
of requests that finished before the kill back for free. Safe across processes (sqlite WAL, a busy
timeout) and across kill -9 (sqlite's journal).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from .backends import Completion, Request


def request_key(request: Request, identity: dict[str, Any], api_form: str = "text") -> str:
    """sha256 of the rendered prompt (text and messages), the schema, the parameters and the model."""
    blob = json.dumps(
        {
            "prompt": request.prompt.text,
            "messages": request.prompt.messages,
            "schema": request.schema,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "seed": request.seed,
            "identity": identity,
            "form": api_form,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class RequestCache:
    """A small sqlite key/value store of completions."""

    def __init__(self, path: str | Path, batch: int = 64) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS completions (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.hits = 0
        self.batch = batch
        self._pending = 0

    def get(self, key: str) -> Completion | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM completions WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        self.hits += 1
        return Completion(**json.loads(row[0]))

    def put(self, key: str, value: Completion) -> None:
        """Store an answer. Writes are committed by batches of ``batch`` (and at close): a kill loses at
        most the last batch of the cache, never a line of the output, which is the checkpoint."""
        blob = json.dumps(value.__dict__, ensure_ascii=False)
        with self._lock:
            if not self._db.in_transaction:
                self._db.execute("BEGIN")
            self._db.execute("INSERT OR REPLACE INTO completions (key, value) VALUES (?, ?)", (key, blob))
            self._pending += 1
            if self._pending >= self.batch:
                self._db.execute("COMMIT")
                self._pending = 0

    def close(self) -> None:
        with self._lock:
            if self._db.in_transaction:
                self._db.execute("COMMIT")
            self._db.close()
