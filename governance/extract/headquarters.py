"""Where a proposed international body is to sit, attached to its proposal.

Articles state the seat apart from the proposal, often sentences later and in
another person's words ("Ma Zhaoxu said Beijing is considering establishing the
headquarters of the proposed global AI body in Shanghai"). A sentence that puts
headquarters (or a base) in a city, and speaks of it as planned, gives that city
to the nearest preceding proposal of a new body. "Huawei, headquartered in
Shenzhen" says nothing planned and is left alone. Pure functions, no database.
"""

from __future__ import annotations

import re

from spacy.tokens import Doc

from governance.extract.types import ProposalFound

_CITY = r"(?P<city>[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+){0,2})"
# "headquarters ... in/for/at City" (at most a few words between, same clause),
# "headquartered in City", "(to be) based in City".
_SEAT = re.compile(
    rf"\bheadquarter(?:s|ed)?\b(?:[^.;,]{{0,80}}?)\b(?:in|for|at)\s+(?:the\s+city\s+of\s+)?{_CITY}"
    rf"|\bbased\s+in\s+{_CITY.replace('city', 'city2')}"
)
# Words that make the seat a plan, not a description of an existing body.
_PLANNED = re.compile(
    r"\b(?:propos\w*|plan\w*|consider\w*|provisional\w*|establish\w*|set\s+up|new|future|"
    r"will|would|could|to\s+be|intend\w*|expect\w*|host)\b",
    re.IGNORECASE,
)
# A proposal of a new body: the noun, with a word that marks it as international.
_BODY = re.compile(
    r"\b(?:international|global|new|proposed|multilateral|world|intergovernmental)\s+"
    r"(?:[\w-]+\s+){0,3}?(?:organi[sz]ation|body|agency|institution|institute|council|"
    r"centre|center|secretariat|authority|office|panel|commission|network)\b",
    re.IGNORECASE,
)


def is_body_proposal(proposal: ProposalFound) -> bool:
    return bool(_BODY.search(proposal.text))


def attach_headquarters(text: str, doc: Doc, proposals: list[ProposalFound]) -> None:
    """Set `headquarters` on the proposal each planned seat belongs to (in place)."""
    bodies = sorted((p for p in proposals if is_body_proposal(p)), key=lambda p: p.start)
    if not bodies:
        return
    for sent in doc.sents:
        sentence = sent.text
        match = _SEAT.search(sentence)
        if match is None or not _PLANNED.search(sentence):
            continue
        city = match.group("city") or match.group("city2")
        # The proposal stated before (or in) this sentence; the seat refines it.
        earlier = [p for p in bodies if p.start <= sent.start_char + match.start()]
        if earlier and not earlier[-1].headquarters:
            earlier[-1].headquarters = city
