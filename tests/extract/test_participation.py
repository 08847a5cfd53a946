"""Participation: countries, people and organizations at events and in proposals, each at
its own mention (governance/extract/participation.py)."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from governance.extract.actors import extract_actors
from governance.extract.countries import extract_countries
from governance.extract.events import extract_events
from governance.extract.figures import extract_dates, extract_figures
from governance.extract.nlp import english
from governance.extract.participation import extract_participation
from governance.extract.proposals import extract_proposals
from governance.extract.types import ParticipationFound
from governance.models import Participation
from tests.extract import devset

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "extraction"
CASES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "participation.yaml").read_text())
ROLES = set(Participation.Role.values)


def participation(text: str, published: datetime.date | None = None) -> list[ParticipationFound]:
    doc = english()(text)
    dates = extract_dates(text, doc, published)
    events = extract_events(text, doc, dates, extract_figures(text, doc))
    people, organizations = extract_actors(text, doc)
    found = extract_participation(
        text,
        doc,
        extract_countries(text, doc),
        people,
        organizations,
        events,
        extract_proposals(text, doc),
        dates,
    )
    spans = [(f.start, f.end) for f in found]
    assert len(spans) == len(set(spans)), "two participations share a span"
    for f in found:
        assert f.role in ROLES, f
        assert 0 <= f.start < f.end <= len(text)
        assert f.evidence_start <= f.start or f.evidence_end >= f.end
    return found


def keyed(text: str, found: list[ParticipationFound]) -> dict[tuple[str, str], ParticipationFound]:
    return {(f.participant, f.role): f for f in found}


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:50] for c in CASES])
def test_fixture_case(case: dict[str, Any]) -> None:
    text = case["text"]
    found = participation(text, case.get("published"))
    got = keyed(text, found)
    for expected in case["expected"]:
        key = (expected["participant"], expected["role"])
        assert key in got, f"missing {key}; got {sorted(got)}"
        f = got[key]
        assert text[f.start : f.end].startswith(expected["mention"]), text[f.start : f.end]
        if "subject" in expected:
            assert expected["subject"] in f.subject, f.subject
    for participant, role in case.get("absent", []):
        assert (participant, role) not in got, f"unexpected {(participant, role)}"
    if case.get("exact"):
        assert len(found) == len(case["expected"]), sorted(got)


def test_company_of_an_absent_chief_is_no_exhibitor() -> None:
    text = (
        "Baidu and Tencent showcased chatbots at the World AI Conference. "
        "Amazon also participated, though Amazon CEO Andy Jassy was absent."
    )
    got = keyed(text, participation(text))
    assert {("Baidu", "exhibitor"), ("Tencent", "exhibitor"), ("Amazon", "exhibitor")} <= set(got)
    assert got[("Amazon", "exhibitor")].start == text.index("Amazon")
    assert ("Andy Jassy", "absent") in got


@pytest.mark.skipif(not devset.SEED_ARTICLE.exists(), reason="seed article not on this machine")
def test_seed_article_participation() -> None:
    text = devset.SEED_ARTICLE.read_text()
    found = participation(text, datetime.date(2025, 7, 26))
    got = keyed(text, found)
    waic = "World Artificial Intelligence Conference 2025"
    expected = {
        **{(code, "delegate"): name for code, name in [
            ("RU", "Russia"), ("DE", "Germany"), ("KR", "South Korea"),
            ("ZA", "South Africa"), ("QA", "Qatar"),
        ]},
        **{(org, "exhibitor"): org for org in
           ["Huawei", "Alibaba", "Unitree", "Tesla", "Amazon", "Alphabet"]},
        ("Elon Musk", "absent"): "Elon Musk",
        **{(p, "speaker"): p for p in
           ["Geoffrey Hinton", "Anne Bouverot", "Eric Schmidt", "Kao Kim Hourn"]},
        ("CN", "host"): "China",
        ("FR", "represented"): "French",
    }  # fmt: skip
    for key, mention in expected.items():
        assert key in got, f"missing {key}"
        f = got[key]
        assert (text[f.start : f.end], f.subject, f.subject_type) == (mention, waic, "event")
    host = got[("CN", "host")]
    assert text[host.start - len("Shanghai, ") : host.end] == "Shanghai, China"
    for speaker in ("Geoffrey Hinton", "Anne Bouverot", "Eric Schmidt", "Kao Kim Hourn"):
        assert got[(speaker, "speaker")].date == datetime.date(2025, 7, 26)
    # Proposals: China proposes the body; Washington's export controls target China;
    # the foreign ministry issues the action plan.
    assert got[("CN", "proposer")].subject.startswith("Shanghai: China has proposed")
    assert text[got[("US", "issuer")].start : got[("US", "issuer")].end] == "Washington"
    assert "export restrictions" in got[("CN", "target")].subject
    issuer = got[("Ministry of Foreign Affairs of China", "issuer")]
    assert "Action Plan for Global AI Governance" in issuer.subject
    # Tesla is an exhibitor once, at its first mention, not at "Tesla CEO Elon Musk".
    assert got[("Tesla", "exhibitor")].start == text.index("Tesla")


@pytest.mark.skipif(not devset.available(), reason="dev set not on this machine")
def test_dev_articles_country_roles() -> None:
    """Country roles in the labelled articles: signatories, decliners, supporters and
    the resolution's co-proposers (the countries Fu Cong spoke for)."""
    roles: dict[str, set[tuple[str, str]]] = {}
    for name in devset.dev_files():
        text = devset.dev_text(name)
        found = participation(text, devset.published(name))
        roles[name[:2]] = {(f.participant, f.role) for f in found}
    assert {("GB", "host"), ("US", "signatory"), ("CN", "signatory")} <= roles["07"]
    assert {("US", "declined"), ("GB", "declined"), ("FR", "host")} <= roles["10"]
    assert {("FR", "supporter"), ("CN", "supporter"), ("IN", "supporter")} <= roles["10"]
    co_proposers = {
        "DZ", "BR", "CU", "EG", "ET", "ID", "IR", "IQ", "KZ",
        "LA", "PK", "RU", "SA", "SL", "SG", "UG", "AE", "ZM",
    }  # fmt: skip
    assert {(code, "proposer") for code in co_proposers | {"CN"}} <= roles["13"]
    assert {("CN", "proposer"), ("Li Qiang", "speaker")} <= roles["02"]
    # No country is both for and against one thing.
    for found in roles.values():
        assert not {c for c, r in found if r == "declined"} & {
            c for c, r in found if r in ("signatory", "supporter")
        }


def test_a_sentence_far_from_the_event_is_not_about_it() -> None:
    filler = "Analysts expect chip demand to keep rising through the decade. " * 25
    text = f"Huawei exhibited servers at the World AI Conference in Shanghai. {filler}"
    text += "Months later, Microsoft showcased a new model at its own offices."
    got = keyed(text, participation(text))
    assert ("Huawei", "exhibitor") in got
    assert ("Microsoft", "exhibitor") not in got
