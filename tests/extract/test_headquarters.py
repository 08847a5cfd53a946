"""A proposed body's seat, attached to its proposal (governance/extract/headquarters.py)."""

from __future__ import annotations

import pytest

from governance.extract.headquarters import attach_headquarters
from governance.extract.nlp import english
from governance.extract.types import ProposalFound


def seat(text: str, proposal_sentence: str) -> str:
    doc = english()(text)
    start = text.index(proposal_sentence)
    proposal = ProposalFound("X", proposal_sentence, start, start + len(proposal_sentence))
    attach_headquarters(text, doc, [proposal])
    return proposal.headquarters


@pytest.mark.parametrize(
    ("text", "proposal", "city"),
    [
        (
            "Kenya proposed a new international agency for AI safety. "
            "The agency is to be based in Nairobi, officials said.",
            "Kenya proposed a new international agency for AI safety.",
            "Nairobi",
        ),
        (
            "The ministers backed a global AI body. "
            "Its headquarters is provisionally planned for Geneva.",
            "The ministers backed a global AI body.",
            "Geneva",
        ),
        (
            # An existing company's seat is a description, not a plan.
            "China proposed an international organization on AI cooperation. "
            "Huawei, headquartered in Shenzhen, showed its chips.",
            "China proposed an international organization on AI cooperation.",
            "",
        ),
        (
            # A plan or a law is no body: it has no seat to give.
            "The ministry released an action plan on AI. The new office will be based in Beijing.",
            "The ministry released an action plan on AI.",
            "",
        ),
    ],
)
def test_planned_seat(text: str, proposal: str, city: str) -> None:
    assert seat(text, proposal) == city
