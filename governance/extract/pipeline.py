"""Run every extractor over one text: plain functions in, an Extraction out (no database)."""

from __future__ import annotations

import re
from datetime import date

from governance.extract.types import Extraction
from governance.ingest.language import detect_language

# spaCy's parse is linear but memory-hungry; a longer text is cut here (an article is
# a few thousand characters; anything past this is not an article).
MAX_CHARS = 200_000

# spaCy's tokenizer peels prefix and suffix punctuation off a word one character at a
# time, re-slicing the rest each time: a run of 10,000 quote marks took 8 s, quadratic.
# The parse gets such runs broken by spaces, character for character, so that every
# offset in the Doc still indexes the text the rules read.
_PUNCTUATION_RUN = re.compile(r"[^\w\s]{40,}")


def _tokenizable(text: str) -> str:
    return _PUNCTUATION_RUN.sub(
        lambda m: "".join(ch if i % 2 == 0 else " " for i, ch in enumerate(m.group())), text
    )


def extract(text: str, *, language: str = "", published: date | None = None) -> Extraction:
    """Everything the rules find in `text`; spans index `text` exactly.

    `language` is the Document's if known (else detected): text not in English is
    not extracted, rather than given wrong candidates.
    """
    language = language or detect_language(text)
    if language and language != "en":
        return Extraction(language=language, supported=False)
    # Imported here so that a process that never extracts English never loads spaCy.
    from governance.extract.actors import extract_actors
    from governance.extract.countries import extract_countries
    from governance.extract.events import extract_events
    from governance.extract.figures import extract_dates, extract_figures
    from governance.extract.headquarters import attach_headquarters
    from governance.extract.nlp import english
    from governance.extract.paraphrases import extract_paraphrases
    from governance.extract.participation import extract_participation
    from governance.extract.proposals import extract_proposals
    from governance.extract.quotes import extract_quotes

    text = text[:MAX_CHARS]
    doc = english()(_tokenizable(text))
    people, organizations = extract_actors(text, doc)
    countries = extract_countries(text, doc)
    proposals = extract_proposals(text, doc)
    # A proposed body's seat is often stated sentences after the proposal itself.
    attach_headquarters(text, doc, proposals)
    figures = extract_figures(text, doc)
    dates = extract_dates(text, doc, published)
    # Events and participation read what the others found, so they run last.
    events = extract_events(text, doc, dates, figures)
    participation = extract_participation(
        text, doc, countries, people, organizations, events, proposals, dates
    )
    quotes = extract_quotes(text, doc, people, organizations)
    # Paraphrases skip what the quotes already hold, so they run after them.
    paraphrases = extract_paraphrases(text, doc, people, quotes)
    return Extraction(
        language=language or "en",
        countries=countries,
        people=people,
        organizations=organizations,
        quotes=quotes,
        proposals=proposals,
        figures=figures,
        dates=dates,
        events=events,
        participation=participation,
        paraphrases=paraphrases,
    )
