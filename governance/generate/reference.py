"""The records statements hang on: organizations, people and roles, events, proposals.

They number in the thousands, so the ORM's bulk_create (which returns ids on
PostgreSQL) is fast enough; statements and documents go through COPY instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.utils.text import slugify

from governance import models
from governance.generate import vocab
from governance.generate.sampling import (
    FIRST_DAY,
    LAST_DAY,
    Weighted,
    day,
    news_day,
    zipf,
)

# Generated slugs start with this; slugify() collapses runs of hyphens, so no
# slug made from a name (seed, curated, ingested) can ever start with it.
SLUG_PREFIX = "gen--"
BATCH = 5000

# Participation roles by subject; "unknown" is the absence of a row, so it is
# never written, while DECLINED and ABSENT are facts of their own.
R = models.Participation.Role
PROPOSAL_ROLES = Weighted(
    [R.SUPPORTER, R.SIGNATORY, R.OPPONENT, R.DECLINED, R.OBSERVER, R.TARGET, R.ABSENT],
    [30, 30, 8, 8, 8, 4, 3],
)
EVENT_ROLES = Weighted(
    [R.DELEGATE, R.REPRESENTED, R.OBSERVER, R.DECLINED, R.ABSENT, R.EXHIBITOR],
    [45, 20, 10, 6, 4, 15],
)
LEAD_ROLES = Weighted([R.PROPOSER, R.ISSUER, R.ANNOUNCER], [6, 3, 1])


@dataclass(slots=True)
class RoleInfo:
    id: int
    title: str
    organization_id: int | None
    country: str | None
    start: int  # date ordinals
    end: int | None


@dataclass(slots=True)
class PersonInfo:
    id: int
    name: str
    roles: list[RoleInfo]


@dataclass(slots=True)
class ParticipationInfo:
    id: int
    participant: str  # the participant's name as text shows it
    role: str
    country: str | None


@dataclass(slots=True)
class SubjectInfo:
    """An event or a proposal, with what documents about it need."""

    id: int
    name: str
    country: str | None
    city: str
    start: int
    end: int
    participations: list[ParticipationInfo] = field(default_factory=list)


@dataclass
class Reference:
    country_names: dict[str, str]
    countries: Weighted[str]
    cities: dict[str, tuple[str, ...]]
    organizations: dict[int, str]
    people: list[PersonInfo]
    speakers: Weighted[PersonInfo]
    events: list[SubjectInfo]
    proposals: list[SubjectInfo]
    counts: dict[str, int] = field(default_factory=dict)

    def city(self, rng: random.Random, code: str | None) -> str:
        options = self.cities.get(code or "", ())
        return options[rng.randrange(len(options))] if options else ""


def load_countries() -> tuple[dict[str, str], Weighted[str], dict[str, tuple[str, ...]], dict]:
    """Every Country in the database, weighted as the news weighs them; never creates any."""
    rows = list(models.Country.objects.order_by("code").values_list("code", "name", "subregion"))
    if not rows:
        raise RuntimeError("no countries: run the migrations first")
    names = {code: name for code, name, _ in rows}
    subregions = {code: sub for code, _, sub in rows}
    top = dict(vocab.COUNTRY_WEIGHTS)
    codes = sorted(names, key=lambda c: (-top.get(c, vocab.TAIL_WEIGHT), c))
    weighted = Weighted(codes, [top.get(c, vocab.TAIL_WEIGHT) for c in codes])
    capitals: dict[str, list[str]] = {}
    for code, alias in (
        models.CountryAlias.objects.filter(kind=models.CountryAlias.Kind.CAPITAL)
        .order_by("country_id", "alias")
        .values_list("country_id", "alias")
    ):
        capitals.setdefault(code, []).append(alias)
    cities = {code: tuple(capitals[code][:1]) for code in sorted(capitals)}
    cities.update({c: v for c, v in vocab.CITIES.items() if c in names})
    return names, weighted, cities, subregions


def person_name(rng: random.Random, code: str | None, subregions: dict[str, str]) -> str:
    pool = vocab.POOL_BY_COUNTRY.get(code or "") or vocab.POOL_BY_SUBREGION.get(
        subregions.get(code or "", ""), "en"
    )
    given, family = vocab.NAME_POOLS[pool]
    first = given[rng.randrange(len(given))]
    last = family[rng.randrange(len(family))]
    # Chinese, Korean and Japanese names as English-language news writes them.
    return f"{last} {first}" if pool in ("zh", "ko") else f"{first} {last}"


class SlugMaker:
    """Unique generated slugs, numbered in creation order (so deterministic)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, text: str) -> str:
        base = SLUG_PREFIX + (slugify(text)[:80] or "item")
        slug, n = base, 2
        while slug in self.seen:
            slug, n = f"{base}-{n}", n + 1
        self.seen.add(slug)
        return slug


