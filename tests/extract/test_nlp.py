"""The spaCy pipeline as the rules get it (governance/extract/nlp.py)."""

from __future__ import annotations

from pathlib import Path

from spacy.lang.en.lemmatizer import EnglishLemmatizer

from governance.extract.nlp import RememberingLemmatizer, english
from governance.extract.pipeline import extract
from governance.extract.proposals import extract_proposals

HEADLINE = "Bletchley Declaration on AI safety cooperation signed by 28 countries at UK summit"
LI_QIANG = (
    "Speaking at the three-day event, Chinese Premier Li Qiang emphasized the need for a "
    "unified international approach to regulating AI, warning against a scenario where the "
    "transformative technology becomes the exclusive game of a few countries and companies."
)


def test_a_blank_line_ends_a_sentence() -> None:
    # Without the paragraph_breaks component spaCy runs the headline into the paragraph.
    text = f"{HEADLINE}\n\n{LI_QIANG}"
    sentences = [s.text.strip() for s in english()(text).sents if s.text.strip()]
    assert sentences == [HEADLINE, LI_QIANG]


def test_a_single_line_break_is_left_to_the_parser() -> None:
    """Hard-wrapped text (pasted from a PDF or an email) breaks lines mid-sentence."""
    text = "China proposed a global body\nto coordinate the governance of AI on Saturday."
    assert [s.text for s in english()(text).sents] == [text]


def test_a_paragraph_is_read_on_its_own() -> None:
    """The paraphrase of the paragraph is found, and given to its own speaker."""
    found = extract(f"{HEADLINE}\n\n{LI_QIANG}", language="en")
    assert [(p.speaker, p.verb) for p in found.paraphrases] == [("Li Qiang", "emphasized")]


def test_a_colon_dateline_is_not_the_proposer() -> None:
    text = (
        "The conference drew participation from over 800 companies.\n\n"
        "Shanghai: China has proposed the creation of an international organization aimed "
        "at promoting global cooperation on artificial intelligence."
    )
    (proposal,) = extract_proposals(text, english()(text))
    assert proposal.proposer == "China"


def test_remembered_lemmas_are_spacys() -> None:
    """Every token of the seed article and the news-dev articles, parsed twice (the second
    time every key is remembered), gets the lemma spaCy's own English lemmatizer gives it
    with the same tables."""
    lemmatizer = english().get_pipe("lemmatizer")
    assert isinstance(lemmatizer, RememberingLemmatizer)
    root = Path(__file__).resolve().parents[2]
    texts = [(root / "governance/fixtures/seed/waic-2025-article.txt").read_text()]
    texts += [
        p.read_text() for p in sorted((root.parent / "shared/corpora/news-dev").glob("*.txt"))
    ]
    texts.append("Lemmas of the unseen: she was writing, they wrote, the best-written rules.")
    # One word, one part of speech, two morphologies, two lemmas ("data", "datum").
    texts.append("The data is clear. These data are clear. The media is here. Media are here.")
    nlp = english()
    compared = 0
    for _ in range(2):
        remembered = [[t.lemma_ for t in doc] for doc in nlp.pipe(texts)]
        with nlp.select_pipes(disable=["lemmatizer"]):
            unlemmatized = list(nlp.pipe(texts))
        for doc, lemmas in zip(unlemmatized, remembered, strict=True):
            EnglishLemmatizer.__call__(lemmatizer, doc)  # spaCy's own loop, same tables
            assert lemmas == [t.lemma_ for t in doc]
            compared += len(doc)
    assert compared > 4000
    assert {"write", "be", "rule"} <= {t.lemma_ for t in english()(texts[-2])}
    assert [t.lemma_ for t in english()(texts[-1]) if t.lower_ == "data"] == ["data", "datum"]
