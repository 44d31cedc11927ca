"""The SQLite side of the local index: schema, connections and safe FTS5 query building."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

# Bump when the schema or the passage splitting changes: passage ids must match stored text,
# so an index built by other rules is dropped and rebuilt rather than trusted.
SCHEMA_VERSION = 2  # 2: passages bounded by characters too
MAX_QUERY_TERMS = 32
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it of on or that the this to "
    "was what when where which who why will with".split()
)
_WORD = re.compile(r"\w+")

# Passages live in a plain table and FTS5 indexes them as external content, so deleting a
# document's passages is an indexed lookup on doc_id; the triggers keep FTS5 in step.
_SCHEMA = (
    """CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        source_id TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        url TEXT NOT NULL,
        mtime_ns INTEGER NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        text TEXT NOT NULL
    )""",
    """CREATE TABLE passages (
        id INTEGER PRIMARY KEY,
        doc_id INTEGER NOT NULL REFERENCES documents(id),
        ord INTEGER NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (doc_id, ord)
    )""",
    """CREATE VIRTUAL TABLE passages_fts USING fts5(
        title, body, content='passages', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER passages_ai AFTER INSERT ON passages BEGIN
        INSERT INTO passages_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    """CREATE TRIGGER passages_ad AFTER DELETE ON passages BEGIN
        INSERT INTO passages_fts(passages_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END""",
)
_DROP = (
    "DROP TRIGGER IF EXISTS passages_ai",
    "DROP TRIGGER IF EXISTS passages_ad",
    "DROP TABLE IF EXISTS passages_fts",
    "DROP TABLE IF EXISTS passages",
    "DROP TABLE IF EXISTS documents",
)


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A fresh connection, one transaction, closed afterwards (connections are per thread)."""
    # A generous busy timeout: a sync holds the write lock only per file, briefly.
    with closing(sqlite3.connect(path, timeout=30.0)) as conn:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous=NORMAL")
        with conn:
            yield conn


def ensure_schema(path: Path) -> None:
    """Create the tables, or rebuild them when they were made by another SCHEMA_VERSION."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=30.0, isolation_level=None)) as conn:
        # WAL lets searches read while a sync writes; the mode persists in the file.
        conn.execute("PRAGMA journal_mode=WAL")
        # The write lock first, then the version check: when the API and the worker start
        # together, one creates the schema and the other waits and then finds it in place.
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                for statement in (*_DROP, *_SCHEMA):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def delete_document(conn: sqlite3.Connection, source_id: str) -> None:
    # Deleting from `passages` (not the FTS table) lets the trigger remove the FTS5 entries.
    conn.execute(
        "DELETE FROM passages WHERE doc_id IN (SELECT id FROM documents WHERE source_id = ?)",
        (source_id,),
    )
    conn.execute("DELETE FROM documents WHERE source_id = ?", (source_id,))


def match_expression(query: str) -> str | None:
    """An FTS5 MATCH expression that no user text can break: quoted terms joined by OR.

    Quoting turns operators (AND, NEAR, *, parentheses) into plain words. OR rather than AND
    because questions carry words no document has; BM25 still ranks documents that match
    more of the terms first. None when the query has no words at all.
    """
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))
    terms = [w for w in words if w not in _STOPWORDS] or words
    if not terms:
        return None
    return " OR ".join(f'"{term}"' for term in terms[:MAX_QUERY_TERMS])
