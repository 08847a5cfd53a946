"""The spaCy pipeline as the rules get it (governance/extract/nlp.py)."""

from __future__ import annotations

from governance.extract.nlp import english
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
