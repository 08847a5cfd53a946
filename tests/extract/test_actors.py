"""People with role and affiliation, and organizations: labelled snippets, seed, dev set."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from governance.extract.actors import extract_actors
from governance.extract.nlp import english
from governance.extract.types import OrganizationFound, PersonFound
from tests.extract.devset import FIXTURES, SEED_ARTICLE, dev_files, dev_labels, dev_text

CASES = yaml.safe_load((FIXTURES / "people.yaml").read_text(encoding="utf-8"))["cases"]


def run(text: str) -> tuple[list[PersonFound], list[OrganizationFound]]:
    people, organizations = extract_actors(text, english()(text))
    for record in [*people, *organizations]:
        for mention in record.mentions:
            assert text[mention.start : mention.end] == mention.text
    return people, organizations


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_labelled_snippets(case: dict[str, Any]) -> None:
    people, organizations = run(case["text"])
    by_name = {p.name: p for p in people}
    for expected in case.get("people", []):
        person = by_name.get(expected["name"])
        assert person is not None, f"{expected['name']} not found in {list(by_name)}"
        for key in ("role", "affiliation"):
            if key in expected:
                assert getattr(person, key) == expected[key], key
        shorts = {m.text for m in person.mentions if m.type == "short"}
        assert set(expected.get("short", [])) <= shorts
    for absent in case.get("absent", []):
        assert absent not in by_name
    if case.get("exact_people"):
        assert set(by_name) == {e["name"] for e in case["people"]}
    orgs = {o.name: o.kind for o in organizations}
    for expected in case.get("organizations", []):
        assert orgs.get(expected["name"]) == expected["kind"], (expected, orgs)
    for absent in case.get("absent_organizations", []):
        assert absent not in orgs


def test_seed_article_people_roles_and_organizations() -> None:
    people, organizations = run(SEED_ARTICLE.read_text(encoding="utf-8"))
    found = {p.name: (p.role, p.affiliation) for p in people}
    assert found == {
        "Li Qiang": ("Premier", "China"),
        "Ma Zhaoxu": ("Vice Foreign Minister", "China"),
        "Kao Kim Hourn": ("Secretary-General", "ASEAN"),
        "Geoffrey Hinton": ("", ""),
        "Anne Bouverot": ("special envoy on AI", "France"),
        "Eric Schmidt": ("former CEO", "Google"),
        "Elon Musk": ("CEO", "Tesla"),
    }
    li = next(p for p in people if p.name == "Li Qiang")
    assert [(m.text, m.type) for m in li.mentions] == [("Li Qiang", "name"), ("Li", "short")]
    kinds = {o.name: o.kind for o in organizations}
    assert kinds["ASEAN"] == "intergovernmental"
    for company in ("Huawei", "Alibaba", "Unitree", "Tesla", "Amazon", "Alphabet", "Nvidia"):
        assert kinds[company] == "company"
    assert kinds["Ministry of Foreign Affairs of China"] == "government"
    assert "the AI Era" not in kinds and "AI Era" not in kinds


@pytest.mark.parametrize("name", dev_files())
def test_dev_set_people(name: str) -> None:
    """Exactly the labelled people: recall and precision both 1.0 on the dev set."""
    people, _ = run(dev_text(name))
    assert {p.name for p in people} == {n for n, _ in dev_labels()[name]["people"]}


@pytest.mark.parametrize("name", dev_files())
def test_dev_set_organizations(name: str) -> None:
    _, organizations = run(dev_text(name))
    found = {o.name for o in organizations} | {m.text for o in organizations for m in o.mentions}
    for label in dev_labels()[name]["orgs"]:
        assert label in found


def test_dev_set_roles() -> None:
    roles = {}
    for name in dev_files():
        people, _ = run(dev_text(name))
        roles |= {p.name: (p.role, p.affiliation) for p in people}
    assert roles["Rishi Sunak"] == ("prime minister", "United Kingdom")
    assert roles["Michelle Donelan"] == (
        "secretary of state for science, innovation and technology",
        "United Kingdom",
    )
    assert roles["Danielle Keen"] == ("author", "")
    assert roles["JD Vance"] == ("Vice President", "United States")
    assert roles["Emmanuel Macron"] == ("President", "France")
    assert roles["Fu Cong"] == ("permanent representative to the UN", "China")
