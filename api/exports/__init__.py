"""A finished run's report in the formats people hand on: PDF, DOCX and a zip bundle.

All three are rendered from the run's `domain.report.ReportDoc` (`view.report_json_ref`), the
same structure the Markdown, HTML and JSON formats come from. `export_response` (dispatch.py) is
the one entry point the report route calls.
"""

from __future__ import annotations

from typing import Literal

ExportFormat = Literal["pdf", "docx", "bundle"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("pdf", "docx", "bundle")
