"""How a report cites its sources: `[n]`, where n is the source's number in the run's sources.

Defined once here, at the bottom layer, so the activity that writes reports and the API that
renders them agree on what a citation is.
"""

from __future__ import annotations

import re

# Up to four digits: a run never reads 10,000 sources, and a longer number is a year or an id.
CITATION = re.compile(r"\[(\d{1,4})\]")


def citation_numbers(text: str) -> list[int]:
    """The source numbers cited in `text`, in order of first citation."""
    return list(dict.fromkeys(int(n) for n in CITATION.findall(text)))
