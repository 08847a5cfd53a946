"""Every fact of the seed article (FACTS.md) comes out of extraction as a Candidate.

The seed is loaded first, so candidates that name a curated record (people,
organizations, the event, Li Qiang's statement) link to it. Facts the rules cannot
reach from the article's words are asserted as absent at the end, so a rule that
starts finding them shows up here.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from governance.extract.candidates import write_candidates
from governance.extract.pipeline import extract
from governance.models import Candidate, Document, Event, Organization, Person, Statement
from governance.seed import load_seed

pytestmark = pytest.mark.django_db

# Not printed in the article: the ASEAN post about the opening is dated that day.
PUBLISHED = datetime.date(2025, 7, 26)
WAIC = "World Artificial Intelligence Conference 2025"


@pytest.fixture
def candidates() -> list[Candidate]:
    load_seed()
    document = Document.objects.get()
    extraction = extract(document.text, language="en", published=PUBLISHED)
    write_candidates(document, extraction)
    found = list(document.candidates.all())
    for c in found:
        assert document.text[c.start : c.end] == c.excerpt
    return found


def of_kind(candidates: list[Candidate], kind: str) -> list[Candidate]:
    return [c for c in candidates if c.kind == kind]


def payloads(candidates: list[Candidate], kind: str) -> list[dict[str, Any]]:
    return [c.payload for c in of_kind(candidates, kind)]


def participations(candidates: list[Candidate]) -> set[tuple[str, str, str]]:
    return {
        (p["participant"], p["role"], p["subject_type"])
        for p in payloads(candidates, Candidate.Kind.PARTICIPATION)
    }


def test_event(candidates: list[Candidate]) -> None:
    (event,) = of_kind(candidates, Candidate.Kind.EVENT)
    payload = event.payload
    assert payload["name"] == WAIC
    assert (payload["short_name"], payload["year"]) == ("WAIC", "2025")
    assert (payload["city"], payload["country"]) == ("Shanghai", "CN")
    assert payload["theme"] == "Global Solidarity in the AI Era"
    assert (payload["start_date"], payload["end_date"]) == ("2025-07-26", "2025-07-28")
    assert event.record == Event.objects.get(name=WAIC)


def test_event_figures(candidates: list[Candidate]) -> None:
    got = {
        (f["value"], f["qualifier"], f["unit"]) for f in payloads(candidates, Candidate.Kind.FIGURE)
    }
    assert {
        (800, "over", "companies"),
        (3000, "more_than", "products"),
        (40, "exact", "large language models"),
        (50, "exact", "AI-enabled devices"),
        (60, "exact", "intelligent robots"),
        (30, "over", "countries"),
    } <= got
    # The post is cut off after "distinguished": the counted noun is lost with it.
    assert (1000, "over", "distinguished") in got


def test_proposals_and_action_items(candidates: list[Candidate]) -> None:
    got = {(p["proposer"], p["verb"]): p for p in payloads(candidates, Candidate.Kind.PROPOSAL)}
    assert "international organization" in got[("China", "proposed")]["text"]
    assert "export restrictions" in got[("Washington", "imposed")]["text"]
    plan = got[("China’s foreign ministry", "released")]
    assert "Action Plan for Global AI Governance" in plan["text"]
    headings = [i["heading"] for i in payloads(candidates, Candidate.Kind.ACTION_ITEM)]
    assert headings == [
        "open-source collaboration",
        "cross-border exchanges",
        "bridging gaps in regulatory philosophies",
        "bridging gaps in technical standards",
    ]


def test_people_with_roles(candidates: list[Candidate]) -> None:
    people = {c.payload["name"]: c for c in of_kind(candidates, Candidate.Kind.PERSON)}
    for name, role, affiliation in [
        ("Li Qiang", "Premier", "China"),
        ("Ma Zhaoxu", "Vice Foreign Minister", "China"),
        ("Kao Kim Hourn", "Secretary-General", "ASEAN"),
        ("Anne Bouverot", "special envoy on AI", "France"),
        ("Eric Schmidt", "former CEO", "Google"),
        ("Elon Musk", "CEO", "Tesla"),
        ("Geoffrey Hinton", "", ""),
    ]:
        payload = people[name].payload
        assert (payload["role"], payload["affiliation"]) == (role, affiliation), name
        assert people[name].record == Person.objects.get(name=name), name


def test_organizations(candidates: list[Candidate]) -> None:
    orgs = {c.payload["name"]: c for c in of_kind(candidates, Candidate.Kind.ORGANIZATION)}
    assert orgs["ASEAN"].payload["kind"] == "intergovernmental"
    for company in ["Huawei", "Alibaba", "Unitree", "Tesla", "Amazon", "Alphabet", "Nvidia"]:
        assert orgs[company].payload["kind"] == "company", company
        assert orgs[company].record == Organization.objects.get(name=company), company
    assert orgs["Ministry of Foreign Affairs of China"].payload["kind"] == "government"


def quotes_of(candidates: list[Candidate], kind: str) -> list[Candidate]:
    """QUOTE candidates of one kind: "direct"/"partial" quotes or "paraphrase"."""
    return [c for c in of_kind(candidates, Candidate.Kind.QUOTE) if c.payload["kind"] == kind]


def test_li_qiangs_direct_quote(candidates: list[Candidate]) -> None:
    (quote,) = quotes_of(candidates, "direct")
    assert quote.payload["speaker"] == "Li Qiang"
    assert quote.payload["text"].startswith("AI should be a common good for all of humanity.")
    assert quote.payload["text"].endswith("particularly with countries in the Global South")
    assert quote.record == Statement.objects.get(kind=Statement.Kind.DIRECT_QUOTE)


def test_paraphrases(candidates: list[Candidate]) -> None:
    paraphrases = {c.payload["speaker"]: c for c in quotes_of(candidates, "paraphrase")}
    assert set(paraphrases) == {"Li Qiang", "Ma Zhaoxu"}
    li = paraphrases["Li Qiang"]
    assert li.payload["text"].startswith("emphasized the need for a unified international")
    assert "exclusive game of a few countries and companies" in li.payload["text"]
    assert li.extractor.startswith("paraphrase-")
    ma = paraphrases["Ma Zhaoxu"]
    assert ma.payload["text"] == (
        "Beijing is considering establishing the headquarters of the proposed global AI body"
        " in Shanghai"
    )
    assert ma.payload["verb"] == "said"
    for name, candidate in paraphrases.items():
        assert candidate.payload["speaker_id"] == Person.objects.get(name=name).pk
        # Li Qiang's is filed as a partial quote (reported speech holding his words);
        # the candidate's plain reported speech is linked to it all the same.
        assert candidate.record == Statement.objects.get(
            speaker__name=name,
            kind__in=[Statement.Kind.PARAPHRASE, Statement.Kind.PARTIAL_QUOTE],
        ), name


def test_proposed_headquarters(candidates: list[Candidate]) -> None:
    got = {(p["proposer"], p["verb"]): p for p in payloads(candidates, Candidate.Kind.PROPOSAL)}
    assert got[("China", "proposed")]["headquarters"] == "Shanghai"
    assert got[("Washington", "imposed")]["headquarters"] == ""


def test_global_south_is_a_group_of_countries(candidates: list[Candidate]) -> None:
    orgs = {c.payload["name"]: c for c in of_kind(candidates, Candidate.Kind.ORGANIZATION)}
    assert orgs["Global South"].payload["kind"] == "country_group"
    assert orgs["Global South"].record == Organization.objects.get(name="Global South")


def test_countries_and_their_roles(candidates: list[Candidate]) -> None:
    codes = {c.payload["code"] for c in of_kind(candidates, Candidate.Kind.COUNTRY)}
    assert codes == {"CN", "US", "RU", "DE", "KR", "ZA", "QA", "FR"}  # no "Global South"
    got = participations(candidates)
    assert {
        ("CN", "proposer", "proposal"),
        ("CN", "host", "event"),
        ("CN", "target", "proposal"),
        ("US", "issuer", "proposal"),
        ("FR", "represented", "event"),
        *((code, "delegate", "event") for code in ["RU", "DE", "KR", "ZA", "QA"]),
    } <= got


def test_people_and_companies_at_the_event(candidates: list[Candidate]) -> None:
    event_roles = {
        (p["participant"], p["role"]): p
        for p in payloads(candidates, Candidate.Kind.PARTICIPATION)
        if p["subject_type"] == "event"
    }
    for company in ["Huawei", "Alibaba", "Unitree", "Tesla", "Amazon", "Alphabet"]:
        assert event_roles[(company, "exhibitor")]["subject"] == WAIC
    assert (("Elon Musk", "absent")) in event_roles
    for speaker in ["Geoffrey Hinton", "Anne Bouverot", "Eric Schmidt", "Kao Kim Hourn"]:
        assert event_roles[(speaker, "speaker")]["date"] == "2025-07-26", speaker
    issuer = next(
        p
        for p in payloads(candidates, Candidate.Kind.PARTICIPATION)
        if p["participant"] == "Ministry of Foreign Affairs of China"
    )
    assert issuer["role"] == "issuer" and issuer["participant_type"] == "organization"


def test_candidate_spans_are_unique(candidates: list[Candidate]) -> None:
    keys = [(c.kind, c.start, c.end, c.extractor) for c in candidates]
    assert len(keys) == len(set(keys))


def test_announcer_is_inferred_for_review(candidates: list[Candidate]) -> None:
    """ "The announcement came during the opening" names no agent; the Chinese official
    speaking in the next sentence is proposed as announcer, at a lower confidence."""
    announcer = next(
        c
        for c in candidates
        if c.kind == Candidate.Kind.PARTICIPATION and c.payload["role"] == "announcer"
    )
    assert announcer.payload["participant"] == "Li Qiang"
    assert announcer.payload["subject_type"] == "proposal"
    assert "international organization" in announcer.payload["subject"]
    assert announcer.payload["evidence"].startswith("The announcement came during the opening")
    assert "Li Qiang" in announcer.payload["evidence"]
    assert announcer.extractor.startswith("participation-inferred")
    assert announcer.confidence < min(
        c.confidence for c in candidates if c.extractor.startswith("participation-rules")
    )
