"""A run's report bundle: one zip with everything a reader needs to check the report offline.

Layout (all paths under `<run id>/`):
  report.md, report.html, report.json, report.pdf, report.docx   the report in every format
  claims.json      every claim (kept and removed) with its evidence and the passages' text
  sources.json     the run's sources with their passages, as the run wrote it
  sources/<n>.txt  each source's full extracted text (its `artifact_ref`)
  manifest.json    the run: models, options, usage and cost, timings, Temporal ids, and the
                   sha256 of every source text
  SHA256SUMS       sha256 of every other file, in `sha256sum -c` format
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any

from api.exports.document import ExportSource
from api.exports.pdf import report_pdf
from api.exports.word import report_docx
from api.render import markdown_to_html
from domain.report import Claim, passage_texts
from domain.run import RunView

BUNDLE_VERSION = 1


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def claims_json(source: ExportSource) -> list[dict[str, Any]]:
    """Each claim with its section, support and the text of every passage it cites."""
    texts = passage_texts(source.sources)
    doc = source.doc

    def row(claim: Claim, section: str | None, kept: bool) -> dict[str, Any]:
        data = claim.model_dump(mode="json")
        for evidence in data["evidence"]:
            passage = texts.get(evidence["source"], {}).get(evidence["passage_id"])
            evidence["passage_text"] = passage
        return {"section": section, "kept": kept, **data}

    rows = [row(c, s.heading, True) for s in doc.sections for c in s.claims]
    return rows + [row(c, None, False) for c in doc.removed]


def build_bundle(
    view: RunView,
    source: ExportSource,
    source_texts: dict[int, str | None],
    manifest: dict[str, Any],
) -> bytes:
    """The zip (bytes). `source_texts`: each source's full text by number (None: not in the
    store); `manifest`: the run's manifest (run_manifest) to which the hashes are added."""
    folder = view.run_id
    files: dict[str, bytes] = {
        "report.md": source.markdown.encode(),
        "report.html": markdown_to_html(source.markdown, view.question, source.sources).encode(),
        "report.json": source.doc.model_dump_json(indent=2).encode(),
        "report.pdf": report_pdf(source.doc),
        "report.docx": report_docx(source.doc),
        "claims.json": _json(claims_json(source)),
        "sources.json": _json(source.sources),
    }
    entries = []
    for item in source.sources:
        number = item.get("number")
        if not isinstance(number, int):
            continue
        text = source_texts.get(number)
        entry: dict[str, Any] = {
            "number": number,
            "title": item.get("title"),
            "url": item.get("url"),
            "artifact_ref": item.get("artifact_ref"),
        }
        if text is None:
            entry.update(file=None, sha256=None, missing=True)
        else:
            data = text.encode()
            name = f"sources/{number}.txt"
            files[name] = data
            entry.update(file=name, sha256=sha256(data), bytes=len(data), missing=False)
        entries.append(entry)
    files["manifest.json"] = _json(
        {
            "bundle_version": BUNDLE_VERSION,
            "exported_at": datetime.now(UTC).isoformat(),
            "legacy_report": source.legacy,
            **manifest,
            "sources": entries,
        }
    )
    sums = "".join(f"{sha256(data)}  {name}\n" for name, data in sorted(files.items()))
    files["SHA256SUMS"] = sums.encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(f"{folder}/{name}", data)
    return out.getvalue()


def _json(data: Any) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False).encode()
