"""The sweep store: one SQLite row per finished design point, so a killed sweep never loses work.

The store is a plain SQLite file in WAL mode (stdlib :mod:`sqlite3`), written only by the parent
process of a sweep, one committed transaction per finished point. Points are keyed by
:func:`point_key`, a SHA-256 of the point's canonical JSON (sorted keys), so a re-run with the same
store recognises what is already done whatever order the points come in. Everything stored is JSON
text: nothing is ever pickled, so a store can be read by any tool and never executes code on load.

With ``synchronous=NORMAL`` a commit survives the process being killed (SIGKILL, OOM, Ctrl-C); a power
cut may lose the last few commits but never corrupts the file.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import InputError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,
    point TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'invalid')),
    result TEXT,
    error TEXT NOT NULL DEFAULT '',
    elapsed_s REAL NOT NULL DEFAULT 0,
    finished_at REAL NOT NULL
);
"""


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the same point always gives the same text.

    Example:
        >>> canonical_json({"b": 1, "a": [1.5, "x"]})
        '{"a":[1.5,"x"],"b":1}'
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def point_key(point: dict[str, Any]) -> str:
    """Stable 40-hex-digit key of a point (SHA-256 of :func:`canonical_json`, truncated).

    Example:
        >>> point_key({"a": 1, "b": 2}) == point_key({"b": 2, "a": 1})
        True
    """
    return hashlib.sha256(canonical_json(point).encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True)
class PointOutcome:
    """What one point produced: ``status`` ok / error / invalid, the result dict (ok only), the error text."""

    key: str
    point: dict[str, Any]
    status: str
    result: dict[str, Any] | None
    error: str
    elapsed_s: float


class SweepStore:
    """A crash-safe SQLite store of finished sweep points (WAL mode, JSON only).

    Use it as a context manager, or call :meth:`close`. One store may hold points of many sweeps;
    a sweep reads back only the keys it asks for.

    Raises:
        InputError: the file cannot be opened or is not a sweep store.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "s.sqlite")
        >>> with SweepStore(path) as st:
        ...     st.put(PointOutcome(point_key({"a": 1}), {"a": 1}, "ok", {"x": 1.0}, "", 0.1))
        ...     st.get_many([point_key({"a": 1})])[point_key({"a": 1})].result
        {'x': 1.0}
    """

    def __init__(self, path: str | Path) -> None:
        import sqlite3  # here, not at the top: a run without a store never loads it

        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._check_version()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise InputError(f"{self.path}: cannot open as a sweep store: {exc}") from None

    def _check_version(self) -> None:
        import sqlite3

        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif row[0] != str(SCHEMA_VERSION):
            raise sqlite3.DatabaseError(f"schema version {row[0]}, this accsim reads version {SCHEMA_VERSION}")

    def __enter__(self) -> "SweepStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (the data is already committed)."""
        self._db.close()

    def put(self, outcome: PointOutcome) -> None:
        """Record one finished point, committed before returning; a second write of the key replaces the first.

        Raises:
            InputError: the store cannot be written (read-only file, full disk, corrupt database).
        """
        import sqlite3
        try:
            self._put(outcome)
        except sqlite3.Error as exc:
            raise InputError(f"{self.path}: cannot write to the sweep store: {exc}") from None

    def _put(self, outcome: PointOutcome) -> None:
        self._db.execute(
            "INSERT INTO points (key, point, status, result, error, elapsed_s, finished_at) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT(key) DO UPDATE SET point=excluded.point, status=excluded.status, result=excluded.result, "
            "error=excluded.error, elapsed_s=excluded.elapsed_s, finished_at=excluded.finished_at",
            (outcome.key, canonical_json(outcome.point), outcome.status,
             None if outcome.result is None else canonical_json(outcome.result), outcome.error,
             float(outcome.elapsed_s), time.time()))

    def get_many(self, keys: Iterable[str]) -> dict[str, PointOutcome]:
        """The stored outcomes among ``keys`` (missing keys are simply absent).

        Raises:
            InputError: the store is corrupt (a row that is not JSON, a damaged database).
        """
        keys = list(keys)
        out: dict[str, PointOutcome] = {}
        import sqlite3
        try:
            for start in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, point, status, result, error, elapsed_s FROM points WHERE key IN ({marks})", chunk)
                for row in rows.fetchall():
                    out[row[0]] = self._outcome(row)
        except sqlite3.Error as exc:
            raise InputError(f"{self.path}: cannot read the sweep store: {exc}") from None
        return out

    def _outcome(self, row: tuple) -> PointOutcome:
        key, point, status, result, error, elapsed = row
        try:
            return PointOutcome(key, json.loads(point), status, None if result is None else json.loads(result),
                                error, elapsed)
        except (TypeError, ValueError):  # hand-edited or damaged: never a traceback
            raise InputError(f"{self.path}: point {key}: the stored row is not valid JSON (a corrupt store; "
                             "delete the file or use another --store)") from None

    def __iter__(self) -> Iterator[PointOutcome]:
        import sqlite3
        try:
            rows = self._db.execute(
                "SELECT key, point, status, result, error, elapsed_s FROM points ORDER BY finished_at, key").fetchall()
        except sqlite3.Error as exc:
            raise InputError(f"{self.path}: cannot read the sweep store: {exc}") from None
        for row in rows:
            yield self._outcome(row)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0])

    def counts(self) -> dict[str, int]:
        """Number of stored points by status."""
        return {s: n for s, n in self._db.execute("SELECT status, COUNT(*) FROM points GROUP BY status")}
