"""Results out of DuckDuckGo's HTML search page, with the standard library's HTML parser.

The page marks each result with `result__a` (title link) and `result__snippet`; links go
through a `/l/?uddg=<target>` redirect whose target we unwrap, so the hit names the real page.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

_BASE = "https://duckduckgo.com/"


def unwrap(href: str) -> str:
    """The target of a DuckDuckGo redirect link, or the link itself."""
    absolute = urljoin(_BASE, href)
    parts = urlsplit(absolute)
    if parts.hostname and parts.hostname.endswith("duckduckgo.com") and parts.path == "/l/":
        target = parse_qs(parts.query).get("uddg")
        if target:
            return target[0]
    return absolute


class _ResultParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.results: list[dict[str, str]] = []
        self._field: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._field is not None:
            self._depth += 1
            return
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if tag == "a" and "result__a" in classes:
            self.results.append({"url": unwrap(values.get("href") or ""), "title": ""})
            self._field, self._depth = "title", 0
        elif "result__snippet" in classes and self.results:
            self.results[-1].setdefault("snippet", "")
            self._field, self._depth = "snippet", 0

    def handle_endtag(self, tag: str) -> None:
        if self._field is None:
            return
        if self._depth == 0:
            self._field = None
        else:
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._field is not None and self.results:
            current = self.results[-1]
            current[self._field] = current.get(self._field, "") + data


def parse_results(html: str) -> list[dict[str, str]]:
    """`url`, `title` and `snippet` of each organic result, in page order; ads are left out."""
    parser = _ResultParser()
    parser.feed(html)
    parser.close()
    return [
        {key: " ".join(value.split()) for key, value in result.items()}
        for result in parser.results
        # Ads link through duckduckgo.com/y.js; they are not answers to the question.
        if not urlsplit(result["url"]).path.startswith("/y.js")
    ]
