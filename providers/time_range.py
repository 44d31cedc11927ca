"""A run's publication window in each web provider's own terms (docs/api.md, "Source policy").

- Brave `freshness` takes a date range (`YYYY-MM-DDtoYYYY-MM-DD`): the window is sent exactly,
  an open start as 1970-01-01 and an open end as today.
- SearXNG `time_range` knows only `day`, `month` and `year`, counted back from today: the start
  of the window is rounded out to the smallest of them that still covers it (so nothing inside
  the window is cut). A window that starts more than a year ago, or sets only an end, cannot be
  said this way and is not applied; nor is the end of any window.
- Tavily and DuckDuckGo are not given a window (no documented parameter we rely on): the run
  says so in a `window_ignored` event, as it does for the local index.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.source_policy import DateWindow

EPOCH = date(1970, 1, 1)
# SearXNG's values, widest last, with the most days back each one reaches.
SEARXNG_RANGES = (("day", 1), ("month", 31), ("year", 366))


def today() -> date:
    return datetime.now(UTC).date()


def brave_freshness(window: DateWindow, on: date) -> str | None:
    """Brave's `freshness` for `window` on day `on`; None when the window sets no date."""
    if window.published_after is None and window.published_before is None:
        return None
    start = window.published_after or EPOCH
    end = window.published_before or on
    return f"{start.isoformat()}to{end.isoformat()}"


def searxng_time_range(window: DateWindow, on: date) -> str | None:
    """SearXNG's `time_range` for `window` on day `on`; None when no value can say it."""
    if window.published_after is None:
        return None
    back = (on - window.published_after).days
    for name, days in SEARXNG_RANGES:
        if back <= days:
            return name
    return None