def unique_name(rng: random.Random, make, taken: set[str]) -> str:
    """A name from `make(rng)` that no generated or existing record uses."""
    for _ in range(20):
        name = make(rng)
        if name not in taken:
            break
    else:
        base, n = name, 2
        while f"{base} ({n})" in taken:
            n += 1
        name = f"{base} ({n})"
    taken.add(name)
    return name


def _fill(rng: random.Random, forms: tuple[str, ...], **slots: str) -> str:
    return forms[rng.randrange(len(forms))].format(**slots)


def _pick(rng: random.Random, seq):
    return seq[rng.randrange(len(seq))]


def build_reference(
    rng: random.Random, *, people: int, organizations: int, proposals: int, events: int
) -> Reference:
    names, countries, cities, subregions = load_countries()
    slugs = SlugMaker()
    regions = ("Asia-Pacific", "African", "European", "Latin American", "Nordic", "Gulf", "Pacific")
    counts: dict[str, int] = {}

    def place(code: str | None) -> str:
        return ref_city(code) or names.get(code or "", "Global")

    def ref_city(code: str | None) -> str:
        options = cities.get(code or "", ())
        return options[rng.randrange(len(options))] if options else ""

    # --- Organizations
    taken = set(models.Organization.objects.values_list("name", flat=True))
    kinds = Weighted(*zip(*vocab.ORG_KIND_WEIGHTS, strict=True))
    orgs: list[models.Organization] = []
    members: list[tuple[int, list[str]]] = []
    for i in range(organizations):
        kind = kinds.pick(rng)
        code = countries.pick(rng) if kind not in ("intergovernmental", "country_group") else None
        fld = _pick(rng, vocab.RESEARCH_FIELDS)
        where = place(code)
        if kind == "company":
            make = lambda r: f"{_pick(r, vocab.COMPANY_STEMS)} {_pick(r, vocab.COMPANY_SUFFIXES)}"  # noqa: E731
        elif kind == "government":
            make = lambda r, c=code: f"{names[c]} {_pick(r, vocab.GOVERNMENT_BODIES)}"  # noqa: E731
        else:
            forms = {
                "research": vocab.RESEARCH_FORMS,
                "civil_society": vocab.CIVIL_SOCIETY_FORMS,
                "intergovernmental": vocab.IGO_FORMS,
                "standards": vocab.STANDARDS_FORMS,
                "country_group": vocab.GROUP_FORMS,
                "media": vocab.MEDIA_FORMS,
                "other": vocab.OTHER_FORMS,
            }[kind]
            make = lambda r, f=forms, w=where: _fill(  # noqa: E731
                r, f, place=w, field=_pick(r, vocab.RESEARCH_FIELDS), region=_pick(r, regions)
            )
        name = unique_name(rng, make, taken)
        orgs.append(
            models.Organization(
                name=name,
                slug=slugs(name),
                kind=kind,
                country_id=code,
                description=f"{models.Organization.Kind(kind).label} working on {fld.lower()}.",
            )
        )
        if kind in ("intergovernmental", "country_group"):
            size = rng.randint(3, 40)
            members.append((i, sorted({countries.pick(rng) for _ in range(size)})))
    models.Organization.objects.bulk_create(orgs, batch_size=BATCH)
    through = models.Organization.members.through
    through.objects.bulk_create(
        [through(organization_id=orgs[i].pk, country_id=c) for i, codes in members for c in codes],
        batch_size=BATCH,
    )
    counts["organizations"] = len(orgs)
    org_names = {o.pk: o.name for o in orgs}
    gov_orgs: dict[str, list[models.Organization]] = {}
    for o in orgs:
        if o.kind == "government":
            gov_orgs.setdefault(o.country_id, []).append(o)
    popular_orgs = zipf(orgs, 0.8) if orgs else None
    titles = Weighted(*zip(*vocab.GOVERNMENT_TITLES, strict=True))

    # --- People and their roles
    person_rows: list[models.Person] = []
    careers: list[list[tuple[str, int | None, str | None, int, int | None]]] = []
    anchors = max(50, people // 10)
    for i in range(people):
        in_government = popular_orgs is None or rng.random() < 0.6
        org = None if in_government else popular_orgs.pick(rng)
        code = countries.pick(rng) if in_government else (org.country_id or countries.pick(rng))
        name = person_name(rng, code, subregions)
        # The most quoted people (the first ones: speakers are Zipf-ranked by
        # creation order) hold a role over the whole date range.
        start = FIRST_DAY - rng.randint(30, 2000) if i < anchors else news_day(rng) - 400
        n_roles = 1 + (rng.random() < 0.35) + (rng.random() < 0.1)
        cuts = sorted(rng.randint(start + 30, LAST_DAY) for _ in range(n_roles - 1))
        bounds = [start, *cuts]
        ends_known = i >= anchors and rng.random() < 0.15
        career = []
        for k, begin in enumerate(bounds):
            last = k == n_roles - 1
            end = (
                bounds[k + 1] - 1
                if not last
                else (rng.randint(begin, LAST_DAY) if ends_known else None)
            )
            end = max(end, begin) if end is not None else None
            if in_government:
                title = titles.pick(rng)
                gov = gov_orgs.get(code)
                org_id = _pick(rng, gov).pk if gov and rng.random() < 0.3 else None
                career.append((title, org_id, code, begin, end))
            else:
                title = _pick(rng, vocab.ORG_TITLES[org.kind])
                org_code = org.country_id if org.kind == "government" else None
                career.append((title, org.pk, org_code, begin, end))
        topic = _pick(rng, vocab.TOPICS)
        description = f"{career[-1][0]}; speaks on {topic}."
        person_rows.append(models.Person(name=name, slug=slugs(name), description=description))
        careers.append(career)
    models.Person.objects.bulk_create(person_rows, batch_size=BATCH)
    role_rows = [
        models.Role(
            person_id=p.pk,
            title=title,
            organization_id=org_id,
            country_id=code,
            start_date=day(begin),
            end_date=day(end) if end is not None else None,
            former=end is not None,
        )
        for p, career in zip(person_rows, careers, strict=True)
        for title, org_id, code, begin, end in career
    ]
    models.Role.objects.bulk_create(role_rows, batch_size=BATCH)
    it = iter(role_rows)
    people_info = [
        PersonInfo(
            p.pk,
            p.name,
            [RoleInfo(next(it).pk, t, o, c, b, e) for t, o, c, b, e in career],
        )
        for p, career in zip(person_rows, careers, strict=True)
    ]
    counts["people"], counts["roles"] = len(person_rows), len(role_rows)

    # --- Events, with figures
    taken = set(models.Event.objects.values_list("name", flat=True))
    event_rows: list[models.Event] = []
    for _ in range(events):
        code = countries.pick(rng)
        city = ref_city(code) or names[code]
        start = news_day(rng)
        length = rng.choice((0, 1, 1, 2, 2, 3, 4))
        year = str(day(start).year)
        name = unique_name(
            rng,
            lambda r, c=city, y=year: _fill(
                r,
                vocab.EVENT_FORMS,
                city=c,
                year=y,
                field=_pick(r, vocab.RESEARCH_FIELDS),
                region=_pick(r, regions),
            ),
            taken,
        )
        event_rows.append(
            models.Event(
                name=name,
                slug=slugs(name),
                city=city,
                country_id=code,
                start_date=day(start),
                end_date=day(min(start + length, LAST_DAY)),
                theme=_pick(rng, vocab.EVENT_THEMES),
                description=f"A gathering in {city} on {_pick(rng, vocab.TOPICS)}.",
            )
        )
    models.Event.objects.bulk_create(event_rows, batch_size=BATCH)
    figures = []
    for e in event_rows:
        labels = sorted(rng.sample(vocab.EVENT_FIGURES, rng.randint(0, 3)))
        for label in labels:
            figures.append(
                models.EventFigure(
                    event_id=e.pk,
                    label=label,
                    value=rng.choice((12, 30, 45, 60, 120, 300, 800, 1000, 3000, 5000)),
                    qualifier=rng.choice(models.EventFigure.Qualifier.values),
                )
            )
    models.EventFigure.objects.bulk_create(figures, batch_size=BATCH)
    counts["events"], counts["event figures"] = len(event_rows), len(figures)
    event_infos = [
        SubjectInfo(
            e.pk, e.name, e.country_id, e.city, e.start_date.toordinal(), e.end_date.toordinal()
        )
        for e in event_rows
    ]

    # --- Proposals, with action-plan items
    taken = set(models.Proposal.objects.values_list("title", flat=True))
    pkinds = Weighted(*zip(*vocab.PROPOSAL_KIND_WEIGHTS, strict=True))
    statuses = Weighted(*zip(*vocab.PROPOSAL_STATUS_WEIGHTS, strict=True))
    proposal_rows: list[models.Proposal] = []
    proposal_leads: list[str] = []
    for _ in range(proposals):
        kind = pkinds.pick(rng)
        code = countries.pick(rng)
        event = (
            event_rows[rng.randrange(len(event_rows))]
            if event_rows and rng.random() < 0.3
            else None
        )
        announced = event.start_date.toordinal() if event else news_day(rng)
        fields = vocab.EXPORT_FIELDS if kind == "export_control" else vocab.RESEARCH_FIELDS
        title = unique_name(
            rng,
            lambda r, k=kind, c=code, a=announced, f=fields: _fill(
                r,
                vocab.PROPOSAL_FORMS[k],
                place=names[c] if r.random() < 0.6 else place(c),
                field=_pick(r, f),
                region=_pick(r, regions),
                year=str(day(a).year),
            ),
            taken,
        )
        hq = ref_city(countries.pick(rng)) if kind == "international_body" else ""
        proposal_rows.append(
            models.Proposal(
                title=title,
                slug=slugs(title),
                kind=kind,
                status=statuses.pick(rng),
                announced_on=day(announced) if rng.random() < 0.95 else None,
                event=event,
                summary=f"A {models.Proposal.Kind(kind).label.lower()} on "
                f"{_pick(rng, vocab.TOPICS)}, aiming at {_pick(rng, vocab.GOALS)}.",
                proposed_headquarters=hq,
            )
        )
        proposal_leads.append(code)
    models.Proposal.objects.bulk_create(proposal_rows, batch_size=BATCH)
    items = []
    for p in proposal_rows:
        if p.kind == "action_plan" or (p.kind == "framework" and rng.random() < 0.3):
            headings = rng.sample(vocab.ITEM_HEADINGS, rng.randint(3, 10))
            for pos, heading in enumerate(headings, start=1):
                action = _fill(rng, vocab.ACTIONS, topic=_pick(rng, vocab.TOPICS))
                items.append(
                    models.ActionPlanItem(
                        proposal_id=p.pk,
                        position=pos,
                        heading=heading,
                        text=f"Parties will {action}.",
                        themes=sorted(rng.sample(vocab.THEMES, rng.randint(1, 3))),
                    )
                )
    models.ActionPlanItem.objects.bulk_create(items, batch_size=BATCH)
    counts["proposals"], counts["action plan items"] = len(proposal_rows), len(items)
    proposal_infos = [
        SubjectInfo(
            p.pk,
            p.title,
            code,
            "",
            p.announced_on.toordinal() if p.announced_on else news_day(rng),
            LAST_DAY,
        )
        for p, code in zip(proposal_rows, proposal_leads, strict=True)
    ]

    # --- Participation in proposals and events by countries and organizations
    parts: list[models.Participation] = []
    labels: list[tuple[SubjectInfo, str, str | None]] = []

    def participate(
        info: SubjectInfo, role: str, when: int, code=None, org=None, **subject
    ) -> None:
        parts.append(
            models.Participation(
                country_id=code,
                organization_id=org.pk if org else None,
                role=role,
                date=day(when) if rng.random() < 0.8 else None,
                **subject,
            )
        )
        labels.append((info, names[code] if code else org.name, code))

    for p, info in zip(proposal_rows, proposal_infos, strict=True):
        participate(info, LEAD_ROLES.pick(rng), info.start, code=info.country, proposal_id=p.pk)
        seen = {info.country}
        for _ in range(rng.randint(0, 12)):
            code = countries.pick(rng)
            if code in seen:
                continue  # one role per participant: supporter and opponent at once is noise
            seen.add(code)
            when = min(info.start + rng.randint(0, 400), LAST_DAY)
            participate(info, PROPOSAL_ROLES.pick(rng), when, code=code, proposal_id=p.pk)
        if popular_orgs is not None and rng.random() < 0.4:
            org = popular_orgs.pick(rng)
            participate(info, R.SUPPORTER, info.start, org=org, proposal_id=p.pk)
    for e, info in zip(event_rows, event_infos, strict=True):
        participate(info, R.HOST, info.start, code=info.country, event_id=e.pk)
        seen = {info.country}
        for _ in range(rng.randint(2, 20)):
            code = countries.pick(rng)
            if code in seen:
                continue
            seen.add(code)
            role = EVENT_ROLES.pick(rng)
            if role == R.EXHIBITOR:
                role = R.DELEGATE
            participate(info, role, info.start, code=code, event_id=e.pk)
        org_seen: set[int] = set()
        for _ in range(rng.randint(0, 4) if popular_orgs is not None else 0):
            org = popular_orgs.pick(rng)
            if org.pk in org_seen:
                continue
            org_seen.add(org.pk)
            role = R.EXHIBITOR if org.kind == "company" else R.OBSERVER
            participate(info, role, info.start, org=org, event_id=e.pk)
    models.Participation.objects.bulk_create(parts, batch_size=BATCH)
    for row, (info, label, code) in zip(parts, labels, strict=True):
        info.participations.append(ParticipationInfo(row.pk, label, row.role, code))
    counts["participations"] = len(parts)

    return Reference(
        country_names=names,
        countries=countries,
        cities=cities,
        organizations=org_names,
        people=people_info,
        speakers=zipf(people_info) if people_info else None,
        events=event_infos,
        proposals=proposal_infos,
        counts=counts,
    )
