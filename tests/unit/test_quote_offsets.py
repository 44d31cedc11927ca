"""Quote spans stay right when lowercasing changes a text's length ("İ".lower() is two
characters): both quote finders map each folded character back to the one it came from."""

from __future__ import annotations

import pytest

from activities.claim_checks import locate_quote
from activities.support_score import find_quote

QUOTE = "Grid batteries store energy for hours."
PASSAGES = [
    f"İİİİ {QUOTE} İstanbul",  # expanding characters before the quote
    f"{QUOTE} İİİİ",  # after it
    f"İ İİ  {QUOTE}",  # before, with spacing folded too
]


@pytest.mark.parametrize("passage", PASSAGES)
def test_support_check_span_is_the_quote(passage: str) -> None:
    span = find_quote(QUOTE, passage)
    assert span is not None
    # The support check matches the quote without its closing full stop.
    assert passage[span[0] : span[1]] == QUOTE.removesuffix(".")


@pytest.mark.parametrize("passage", PASSAGES)
def test_claim_check_span_is_the_quote(passage: str) -> None:
    span = locate_quote(QUOTE, passage)
    assert span is not None
    assert passage[span[0] : span[1]] == QUOTE


def test_an_expanding_character_inside_the_quote_is_found_whole() -> None:
    passage = "Before: İstanbul stores grid energy in pumped hydro. After: İİ"
    quote = "İstanbul stores grid energy in pumped hydro."
    span = find_quote(quote, passage)
    assert span is not None and passage[span[0] : span[1]] == quote.removesuffix(".")
    span = locate_quote(quote, passage)
    assert span is not None and passage[span[0] : span[1]] == quote


def test_a_capital_sigma_at_a_word_end_matches_a_final_sigma() -> None:
    # Lowercased one character at a time, a capital sigma becomes the plain sigma, never the
    # final one a quote written in lowercase ends its word with; both must still match.
    passage = "ROAD \u039f\u0394\u039f\u03a3 IS SHUT FOR WORKS"
    quote = "road \u03bf\u03b4\u03bf\u03c2 is shut for works"
    for finder in (find_quote, locate_quote):
        span = finder(quote, passage)
        assert span is not None, finder.__name__
        assert passage[span[0] : span[1]] == passage, finder.__name__
