"""Run every extractor over one text: plain functions in, an Extraction out (no database)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import TYPE_CHECKING

from governance.extract.types import CountryFound, Extraction
from governance.ingest.language import detect_language

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

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


# A batch handed to spaCy at once: batching saves the pipeline's fixed cost per call (a
# quarter of a news article's parse), and its size bounds the memory the Docs hold.
BATCH_CHARS = 100_000
BATCH_TEXTS = 32


def language_of(text: str, language: str = "") -> str:
    """`language` if known (a Document's, from parse time), else detected; "" if unsure."""
    return language or detect_language(text)


def is_read(language: str) -> bool:
    """Whether extract() reads text in `language` (as language_of gives it)."""
    return language in ("", "en")


def in_batches[T](
    items: Iterable[T], size: Callable[[T], int], *, most: int, most_size: int
) -> Iterator[list[T]]:
    """`items` in order, in runs of at most `most` items and `most_size` in all by `size`;
    an item bigger than that on its own. Both parse() and the extraction messages
    (ingest.scheduling.extraction_batches) cut this way, so a message is one parse."""
    batch: list[T] = []
    total = 0
    for item in items:
        n = size(item)
        if batch and (total + n > most_size or len(batch) >= most):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += n
    if batch:
        yield batch


def parse(texts: Iterable[str]) -> Iterator[Doc | None]:
    """spaCy's parse of each English text as extract() makes it, in batches (nlp.pipe:
    the same parses as one at a time, less work per text). None where a batch failed:
    extract() then parses that text alone, so one bad text fails only itself."""
    from governance.extract.nlp import english

    read = (text[:MAX_CHARS] for text in texts)  # as the rules read them
    for batch in in_batches(read, len, most=BATCH_TEXTS, most_size=BATCH_CHARS):
        yield from _parse_batch(english(), batch)


def _parse_batch(nlp: Language, texts: list[str]) -> list[Doc | None]:
    from governance.extract.proposals import read_sentences

    try:
        docs = list(nlp.pipe([_tokenizable(t) for t in texts], batch_size=len(texts)))
    except Exception:
        return [None] * len(texts)
    # The lines the proposal rules parse again, for the whole batch in one call. Should
    # that fail, each document's rules parse its own, and fail only that one if they must.
    with contextlib.suppress(Exception):
        read_sentences(texts, docs)
    return docs


def extract_country_mentions(text: str, *, language: str = "") -> list[CountryFound]:
    """The countries extract() finds in `text`, from the same text, language check and
    parse, without the other rules: for a document that gets its mentions without
    candidates (the seed article)."""
    language = language_of(text, language)
    if not is_read(language):
        return []
    from governance.extract.countries import extract_countries
    from governance.extract.nlp import english

    text = text[:MAX_CHARS]
    return extract_countries(text, english()(_tokenizable(text)))


def extract(
    text: str, *, language: str = "", published: date | None = None, doc: Doc | None = None
) -> Extraction:
    """Everything the rules find in `text`; spans index `text` exactly.

    `language` is the Document's if known (else detected): text not in English is
    not extracted, rather than given wrong candidates. `doc` is the text's parse from
    parse(), if made already.
    """
    language = language_of(text, language)
    if not is_read(language):
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
    if doc is None:
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
