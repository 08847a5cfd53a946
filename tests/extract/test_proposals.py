"""Proposals, commitments, measures and plan items (governance/extract/proposals.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from governance.extract.nlp import english
from governance.extract.proposals import extract_proposals
from governance.extract.types import ProposalFound
from tests.extract import devset

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "extraction"
SEED = devset.SEED_ARTICLE
CASES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "proposals.yaml").read_text())


def proposals(text: str) -> list[ProposalFound]:
    found = extract_proposals(text, english()(text))
    for p in found:
        assert text[p.start : p.end] == p.text
    return found


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:50] for c in CASES])
def test_fixture_case(case: dict[str, Any]) -> None:
    found = proposals(case["text"])
    got = [(p.proposer, p.verb) for p in found]
    for expected in case["proposals"]:
        key = (expected["proposer"], expected["verb"])
        assert key in got, f"missing {key}; got {got}"
        items = found[got.index(key)].items
        for item in expected.get("items", []):
            assert item in items, f"missing item {item!r}; got {items}"
    if case.get("exact"):
        assert len(got) == len(case["proposals"]), got
    if "item_count" in case:
        assert sum(len(p.items) for p in found) == case["item_count"], [p.items for p in found]
    if case.get("no_items"):
        assert all(not p.items for p in found), [p.items for p in found]


def test_text_is_the_sentence_not_the_headline_above_it() -> None:
    text = "Leaders Meet in Seoul\n\nTen countries signed the Seoul Declaration on Tuesday."
    (p,) = proposals(text)
    assert p.text == "Ten countries signed the Seoul Declaration on Tuesday."
    assert p.proposer == "Ten countries"


def test_seed_article_proposals_and_items() -> None:
    text = SEED.read_text()
    found = {(p.proposer.replace("’", "'"), p.verb): p for p in proposals(text)}
    body = found[("China", "proposed")]
    assert body.text.startswith("Shanghai: China has proposed the creation of an international")
    plan = found[("China's foreign ministry", "released")]
    assert "Action Plan for Global AI Governance" in plan.text
    assert plan.items == [
        "open-source collaboration",
        "cross-border exchanges",
        "bridging gaps in regulatory philosophies",
        "bridging gaps in technical standards",
    ]
    measure = found[("Washington", "imposed")]
    assert measure.text.startswith("Washington has imposed stringent export restrictions on China")
    # Ma Zhaoxu's "Beijing is considering establishing the headquarters" is about
    # proposal 1, not a new one.
    assert len(found) == 3


# The labels describe each proposal in words; these are what must be read for each:
# (proposer, verb, a phrase of the sentence).
DEV_PROPOSALS = {
    "02-pandaily-waic2025-world-ai-cooperation-organization.txt": [
        ("Chinese government", "announced", "World Artificial Intelligence Cooperation"),
    ],
    "07-export-org-uk-bletchley-declaration-28-countries.txt": [
        ("signatories", "committed", "international cooperation and information sharing"),
    ],
    "10-thedayafterai-paris-summit-us-uk-decline.txt": [
        ("United States and United Kingdom", "declined to sign", "declaration"),
    ],
    "13-ecns-unga-china-led-capacity-building-resolution-july-2024.txt": [
        ("United Nations General Assembly", "adopted", "resolution"),
    ],
}


@pytest.mark.skipif(not devset.available(), reason="news-dev set not on this machine")
@pytest.mark.parametrize("name", sorted(DEV_PROPOSALS))
def test_devset_labelled_proposals(name: str) -> None:
    found = proposals(devset.article(name))
    wanted = DEV_PROPOSALS[name]
    hits = [
        w for w in wanted if any((p.proposer, p.verb) == w[:2] and w[2] in p.text for p in found)
    ]
    print(f"{name}: proposals recall {devset.recall(len(hits), len(wanted)):.2f}")
    assert hits == wanted, [(p.proposer, p.verb, p.text[:60]) for p in found]


def test_devset_more_participants() -> None:
    """Signatories and refusers beyond the labelled proposal: the participation step uses them."""
    if not devset.available():
        pytest.skip("news-dev set not on this machine")
    found = proposals(devset.article("10-thedayafterai-paris-summit-us-uk-decline.txt"))
    assert ("approximately 60 nations", "backed") in [(p.proposer, p.verb) for p in found]
    # The declaration's title comes two paragraphs later; it is kept as evidence.
    titled = [p for p in found if p.verb == "outlines"]
    assert [p.proposer for p in titled] == ["approximately 60 nations"]
    assert "Statement on Inclusive and Sustainable Artificial Intelligence" in titled[0].text
    found = proposals(
        devset.article("13-ecns-unga-china-led-capacity-building-resolution-july-2024.txt")
    )
    assert ("China", "proposed") in [(p.proposer, p.verb) for p in found]
