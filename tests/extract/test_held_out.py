"""The labelled files held out for the quotation work (devset.added_files): extraction
is not yet held to their labels, but it must read every one of them soundly."""

from __future__ import annotations

import pytest

from governance.extract.pipeline import extract
from tests.extract import devset


@pytest.mark.skipif(not devset.available(), reason="news-dev set not on this machine")
@pytest.mark.parametrize("name", devset.added_files())
def test_held_out_files_extract_with_exact_spans(name: str) -> None:
    text = devset.dev_text(name)
    found = extract(text, published=devset.published(name))
    assert found.supported and found.countries, name
    records = [*found.countries, *found.people, *found.organizations]
    for mention in (m for record in records for m in record.mentions):
        assert text[mention.start : mention.end] == mention.text, (name, mention)
    for quote in found.quotes:
        assert text[quote.start : quote.end] == quote.text, (name, quote)
