"""A persistent, incremental full-text index of local documents: SQLite FTS5 with BM25 ranking.

Documents are split into passages (see `extract.split_passages`); the passages are what FTS5
indexes, so a search ranks the best passage of each document and a read can return the passages
that matter for a query. Every public method opens its own connection because activities call it
from several threads at once; WAL lets those readers run while a sync writes.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from domain.sources import Passage, SearchHit
from providers.extract import SUPPORTED_SUFFIXES, ExtractionError, extract, split_passages
from providers.extract import Extracted as Extracted  # one line: the module stays under 250
from providers.fts import connect, delete_document, ensure_schema, match_expression

MAX_FILE_BYTES = 50 * 1024 * 1024
# Licence files describe a folder; they are not documents anyone wants cited.
IGNORED_STEMS = frozenset({"license", "licence", "copying", "notice"})


SNIPPET_CHARS = 400


class DocumentNotFoundError(LookupError):
    """The source id is not (or no longer) in the index."""


@dataclass
class SyncStats:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # source_id -> reason


@dataclass(frozen=True)
class IndexedDocument:
    source_id: str
    title: str
    url: str
    text: str


class LocalIndex:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        ensure_schema(self.path)

    def sync(
        self, dirs: list[Path], extractor: Callable[[Path, bytes], Extracted] = extract
    ) -> SyncStats:
        """Make the index mirror the supported files under `dirs`, re-reading only changed ones
        with `extractor` (the worker's runs in its extraction pool, under the deadline)."""
        files = _scan(dirs)
        stats = SyncStats()
        with connect(self.path) as conn:
            rows = conn.execute("SELECT source_id, mtime_ns, size, sha256 FROM documents")
            known = {row["source_id"]: row for row in rows}
        for source_id, path in sorted(files.items()):
            try:
                st = path.stat()
                row = known.get(source_id)
                stat_key = (st.st_mtime_ns, st.st_size)
                if row is not None and (row["mtime_ns"], row["size"]) == stat_key:
                    stats.unchanged += 1
                    continue
                if st.st_size > MAX_FILE_BYTES:
                    raise ExtractionError(f"larger than {MAX_FILE_BYTES} bytes")
                data = path.read_bytes()
                digest = hashlib.sha256(data).hexdigest()
                if row is not None and row["sha256"] == digest:
                    # Touched, not changed: keep the new stat so the next sync skips the hash.
                    with connect(self.path) as conn:
                        conn.execute(
                            "UPDATE documents SET mtime_ns = ?, size = ? WHERE source_id = ?",
                            (st.st_mtime_ns, st.st_size, source_id),
                        )
                    stats.unchanged += 1
                    continue
                doc = extractor(path, data)
            except (OSError, ExtractionError, RuntimeError) as exc:
                # One unreadable file must not stop the rest of the folder from being indexed
                # (RuntimeError: the child parsing it died; the next file gets a new one).
                stats.failed[source_id] = str(exc)
                self._delete(source_id)
                continue
            self._store(source_id, path, doc.title, doc.text, st.st_mtime_ns, st.st_size, digest)
            if row is not None:
                stats.updated += 1
            else:
                stats.added += 1
        for source_id in known.keys() - files.keys():
            self._delete(source_id)
            stats.removed += 1
        return stats

    def search(self, query: str, limit: int, under: Path | None = None) -> list[SearchHit]:
        """The best `limit` documents for `query`, each with its best passage as the snippet;
        with `under`, only documents inside that folder (source ids are resolved paths)."""
        expression = match_expression(query)
        if expression is None or limit <= 0:
            return []
        # A prefix compare rather than LIKE: a path may hold LIKE's own wildcards (`_`, `%`).
        prefix = "" if under is None else str(Path(under).expanduser().resolve()) + os.sep
        with connect(self.path) as conn:
            ranked = conn.execute(
                "SELECT p.doc_id, p.id AS passage_id, bm25(passages_fts, 3.0, 1.0) AS rank "
                "FROM passages_fts JOIN passages p ON p.id = passages_fts.rowid "
                "JOIN documents d ON d.id = p.doc_id "
                "WHERE passages_fts MATCH ? AND substr(d.source_id, 1, ?) = ? ORDER BY rank",
                (expression, len(prefix), prefix),
            )
            # One hit per document, its best passage first. Grouping happens here because
            # SQLite refuses bm25() inside an aggregate; the cursor stops once enough are seen.
            by_doc: dict[int, sqlite3.Row] = {}
            for row in ranked:
                by_doc.setdefault(row["doc_id"], row)
                if len(by_doc) == limit:
                    break
            ranked.close()
            best = list(by_doc.values())
            if not best:
                return []
            # Snippets only for the winners: computing one per matched passage is the slow part.
            ids = [row["passage_id"] for row in best]
            marks = ",".join("?" * len(ids))
            snippets = dict(
                conn.execute(
                    "SELECT rowid, snippet(passages_fts, 1, '', '', ' … ', 48) FROM passages_fts "
                    f"WHERE passages_fts MATCH ? AND rowid IN ({marks})",
                    (expression, *ids),
                ).fetchall()
            )
            docs = {
                row["id"]: row
                for row in conn.execute(
                    f"SELECT id, source_id, title, url FROM documents WHERE id IN ({marks})",
                    [row["doc_id"] for row in best],
                )
            }
        return [
            SearchHit(
                source_id=docs[row["doc_id"]]["source_id"],
                title=docs[row["doc_id"]]["title"],
                url=docs[row["doc_id"]]["url"],
                # Bounded: a document with no spaces would make one "word" of a whole page.
                snippet=" ".join(snippets.get(row["passage_id"], "").split())[:SNIPPET_CHARS],
                # bm25() is lower-is-better; hits elsewhere are higher-is-better.
                score=-row["rank"],
                provider="local",
            )
            for row in best
        ]

    def document(self, source_id: str) -> IndexedDocument:
        with connect(self.path) as conn:
            row = conn.execute(
                "SELECT source_id, title, url, text FROM documents WHERE source_id = ?",
                (source_id,),
            ).fetchone()
        if row is None:
            raise DocumentNotFoundError(f"not in the local index: {source_id}")
        return IndexedDocument(**dict(row))

    def document_text(self, source_id: str) -> str:
        return self.document(source_id).text

    def best_passages(self, source_id: str, query: str, k: int) -> list[Passage]:
        """The `k` passages of one document that best match `query` (its first ones if none do)."""
        doc_id = self._doc_id(source_id)
        if k <= 0:
            return []
        expression = match_expression(query)
        with connect(self.path) as conn:
            rows = []
            if expression is not None:
                rows = conn.execute(
                    "SELECT p.ord, p.body FROM passages_fts JOIN passages p "
                    "ON p.id = passages_fts.rowid WHERE passages_fts MATCH ? AND p.doc_id = ? "
                    "ORDER BY bm25(passages_fts, 0.0, 1.0) LIMIT ?",
                    (expression, doc_id, k),
                ).fetchall()
            if not rows:
                rows = conn.execute(
                    "SELECT ord, body FROM passages WHERE doc_id = ? ORDER BY ord LIMIT ?",
                    (doc_id, k),
                ).fetchall()
        return [Passage(id=f"p{row[0]}", text=row[1]) for row in rows]

    def _doc_id(self, source_id: str) -> int:
        with connect(self.path) as conn:
            row = conn.execute("SELECT id FROM documents WHERE source_id = ?", (source_id,))
            found = row.fetchone()
        if found is None:
            raise DocumentNotFoundError(f"not in the local index: {source_id}")
        return int(found[0])

    def _store(
        self,
        source_id: str,
        path: Path,
        title: str,
        text: str,
        mtime_ns: int,
        size: int,
        digest: str,
    ) -> None:
        with connect(self.path) as conn:
            delete_document(conn, source_id)
            cursor = conn.execute(
                "INSERT INTO documents (source_id, title, url, mtime_ns, size, sha256, text) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (source_id, title, path.as_uri(), mtime_ns, size, digest, text),
            )
            conn.executemany(
                "INSERT INTO passages (doc_id, ord, title, body) VALUES (?, ?, ?, ?)",
                [(cursor.lastrowid, i, title, body) for i, body in enumerate(split_passages(text))],
            )

    def _delete(self, source_id: str) -> None:
        with connect(self.path) as conn:
            delete_document(conn, source_id)


def _scan(dirs: list[Path]) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for directory in dirs:
        root = Path(directory).expanduser().resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"document folder does not exist: {root}")
        for folder, subdirs, names in os.walk(root):
            # Hidden folders are tool state (.git, .obsidian): pruned, never walked.
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            for name in names:
                path = Path(folder, name)
                if (
                    name.startswith(".")
                    or path.suffix.lower() not in SUPPORTED_SUFFIXES
                    or path.stem.lower() in IGNORED_STEMS
                    or not path.is_file()
                ):
                    continue
                files[str(path)] = path
    return files
