"""The seed dataset: every fact of FACTS.md, exact evidence, idempotent loading."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.management import call_command

from governance import models
from governance.seed import SeedError, find_span, load_seed

# Every database test here reads the seed article's records, loaded once for the module.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seed_for_the_module")]

WAIC = "World Artificial Intelligence Conference 2025"
QUOTE = (
    "AI should be a common good for all of humanity. China stands ready to share its "
    "development experience, innovations, and AI products with the international community, "
    "particularly with countries in the Global South."
)


# The curated records the seed writes; each must have evidence.
CURATED = [
    models.Event,
    models.EventFigure,
    models.Organization,
    models.Person,
    models.Role,
    models.Proposal,
    models.ActionPlanItem,
    models.Participation,
    models.Statement,
]


def counts() -> dict[str, int]:
    tracked = [models.Source, models.IngestRun, models.Document, *CURATED, models.Evidence]
    history = [m.history.model for m in tracked if hasattr(m, "history")]
    return {m._meta.label: m._default_manager.count() for m in tracked + history}


def test_seed_twice_changes_nothing() -> None:
    before = counts()
    report = load_seed()
    assert not report.changed
    assert counts() == before
    # The command says so too.
    call_command("seed")
    assert counts() == before


def test_seed_keeps_curator_edits_unless_update() -> None:
    proposal = models.Proposal.objects.get(title="Action Plan for Global AI Governance")
    proposal.status = models.Proposal.Status.ADOPTED
    proposal.save()
    load_seed()
    proposal.refresh_from_db()
    assert proposal.status == models.Proposal.Status.ADOPTED
    report = load_seed(update=True)
    proposal.refresh_from_db()
    assert proposal.status == models.Proposal.Status.PROPOSED
    assert report.updated["proposals"] == 1


def test_every_evidence_span_is_exact() -> None:
    evidence = list(models.Evidence.objects.select_related("document"))
    assert len(evidence) > 50
    for ev in evidence:
        assert ev.document.text[ev.start : ev.end] == ev.excerpt, ev


def test_every_seeded_record_has_evidence() -> None:
    for model in CURATED:
        for record in model.objects.all():
            assert record.evidence.exists(), f"{model.__name__} {record} has no evidence"


def test_article_is_the_first_document() -> None:
    document = models.Document.objects.get()
    article = Path(__file__).resolve().parents[2] / "governance/fixtures/seed/waic-2025-article.txt"
    assert document.text == article.read_text(encoding="utf-8")
    assert document.source.kind == models.Source.Kind.MANUAL
    run = document.source.runs.get()
    assert run.outcome == models.IngestRun.Outcome.NEW and run.documents_new == 1


def test_event_and_figures() -> None:
    event = models.Event.objects.get(name=WAIC)
    assert (event.short_name, event.city, event.country_id) == ("WAIC 2025", "Shanghai", "CN")
    assert (event.start_date, event.end_date) == (dt.date(2025, 7, 26), dt.date(2025, 7, 28))
    assert event.theme == "Global Solidarity in the AI Era"
    figures = {f.label: (f.qualifier, f.value) for f in event.figures.all()}
    assert figures == {
        "companies": ("over", 800),
        "products": ("more_than", 3000),
        "large language models": ("exact", 40),
        "AI-enabled devices": ("exact", 50),
        "intelligent robots": ("exact", 60),
        "distinguished attendees": ("over", 1000),
        "countries with delegates at the high-level roundtable": ("over", 30),
    }


def participants(subject: models.Event | models.Proposal, role: str) -> set[str]:
    return {str(p.participant) for p in subject.participations.filter(role=role)}


def test_event_participants() -> None:
    event = models.Event.objects.get(name=WAIC)
    assert participants(event, "exhibitor") == {
        "Huawei",
        "Alibaba",
        "Unitree",
        "Tesla",
        "Amazon",
        "Alphabet",
    }
    assert participants(event, "delegate") == {
        "Russia",
        "Germany",
        "South Korea",
        "South Africa",
        "Qatar",
    }
    assert participants(event, "host") == {"China"}
    assert participants(event, "represented") == {"France"}
    assert participants(event, "absent") == {"Elon Musk"}
    assert {"Geoffrey Hinton", "Anne Bouverot", "Eric Schmidt", "Kao Kim Hourn"} <= participants(
        event, "speaker"
    )
    assert models.Organization.objects.get(name="Alphabet") == (
        models.Organization.objects.get(name="Google").parent
    )
    chinese = set(
        models.Organization.objects.filter(country="CN", kind="company").values_list(
            "name", flat=True
        )
    )
    assert chinese == {"Huawei", "Alibaba", "Unitree"}


def test_proposals() -> None:
    body = models.Proposal.objects.get(kind="international_body")
    assert body.status == "proposed"
    assert body.announced_on == dt.date(2025, 7, 26)
    assert body.event.name == WAIC
    assert "Shanghai" in body.proposed_headquarters
    assert participants(body, "proposer") == {"China"}
    assert participants(body, "announcer") == {"Li Qiang"}

    plan = models.Proposal.objects.get(title="Action Plan for Global AI Governance")
    assert plan.kind == "action_plan"
    assert participants(plan, "issuer") == {"Ministry of Foreign Affairs of China"}
    assert [i.heading for i in plan.items.all()] == [
        "Open-source collaboration",
        "Cross-border exchanges",
        "Bridging gaps in regulatory philosophies",
        "Bridging gaps in technical standards",
    ]
    for invited in ["governments", "corporations", "research institutions", "international"]:
        assert invited in plan.summary

    # Who said where the seat would be: Ma Zhaoxu's statement, with its sentence.
    said = body.headquarters_statement
    assert said.speaker.slug == "ma-zhaoxu"
    assert said.evidence.get().excerpt.endswith(
        "headquarters of the proposed global AI body in Shanghai."
    )

    controls = models.Proposal.objects.get(kind="export_control")
    assert controls.status == "in_force"
    assert participants(controls, "issuer") == {"United States"}
    assert participants(controls, "target") == {"China"}
    # Named by metonym: the evidence is the "Washington" sentence.
    issuer = controls.participations.get(role="issuer")
    assert issuer.evidence.get().excerpt.startswith("Washington has imposed")


def test_people_and_roles() -> None:
    def roles(slug: str) -> set[str]:
        return {str(r) for r in models.Role.objects.filter(person__slug=slug)}

    assert roles("li-qiang") == {"Li Qiang — Premier — China"}
    assert roles("ma-zhaoxu") == {
        "Ma Zhaoxu — Vice Foreign Minister — Ministry of Foreign Affairs of China"
    }
    assert roles("kao-kim-hourn") == {"Kao Kim Hourn — Secretary-General — ASEAN"}
    assert roles("anne-bouverot") == {
        "Anne Bouverot — Special envoy on AI of the French president — France"
    }
    assert roles("eric-schmidt") == {"Eric Schmidt — former CEO — Google"}
    assert roles("elon-musk") == {"Elon Musk — CEO — Tesla"}
    assert "Godfather of AI" in models.Person.objects.get(slug="geoffrey-hinton").description
    assert models.Organization.objects.get(name="ASEAN").kind == "intergovernmental"
    assert models.Organization.objects.get(name="Global South").kind == "country_group"


def test_statements() -> None:
    quote = models.Statement.objects.get(kind="direct_quote")
    # Verbatim: the article closes the quote with a comma, so no full stop is added.
    assert quote.text == QUOTE.rstrip(".")
    assert quote.quoted == []
    assert quote.speaker.name == "Li Qiang"
    assert quote.speaker_role.title == "Premier"
    assert quote.said_on == dt.date(2025, 7, 26)
    assert quote.event.name == WAIC
    excerpts = {e.excerpt for e in quote.evidence.all()}
    assert "Li said" in excerpts
    assert any(QUOTE.rstrip(".") == e for e in excerpts)

    # Issue 24: a partial quote, only the Premier's words inside quotation marks, and no
    # mark in its stored text.
    partial = models.Statement.objects.get(speaker__slug="li-qiang", kind="partial_quote")
    assert partial.quoted == ["the exclusive game of a few countries and companies"]
    assert "“" not in partial.text and "”" not in partial.text
    assert partial.display_text.endswith(
        "becoming “the exclusive game of a few countries and companies”."
    )

    hq = models.Statement.objects.get(speaker__slug="ma-zhaoxu")
    assert hq.kind == "paraphrase" and "headquarters" in hq.text and "Shanghai" in hq.text
    assert hq.proposals.get().kind == "international_body"

    remarks = models.Statement.objects.get(speaker__slug="kao-kim-hourn")
    assert remarks.kind == "remarks"
    assert remarks.said_on == dt.date(2025, 7, 26)
    assert remarks.on_behalf_of_organization.name == "ASEAN"


def test_find_span_rejects_missing_and_ambiguous_excerpts() -> None:
    text = "China said. China said."
    assert find_span(text, {"text": "said.", "occurrence": 1}) == (6, 11, "said.")
    assert find_span(text, {"text": "said.", "occurrence": 2}) == (18, 23, "said.")
    with pytest.raises(SeedError, match="occurs 2 times"):
        find_span(text, "said.")
    with pytest.raises(SeedError, match="not found"):
        find_span(text, "Washington")


def test_broken_seed_file_loads_nothing(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Ada Quist spoke in Shanghai.", encoding="utf-8")
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "document: {title: T, text_file: a.txt, source: {name: S, kind: manual}}\n"
        "people:\n"
        "  - {slug: ada-quist, name: Ada Quist, evidence: ['Ada Quist']}\n"
        "  - {slug: ma-zhaoxu, name: Ma Zhaoxu, evidence: ['Ma Zhaoxu']}\n",
        encoding="utf-8",
    )
    before = counts()
    with pytest.raises(SeedError, match="Ma Zhaoxu"):
        load_seed(seed)
    # One transaction: the person before the bad excerpt is not left behind.
    assert not models.Person.objects.filter(slug="ada-quist").exists()
    assert not models.Document.objects.filter(title="T").exists()
    assert counts() == before


def test_a_headquarters_statement_that_is_not_in_the_seed_loads_nothing(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Ada Quist said the body would sit in Oslo. Bo Li agreed.", encoding="utf-8")
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "document: {title: T, text_file: a.txt, source: {name: S, kind: manual}}\n"
        "people:\n"
        "  - {slug: ada-quist, name: Ada Quist, evidence: ['Ada Quist']}\n"
        "  - {slug: bo-li, name: Bo Li, evidence: ['Bo Li']}\n"
        "proposals:\n"
        "  - {title: An Oslo body, kind: international_body, status: proposed,\n"
        "     proposed_headquarters: Oslo, evidence: ['the body'],\n"
        "     headquarters_statement: {speaker: bo-li,\n"
        "       evidence: 'Ada Quist said the body would sit in Oslo.'}}\n"
        "statements:\n"
        "  - {speaker: ada-quist, kind: paraphrase, text: The body would sit in Oslo.,\n"
        "     evidence: ['Ada Quist said the body would sit in Oslo.']}\n",
        encoding="utf-8",
    )
    before = counts()
    # The statement with that sentence is Ada Quist's, not Bo Li's.
    with pytest.raises(SeedError, match="No statement by Bo Li"):
        load_seed(seed)
    assert not models.Proposal.objects.filter(title="An Oslo body").exists()
    assert counts() == before
    # Named rightly, it links.
    seed.write_text(seed.read_text(encoding="utf-8").replace("bo-li,\n", "ada-quist,\n"))
    load_seed(seed)
    body = models.Proposal.objects.get(title="An Oslo body")
    assert body.headquarters_statement.speaker.slug == "ada-quist"
