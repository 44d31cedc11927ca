"""The embedded search index: formats, incremental sync, safe queries, ranking, passages."""

from __future__ import annotations

import io
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pypdf import PdfReader

from providers.extract import split_passages
from providers.fts import match_expression
from providers.local_index import DocumentNotFoundError, LocalIndex


def make_pdf(lines: list[str]) -> bytes:
    """A minimal valid one-page PDF showing `lines` in Helvetica, with a correct xref table."""
    ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
    ops += [f"({line}) Tj T*" for line in lines]
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)


MARKDOWN = "# Pumped hydro\n\nWater moves between two reservoirs to store energy.\n"
HTML = (
    "<html><head><title>Flow batteries</title><style>.zebrastyle { color: red }</style>"
    "<script>var kangaroosecret = 1;</script></head>"
    "<body><h1>Body heading</h1><p>Vanadium electrolyte sits in external tanks.</p>"
    "</body></html>"
)
TEXT = "Grid inertia comes from heavy rotating synchronous generators.\n"
PDF_LINES = ["Hydrogen electrolysis splits water.", "Salt caverns store the gas."]


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "pumped.md").write_text(MARKDOWN)
    (folder / "flow.html").write_text(HTML)
    (folder / "sub" / "inertia.txt").write_text(TEXT)
    (folder / "hydrogen.pdf").write_bytes(make_pdf(PDF_LINES))
    return folder


@pytest.fixture
def index(tmp_path: Path) -> LocalIndex:
    return LocalIndex(tmp_path / "data" / "index.sqlite")


def test_handmade_pdf_is_readable_by_pypdf() -> None:
    text = PdfReader(io.BytesIO(make_pdf(PDF_LINES))).pages[0].extract_text()
    assert "Hydrogen electrolysis splits water." in text
    assert "Salt caverns store the gas." in text


def test_indexes_every_format_with_titles_and_urls(index: LocalIndex, docs: Path) -> None:
    stats = index.sync([docs])
    assert (stats.added, stats.updated, stats.removed, stats.failed) == (4, 0, 0, {})

    expectations = {
        "reservoirs": ("pumped.md", "Pumped hydro"),
        "vanadium": ("flow.html", "Flow batteries"),
        "synchronous": ("sub/inertia.txt", "inertia"),
        "caverns": ("hydrogen.pdf", "hydrogen"),
    }
    for word, (relative, title) in expectations.items():
        hits = index.search(word, 5)
        assert len(hits) == 1, word
        path = (docs / relative).resolve()
        assert hits[0].source_id == str(path)
        assert hits[0].url == path.as_uri()
        assert hits[0].title == title
        assert hits[0].provider == "local"
        assert hits[0].score > 0
        assert word in hits[0].snippet.lower()


def test_html_script_and_style_are_not_indexed(index: LocalIndex, docs: Path) -> None:
    index.sync([docs])
    assert index.search("kangaroosecret", 5) == []
    assert index.search("zebrastyle", 5) == []
    text = index.document_text(str((docs / "flow.html").resolve()))
    assert "Vanadium electrolyte sits in external tanks." in text
    assert "kangaroosecret" not in text


def test_sync_is_incremental(index: LocalIndex, docs: Path) -> None:
    index.sync([docs])
    assert index.sync([docs]).unchanged == 4

    changed = docs / "pumped.md"
    changed.write_text(MARKDOWN + "\nA new paragraph about turbines.\n")
    os.utime(changed, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    touched = docs / "sub" / "inertia.txt"
    os.utime(touched, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    (docs / "new.md").write_text("# Heat pumps\n\nA coefficient of performance above three.\n")

    stats = index.sync([docs])
    # The touched file has a new mtime but the same bytes: hashed, found equal, not re-indexed.
    assert (stats.added, stats.updated, stats.removed, stats.unchanged) == (1, 1, 0, 3)
    assert index.search("turbines", 5)[0].source_id == str(changed.resolve())
    assert index.search("coefficient", 5)[0].title == "Heat pumps"
    assert index.sync([docs]).unchanged == 5


def test_vanished_files_are_removed(index: LocalIndex, docs: Path) -> None:
    index.sync([docs])
    gone = (docs / "hydrogen.pdf").resolve()
    gone.unlink()
    stats = index.sync([docs])
    assert (stats.removed, stats.unchanged) == (1, 3)
    assert index.search("caverns", 5) == []
    with pytest.raises(DocumentNotFoundError):
        index.document_text(str(gone))
    with pytest.raises(DocumentNotFoundError):
        index.best_passages(str(gone), "caverns", 3)


def test_broken_and_ignored_files(index: LocalIndex, docs: Path) -> None:
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (docs / "LICENSE.md").write_text("# Licence\n\nCC0 dedication text.\n")
    (docs / ".obsidian").mkdir()
    (docs / ".obsidian" / "notes.md").write_text("hiddenword\n")
    (docs / "image.png").write_bytes(b"\x89PNG")
    stats = index.sync([docs])
    assert stats.added == 4
    assert list(stats.failed) == [str((docs / "broken.pdf").resolve())]
    assert index.search("hiddenword dedication", 5) == []


def test_missing_folder_is_a_clear_error(index: LocalIndex, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="document folder does not exist"):
        index.sync([tmp_path / "nope"])


@pytest.mark.parametrize(
    "query",
    [
        '"AND OR (" NEAR*',
        "NEAR(water reservoirs, 2)",
        "title:water OR body:*",
        "^water - + : ( ) { } [ ]",
        "'; DROP TABLE documents; --",
        'unbalanced " quote',
        "AND",
        "water\x00reservoirs",
        "wáter résérvoirs ñ 水",
        "reservoirs " * 500,
    ],
)
def test_hostile_queries_never_break_fts(index: LocalIndex, docs: Path, query: str) -> None:
    index.sync([docs])
    hits = index.search(query, 5)
    assert isinstance(hits, list)
    # The index is intact afterwards and still answers a normal query.
    assert index.search("reservoirs", 5)[0].title == "Pumped hydro"


def test_empty_and_wordless_queries(index: LocalIndex, docs: Path) -> None:
    index.sync([docs])
    assert index.search("", 5) == []
    assert index.search("  ?! ** ()  ", 5) == []
    assert index.search("water", 0) == []
    # Operators become quoted plain words (then dropped as stopwords where they are ones).
    assert match_expression('"AND OR (" NEAR* x:y') == '"near" OR "x" OR "y"'
    # A query of nothing but stopwords still searches rather than returning nothing.
    assert match_expression("What is the") == '"what" OR "is" OR "the"'


def test_ranking_puts_the_relevant_document_first(index: LocalIndex, tmp_path: Path) -> None:
    folder = tmp_path / "rank"
    folder.mkdir()
    (folder / "a.md").write_text("# Storage overview\n\nStorage of energy takes many forms.\n")
    (folder / "b.md").write_text(
        "# Flywheels\n\nFlywheel storage spins a rotor; a flywheel is fast.\n"
    )
    (folder / "c.md").write_text(
        "# Grid\n\nThe grid needs storage, and one option is a flywheel.\n"
    )
    index.sync([folder])
    hits = index.search("How does flywheel storage work?", 5)
    assert [hit.title for hit in hits] == ["Flywheels", "Grid", "Storage overview"]
    assert hits[0].score > hits[1].score > hits[2].score


def test_best_passages(index: LocalIndex, tmp_path: Path) -> None:
    folder = tmp_path / "long"
    folder.mkdir()
    filler = "Storage systems balance supply and demand across the day. " * 12
    paragraphs = [filler] * 6 + ["The flywheel spins in a vacuum to limit losses. " * 5]
    doc = folder / "long.md"
    doc.write_text("# Long\n\n" + "\n\n".join(paragraphs))
    index.sync([folder])
    source_id = str(doc.resolve())

    all_passages = split_passages(index.document_text(source_id))
    assert len(all_passages) > 3, "the document must span several passages for this test"

    best = index.best_passages(source_id, "flywheel vacuum", 2)
    last = f"p{len(all_passages) - 1}"
    assert best[0].id == last
    assert "flywheel" in best[0].text
    assert len(best) == 1, "only passages that match are ranked"

    fallback = index.best_passages(source_id, "photosynthesis chlorophyll", 2)
    assert [p.id for p in fallback] == ["p0", "p1"]
    assert fallback[0].text == all_passages[0]
    assert index.best_passages(source_id, "", 1)[0].id == "p0"
    assert index.best_passages(source_id, "flywheel", 0) == []

    # Ids are stable: re-syncing an unchanged document yields the same passages.
    index.sync([folder])
    assert index.best_passages(source_id, "flywheel vacuum", 2) == best


def test_concurrent_searches_while_syncing(index: LocalIndex, docs: Path) -> None:
    index.sync([docs])
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(index.search, "reservoirs", 5) for _ in range(40)]
        futures.append(pool.submit(index.sync, [docs]))
        results = [future.result() for future in futures]
    assert all(result[0].title == "Pumped hydro" for result in results[:-1])
    assert results[-1].unchanged == 4


def test_index_persists_and_rebuilds_on_schema_change(tmp_path: Path, docs: Path) -> None:
    path = tmp_path / "index.sqlite"
    LocalIndex(path).sync([docs])
    # A new instance (a restarted worker) finds everything already indexed.
    assert LocalIndex(path).sync([docs]).unchanged == 4

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    conn.close()
    rebuilt = LocalIndex(path)
    assert rebuilt.search("reservoirs", 5) == []
    assert rebuilt.sync([docs]).added == 4
