"""Global search (/search/): records found by their names, by the words of their
descriptions and evidence sentences, and by the facts that hang on them (a person by
a role's organization, an event by its figures and participants), each result saying
why it matched.

Every group is one subquery of one SELECT. A group's candidates come from index-served
branches (exact names and aliases; trigram names; full-text on the GIN expression
indexes `*_text` of governance/models.py; evidence sentences through `evidence_text`),
each branch tagging its rows with a tier:

    0  a name, alias, acronym or code equal to the query
    1  the query inside a name
    2  the words of a description, an evidence sentence or a related fact
    3  a close spelling of the name (trigram word similarity)

A record keeps its best branch (lowest tier, then highest score); a group shows its
best SEARCH_GROUP_SIZE records, and the snippets that explain them are computed for
those rows only. Groups are shown best tier first, so "WAIC" (an acronym, tier 0)
puts the conference before countries that are merely spelt alike (tier 3).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from governance.models import EventFigure, Organization, Participation, Proposal

SEARCH_GROUP_SIZE = 8
# Matching evidence sentences considered per search: a word in thousands of them
# still costs a bounded read; the groups show a handful each anyway.
EVIDENCE_CAP = 500
# People found through the country of a role ("china": every Chinese official's role)
# considered per search, for the same reason.
ROLE_COUNTRY_CAP = 200
# Trigram word similarity above which a name counts as a (misspelt) match: "Li Quang"
# still finds Li Qiang, "Chna" still finds China.
NAME_SIMILARITY = 0.4

EXACT, IN_NAME, IN_FACTS, FUZZY = 0, 1, 2, 3
ACRONYM = re.compile(r"[A-Za-z]{2,10}")

# ts_headline's match markers: control characters no stored text contains, escaped
# before they become <mark> (highlight()).
HL_START, HL_STOP = "\x02", "\x03"
_HEADLINE = f"StartSel={HL_START}, StopSel={HL_STOP}, HighlightAll=true"
_FRAGMENT = f"StartSel={HL_START}, StopSel={HL_STOP}, MaxFragments=1, MaxWords=18, MinWords=6"

TSQ = "websearch_to_tsquery('english'::regconfig, %(q)s)"
# Full-text matches are not ranked by ts_rank: the GIN expression indexes store no
# vectors, so ranking would compute one per matching row. A record's own words count
# a little more than its evidence or a related fact's.
OWN_SCORE, FACT_SCORE = 0.6, 0.5
# A role whose title, organization or country the query names says more about a person
# than a description that mentions it.
ROLE_SCORE = 0.8


def vector(alias: str, *columns: str) -> str:
    """The expression of a `*_text` GIN index (models.py), column for column as Django
    compiles SearchVector, so that the planner recognizes it and reads the index."""
    joined = " || ' ' || ".join(f"COALESCE({alias}.\"{c}\", '')" for c in columns)
    return f"to_tsvector('english'::regconfig, {joined})"


def headline(text_sql: str, *, fragment: bool = False) -> str:
    options = _FRAGMENT if fragment else _HEADLINE
    return f"ts_headline('english'::regconfig, {text_sql}, {TSQ}, '{options}')"


EVIDENCE_VECTOR = vector("e", "excerpt")

# The kinds of records whose evidence sentences are searched: all but statements, which
# are found by their own text.
EVIDENCE_KINDS = (
    "event",
    "eventfigure",
    "proposal",
    "actionplanitem",
    "participation",
    "person",
    "role",
    "organization",
    "country",
)


def _evidence_of(model: str) -> str:
    """Matching evidence sentences of one kind. The kind's id is a one-time lookup, so
    `content_type_id = $n AND words @@ query` is one scan of evidence_text (btree_gin),
    which intersects the two inside the index."""
    return f"""SELECT e.id, '{model}'::text AS model, e.object_id
    FROM governance_evidence e
    WHERE e.content_type_id = (SELECT id FROM django_content_type
                               WHERE app_label = 'governance' AND model = '{model}')
      AND {EVIDENCE_VECTOR} @@ {TSQ}"""


_EVIDENCE = f"""
ev AS MATERIALIZED (
    SELECT m.*, {FACT_SCORE}::float8 AS score
    FROM ({" UNION ALL ".join(_evidence_of(model) for model in EVIDENCE_KINDS)}) m
    LIMIT {EVIDENCE_CAP}
),
pev AS MATERIALIZED (
    SELECT p.id, p.event_id, p.proposal_id, p.country_id, p.organization_id, p.person_id,
           m.id AS eid
    FROM ev m JOIN governance_participation p ON p.id = m.object_id::bigint
    WHERE m.model = 'participation'
)"""


def _branch(tier: int | str, why: str, sql: str) -> str:
    """One source of candidates: `sql` selects id, score, src, src2, detail; `tier` and
    `why` are constants, or SQL over those columns (`b.detail`)."""
    why_sql = why if why.startswith("CASE") else f"'{why}'"
    return (
        f"SELECT b.*, {tier} AS tier, ({why_sql})::text AS why "
        f"FROM ({sql}) AS b(id, score, src, src2, detail)"
    )


def _ids(model: str) -> str:
    """Ids of records of `model` whose evidence matched, with the evidence row."""
    return f"SELECT object_id::bigint AS oid, id AS eid, score FROM ev WHERE model = '{model}'"


# Closest spelling first: the mean of word similarity (the query against the closest
# stretch of the name) and similarity (against the whole name), so that "Li Quang" puts
# Li Qiang before "Huang Lin", whose "Huang" alone is as close.
_FUZZY_SCORE = "((word_similarity(%(q)s, {name}) + similarity({name}, %(q)s)) / 2)::float8"


def _name_branches(table: str, name: str, *, aliases: bool, trigram_index: bool) -> list[str]:
    """The name equal to the query or containing it; spelt close to it; an alias equal
    to it. Containing and close spelling are two scans: each reads the trigram index,
    where one scan testing both tends to read the whole table."""
    t = f"governance_{table}"
    # `%>` reads the trigram index at the threshold global_search sets; without the
    # index (small tables) the same test is spelt out.
    similar = (
        f"{name} %%> %(q)s"
        if trigram_index
        else f"word_similarity(%(q)s, {name}) >= {NAME_SIMILARITY}"
    )
    branches = [
        _branch(
            f"CASE WHEN lower(b.detail) = lower(%(q)s) THEN {EXACT} ELSE {IN_NAME} END",
            "CASE WHEN lower(b.detail) = lower(%(q)s) THEN 'name_exact' ELSE 'name' END",
            f"SELECT id, similarity({name}, %(q)s)::float8, NULL::bigint, NULL::bigint, "
            f"{name} FROM {t} WHERE {name} ILIKE %(like)s",
        ),
        # Close spellings rank below every name containing the query: when a group's worth
        # of names contain it ("china"), none would be shown, and the scan is skipped (an
        # uncorrelated condition, tested once before the scan).
        _branch(
            FUZZY,
            "fuzzy",
            f"SELECT id, {_FUZZY_SCORE.format(name=name)}, NULL::bigint, NULL::bigint, "
            f"{name} FROM {t} WHERE (SELECT count(*) FROM (SELECT FROM {t} "
            f"WHERE {name} ILIKE %(like)s LIMIT {SEARCH_GROUP_SIZE}) n) < {SEARCH_GROUP_SIZE} "
            f"AND {similar}",
        ),
    ]
    if aliases:
        branches.append(
            _branch(
                EXACT,
                "alias",
                f"SELECT id, 1.0::float8, NULL::bigint, NULL::bigint, "
                f"(SELECT a FROM unnest(aliases) a WHERE lower(a) = lower(%(q)s) LIMIT 1) "
                f"FROM {t} WHERE aliases && %(variants)s::varchar[]",
            )
        )
    return branches


def _text_branch(table: str, *columns: str) -> str:
    t = f"governance_{table}"
    v = vector("t", *columns)
    return _branch(
        IN_FACTS,
        "text",
        f"SELECT id, {OWN_SCORE}::float8, NULL::bigint, NULL::bigint, NULL::text "
        f"FROM {t} t WHERE {v} @@ {TSQ}",
    )


def _evidence_branch(model: str) -> str:
    return _branch(
        IN_FACTS,
        "evidence",
        f"SELECT oid, score::float8, eid, NULL::bigint, NULL::text FROM ({_ids(model)}) m",
    )


# Participations found by their note or their evidence sentence; a group takes those of
# its records through `owner` (event_id, country_id, ...).
_PARTICIPATION_VECTOR = vector("p", "note")


def _participation_branch(owner: str) -> str:
    return _branch(
        IN_FACTS,
        "participation",
        f"""SELECT p.{owner}, {FACT_SCORE}::float8, p.id, NULL::bigint, NULL::text
            FROM governance_participation p
            WHERE {_PARTICIPATION_VECTOR} @@ {TSQ} AND p.{owner} IS NOT NULL
            UNION ALL
            SELECT {owner}, {FACT_SCORE}::float8, id, eid, NULL::text
            FROM pev WHERE {owner} IS NOT NULL""",
    )


_FIGURE_VECTOR = vector("f", "label", "note")
_ITEM_VECTOR = vector("i", "heading", "text")


def _child_branch(why: str, table: str, alias: str, vec: str, model: str, owner: str) -> str:
    """Records found through a child fact (a figure of an event, an item of a plan)
    matched by its own words or its evidence."""
    t = f"governance_{table}"
    return _branch(
        IN_FACTS,
        why,
        f"""SELECT {alias}.{owner}, {FACT_SCORE}::float8, {alias}.id, NULL::bigint, NULL::text
            FROM {t} {alias} WHERE {vec} @@ {TSQ}
            UNION ALL
            SELECT {alias}.{owner}, m.score::float8, {alias}.id, m.eid, NULL::text
            FROM ({_ids(model)}) m JOIN {t} {alias} ON {alias}.id = m.oid""",
    )


def _role_branches() -> list[str]:
    """People by their roles: the title's words, or an organization or country whose
    name or alias is the query (ASEAN's Secretary-General for "ASEAN"; the equality on
    upper(name) reads organization_name_upper)."""
    role_vector = vector("r", "title")
    return [
        _branch(
            IN_FACTS,
            "role",
            f"""SELECT r.person_id, {ROLE_SCORE}::float8, r.id, NULL::bigint, NULL::text
                FROM governance_role r
                WHERE r.organization_id IN (
                    SELECT id FROM governance_organization WHERE upper(name) = upper(%(q)s)
                    UNION SELECT id FROM governance_organization
                    WHERE aliases && %(variants)s::varchar[])
                UNION ALL
                (SELECT r.person_id, {ROLE_SCORE}::float8, r.id, NULL::bigint, NULL::text
                 FROM governance_role r
                 WHERE r.country_id IN (
                    SELECT code FROM governance_country
                    WHERE lower(name) = lower(%(q)s) OR code = upper(%(q)s)
                    UNION SELECT country_id FROM governance_countryalias
                    WHERE alias = ANY (%(variants)s::varchar[]))
                 LIMIT {ROLE_COUNTRY_CAP})
                UNION ALL
                SELECT r.person_id, {ROLE_SCORE}::float8, r.id, NULL::bigint, NULL::text
                FROM governance_role r WHERE {role_vector} @@ {TSQ}
                UNION ALL
                SELECT r.person_id, m.score::float8, r.id, m.eid, NULL::text
                FROM ({_ids("role")}) m JOIN governance_role r ON r.id = m.oid""",
        )
    ]


# The fields whose words explain a "text" match, in the order they are tried.
_TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "event": ("name", "short_name", "theme", "description", "city"),
    "proposal": ("title", "summary", "proposed_headquarters"),
    "person": ("name", "description"),
    "organization": ("name", "description"),
    "actionplanitem": ("heading", "text"),
    "eventfigure": ("label", "note"),
}


def _text_snippet(table: str) -> str:
    """[field, highlighted fragment, text] of the first field of `t` whose words match."""
    cases = " ".join(
        f"WHEN {vector('t', f)} @@ {TSQ} "
        f"THEN json_build_array('{f}', {headline(f't.{f}', fragment=True)}, t.{f})"
        for f in _TEXT_FIELDS[table]
    )
    return f"CASE {cases} END"


# Snippets of the related rows a match came through (src, src2), for the chosen rows.
_EVIDENCE_SNIPPET = f"""(SELECT json_build_array({headline("e.excerpt", fragment=True)}, e.excerpt)
    FROM governance_evidence e WHERE e.id = best.{{col}})"""
_PARTICIPATION_CONTEXT = f"""(SELECT json_build_object(
        'role', p.role,
        'subject', coalesce(
            (SELECT coalesce(nullif(short_name, ''), name) FROM governance_event
             WHERE id = p.event_id),
            (SELECT title FROM governance_proposal WHERE id = p.proposal_id)),
        'participant', coalesce(
            (SELECT name FROM governance_country WHERE code = p.country_id),
            (SELECT name FROM governance_organization WHERE id = p.organization_id),
            (SELECT name FROM governance_person WHERE id = p.person_id)),
        'note', CASE WHEN {_PARTICIPATION_VECTOR} @@ {TSQ} THEN {headline("p.note")} END)
    FROM governance_participation p WHERE p.id = best.src)"""
_FIGURE_CONTEXT = f"""(SELECT json_build_object(
        'value', f.value, 'qualifier', f.qualifier, 'label', {headline("f.label")},
        'note', CASE WHEN {vector("f", "note")} @@ {TSQ} THEN {headline("f.note")} END)
    FROM governance_eventfigure f WHERE f.id = best.src)"""
_ITEM_CONTEXT = f"""(SELECT json_build_object('heading', {headline("i.heading")},
        'text', CASE WHEN {vector("i", "text")} @@ {TSQ} THEN {headline("i.text")} END)
    FROM governance_actionplanitem i WHERE i.id = best.src)"""
_ROLE_CONTEXT = f"""(SELECT json_build_object(
        'role', {
    headline(
        "concat_ws(', ', CASE WHEN r.former THEN 'former ' ELSE '' END || r.title, o.name, c.name)"
    )
})
    FROM governance_role r
    LEFT JOIN governance_organization o ON o.id = r.organization_id
    LEFT JOIN governance_country c ON c.code = r.country_id
    WHERE r.id = best.src)"""


def _context(why_to_sql: dict[str, str]) -> str:
    cases = " ".join(f"WHEN '{why}' THEN {sql}" for why, sql in why_to_sql.items())
    return f"CASE best.why {cases} END"


@dataclass(frozen=True)
class _Group:
    name: str
    table: str
    key: str  # the primary key column
    columns: tuple[str, ...]  # shown in the result
    order_name: str
    branches: tuple[str, ...]
    context: dict[str, str] = field(default_factory=dict)
    where: str = ""
    extra: str = ""  # more columns for the result, from the record `t`

    def sql(self) -> str:
        t = f"governance_{self.table}"
        cols = ", ".join(f"t.{c}" for c in self.columns)
        text = (
            f", CASE WHEN best.why = 'text' THEN {_text_snippet(self.table)} END AS text_match"
            if self.table in _TEXT_FIELDS
            else ""
        )
        context = {
            "evidence": _EVIDENCE_SNIPPET.format(col="src"),
            **self.context,
        }
        union = "\nUNION ALL\n".join(self.branches)
        return f"""(SELECT coalesce(json_agg(r), '[]'::json) FROM (
    SELECT {cols}, best.tier, best.score, best.why, best.detail{text},
           {_context(context)} AS context{self.extra},
           CASE WHEN best.src2 IS NOT NULL THEN {_EVIDENCE_SNIPPET.format(col="src2")} END
               AS via_evidence
    FROM (
        SELECT DISTINCT ON (c.id) c.id, c.tier, c.score, c.why, c.src, c.src2, c.detail
        FROM ({union}) c
        ORDER BY c.id, c.tier, c.score DESC
    ) best JOIN {t} t ON t.{self.key} = best.id
    {self.where}
    ORDER BY best.tier, best.score DESC, t.{self.order_name}
    LIMIT {SEARCH_GROUP_SIZE}
) r) AS {self.name}"""


def _groups(q: str) -> list[_Group]:
    """The groups' queries for `q`; some branches apply only to some queries (an acronym
    is two to ten letters)."""
    live = "WHERE t.merged_into_id IS NULL"
    event_acronym = (
        "SELECT id, 1.0::float8, NULL::bigint, NULL::bigint, {detail} FROM governance_event "
        "WHERE {test}"
    )
    return [
        _Group(
            "events",
            "event",
            "id",
            ("id", "slug", "name", "short_name", "start_date"),
            "name",
            (
                *_name_branches("event", "name", aliases=False, trigram_index=False),
                # The short name, with or without its year ("WAIC 2025", "WAIC"), and the
                # initials of the name ("World Artificial Intelligence Conference").
                _branch(
                    EXACT,
                    "alias",
                    event_acronym.format(
                        detail="short_name",
                        test="short_name <> '' AND (lower(short_name) = lower(%(q)s) OR "
                        "lower(regexp_replace(short_name, '\\s*\\d{4}$', '')) = lower(%(q)s))",
                    ),
                ),
                *(
                    [
                        _branch(
                            EXACT,
                            "acronym",
                            # Below the short name, which says the same in the record's words.
                            event_acronym.replace("1.0::float8", "0.9::float8").format(
                                detail="upper(%(q)s)",
                                test="regexp_replace(name, '[^A-Z]', '', 'g') = upper(%(q)s)",
                            ),
                        )
                    ]
                    if ACRONYM.fullmatch(q)
                    else []
                ),
                _branch(
                    IN_NAME,
                    "name",
                    "SELECT id, similarity(short_name, %(q)s)::float8, NULL::bigint, "
                    "NULL::bigint, short_name FROM governance_event "
                    "WHERE short_name ILIKE %(like)s",
                ),
                _text_branch("event", "name", "short_name", "city", "theme", "description"),
                _evidence_branch("event"),
                _child_branch(
                    "figure", "eventfigure", "f", _FIGURE_VECTOR, "eventfigure", "event_id"
                ),
                _participation_branch("event_id"),
            ),
            {"figure": _FIGURE_CONTEXT, "participation": _PARTICIPATION_CONTEXT},
            live,
        ),
        _Group(
            "proposals",
            "proposal",
            "id",
            ("id", "slug", "title", "kind", "status"),
            "title",
            (
                *_name_branches("proposal", "title", aliases=True, trigram_index=True),
                _text_branch("proposal", "title", "summary", "proposed_headquarters"),
                _evidence_branch("proposal"),
                _child_branch(
                    "item", "actionplanitem", "i", _ITEM_VECTOR, "actionplanitem", "proposal_id"
                ),
                _participation_branch("proposal_id"),
            ),
            {"item": _ITEM_CONTEXT, "participation": _PARTICIPATION_CONTEXT},
            live,
        ),
        _Group(
            "items",
            "actionplanitem",
            "id",
            ("id", "position", "heading", "proposal_id"),
            "heading",
            (
                _branch(
                    IN_NAME,
                    "name",
                    "SELECT id, 1.0::float8, NULL::bigint, NULL::bigint, heading "
                    "FROM governance_actionplanitem WHERE heading ILIKE %(like)s",
                ),
                _text_branch("actionplanitem", "heading", "text"),
                _evidence_branch("actionplanitem"),
            ),
            extra=", (SELECT json_build_object('slug', slug, 'title', title) "
            "FROM governance_proposal WHERE id = t.proposal_id) AS parent",
        ),
        _Group(
            "figures",
            "eventfigure",
            "id",
            ("id", "value", "qualifier", "label", "event_id"),
            "label",
            (
                _text_branch("eventfigure", "label", "note"),
                _evidence_branch("eventfigure"),
            ),
            extra=", (SELECT json_build_object('slug', slug, 'title', coalesce(nullif("
            "short_name, ''), name)) FROM governance_event WHERE id = t.event_id) AS parent",
        ),
        _Group(
            "people",
            "person",
            "id",
            ("id", "slug", "name", "description"),
            "name",
            (
                *_name_branches("person", "name", aliases=True, trigram_index=True),
                _text_branch("person", "name", "description"),
                _evidence_branch("person"),
                *_role_branches(),
                _participation_branch("person_id"),
            ),
            {"role": _ROLE_CONTEXT, "participation": _PARTICIPATION_CONTEXT},
            live,
        ),
        _Group(
            "organizations",
            "organization",
            "id",
            ("id", "slug", "name", "kind"),
            "name",
            (
                *_name_branches("organization", "name", aliases=True, trigram_index=True),
                _text_branch("organization", "name", "description"),
                _evidence_branch("organization"),
                _participation_branch("organization_id"),
            ),
            {"participation": _PARTICIPATION_CONTEXT},
            live,
        ),
        _Group(
            "countries",
            "country",
            "code",
            ("code", "name"),
            "name",
            (
                _branch(
                    EXACT,
                    "code",
                    "SELECT code, 1.0::float8, NULL::bigint, NULL::bigint, code "
                    "FROM governance_country WHERE code = upper(%(q)s)",
                ),
                _branch(
                    EXACT,
                    "name_exact",
                    "SELECT code, 1.0::float8, NULL::bigint, NULL::bigint, name "
                    "FROM governance_country WHERE lower(name) = lower(%(q)s)",
                ),
                _branch(
                    EXACT,
                    "alias",
                    "SELECT country_id, 1.0::float8, NULL::bigint, NULL::bigint, alias "
                    "FROM governance_countryalias WHERE lower(alias) = lower(%(q)s)",
                ),
                _branch(
                    IN_NAME,
                    "name",
                    "SELECT code, similarity(name, %(q)s)::float8, NULL::bigint, NULL::bigint, "
                    "name FROM governance_country WHERE name ILIKE %(like)s",
                ),
                _branch(
                    IN_FACTS,
                    "evidence",
                    "SELECT m.object_id, m.score::float8, m.id, NULL::bigint, NULL::text "
                    "FROM ev m WHERE m.model = 'country'",
                ),
                _participation_branch("country_id"),
                _branch(
                    FUZZY,
                    "fuzzy",
                    f"SELECT code, {_FUZZY_SCORE.format(name='name')}, NULL::bigint, "
                    f"NULL::bigint, name FROM governance_country "
                    f"WHERE word_similarity(%(q)s, name) >= {NAME_SIMILARITY}",
                ),
            ),
            {"participation": _PARTICIPATION_CONTEXT},
        ),
    ]


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _variants(q: str) -> list[str]:
    """Spellings of the query an alias array is probed with (the GIN index on aliases
    matches exactly)."""
    return sorted({q, q.upper(), q.lower(), q.title(), q[:1].upper() + q[1:]})


def fact_groups(q: str) -> dict[str, list[dict[str, Any]]]:
    """Every group's rows (dicts from JSON), in one query."""
    groups = _groups(q)
    sql = f"WITH {_EVIDENCE} SELECT " + ",\n".join(g.sql() for g in groups)
    params = {"q": q, "like": _like(q), "variants": _variants(q)}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return {g.name: row[i] for i, g in enumerate(groups)}


# --- Results, with why each matched -------------------------------------------------


@dataclass(frozen=True)
class Hit:
    url: str
    title: SafeString
    meta: str
    why: SafeString


@dataclass(frozen=True)
class SearchGroup:
    key: str
    heading: str
    tier: int
    hits: list[Hit] = field(default_factory=list)


def highlight(marked: str) -> SafeString:
    """Escape text from ts_headline, then turn its match markers into <mark>."""
    escaped = escape(marked)
    return mark_safe(escaped.replace(HL_START, "<mark>").replace(HL_STOP, "</mark>"))


def mark_query(text: str, q: str) -> SafeString:
    """`text` escaped, with each occurrence of the query (any case) in <mark>."""
    if not q:
        return escape(text)
    pieces = re.split(f"({re.escape(q)})", text, flags=re.IGNORECASE)
    return mark_safe(
        "".join(
            f"<mark>{escape(p)}</mark>" if i % 2 else str(escape(p)) for i, p in enumerate(pieces)
        )
    )


def _quoted(marked: SafeString) -> SafeString:
    return mark_safe(f"“{marked}”")


def _sentence(pair: list[str] | None) -> SafeString:
    """An evidence sentence's highlighted fragment, with … where it was cut."""
    if not pair:
        return mark_safe("")
    fragment, excerpt = pair
    plain = fragment.replace(HL_START, "").replace(HL_STOP, "")
    before = "" if excerpt.startswith(plain) else "…"
    after = "" if excerpt.endswith(plain) else "…"
    return mark_safe(f"“{before}{highlight(fragment)}{after}”")


_FIELD_LABELS = {
    "short_name": "short name",
    "proposed_headquarters": "proposed headquarters",
    "label": "what is counted",
}


def _label(choices: Any, value: str) -> str:
    """A choice's label; the stored value itself if it is not (or no longer) a choice."""
    return str(dict(choices.choices).get(value, value))


def _participation_why(ctx: dict[str, Any], via: list[str] | None, *, participant: bool) -> str:
    role = _label(Participation.Role, ctx["role"]).lower()
    who = (
        f"{escape(role)} at {escape(ctx['subject'])}"
        if not participant
        else f"{escape(ctx['participant'])} ({escape(role)})"
    )
    if ctx.get("note"):
        return f"{who}: note {_quoted(highlight(ctx['note']))}"
    return f"{who}: evidence sentence {_sentence(via)}"


def _figure_text(value: int, qualifier: str, label: SafeString | str) -> SafeString:
    words = (
        ""
        if qualifier == EventFigure.Qualifier.EXACT
        else f"{_label(EventFigure.Qualifier, qualifier)} "
    )
    return mark_safe(
        f"{escape(words)}{value:,} {label if isinstance(label, SafeString) else escape(label)}"
    )


def explain(row: dict[str, Any], q: str, *, participant_side: bool) -> SafeString:
    """Why a row matched, for people: "alias WAIC", "role: Secretary-General, ASEAN",
    "matched: evidence sentence “…roundtable…”", "name ~ fuzzy"."""
    why, ctx, via = row["why"], row.get("context"), row.get("via_evidence")
    match why:
        case "name_exact":
            text = "exact name"
        case "name":
            text = "name"
        case "alias":
            text = f"alias {mark_query(row['detail'], q)}"
        case "acronym":
            text = f"acronym <mark>{escape(row['detail'])}</mark>"
        case "code":
            text = f"code <mark>{escape(row['detail'])}</mark>"
        case "text":
            field_name, *fragment = row.get("text_match") or ("description", "", "")
            label = _FIELD_LABELS.get(field_name, field_name.replace("_", " "))
            text = f"{escape(label)} {_sentence(fragment)}"
        case "evidence":
            text = f"matched: evidence sentence {_sentence(ctx)}"
        case "role":
            text = f"role: {highlight(ctx['role'])}"
            if via:
                text += f", evidence sentence {_sentence(via)}"
        case "participation":
            text = _participation_why(ctx, via, participant=not participant_side)
        case "figure":
            figure = _figure_text(ctx["value"], ctx["qualifier"], highlight(ctx["label"]))
            text = f"figure: {figure}"
            if via:
                text += f", evidence sentence {_sentence(via)}"
            elif ctx.get("note"):
                text += f", note {_quoted(highlight(ctx['note']))}"
        case "item":
            text = f"action-plan item: {highlight(ctx['heading'])}"
            if via:
                text += f", evidence sentence {_sentence(via)}"
            elif ctx.get("text"):
                text += f" {_quoted(highlight(ctx['text']))}"
        case _:
            text = "name ~ fuzzy"
    return mark_safe(text)


def _title(row: dict[str, Any], name: str, q: str) -> SafeString:
    """The result's name, the query marked in it when the name is what matched."""
    if row["why"] in ("name", "name_exact"):
        return mark_query(name, q)
    return escape(name)


def _ranked(rows: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """JSON rows back in their group's order (json_agg need not keep it)."""
    return sorted(rows, key=lambda r: (r["tier"], -(r["score"] or 0), r[name]))


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def _hits(key: str, rows: list[dict[str, Any]], q: str) -> list[Hit]:
    hits = []
    for r in rows:
        if key == "events":
            start = _date(r["start_date"])
            hits.append(
                Hit(
                    f"/events/{r['slug']}/",
                    _title(r, r["name"], q),
                    f"{start:%-d %b %Y}" if start else "",
                    explain(r, q, participant_side=False),
                )
            )
        elif key == "proposals":
            meta = f"{_label(Proposal.Kind, r['kind'])} · {_label(Proposal.Status, r['status'])}"
            hits.append(
                Hit(
                    f"/proposals/{r['slug']}/",
                    _title(r, r["title"], q),
                    meta,
                    explain(r, q, participant_side=False),
                )
            )
        elif key == "items":
            parent = r["parent"]
            hits.append(
                Hit(
                    f"/proposals/{parent['slug']}/",
                    _title(r, f"{r['position']}. {r['heading']}", q),
                    parent["title"],
                    explain(r, q, participant_side=False),
                )
            )
        elif key == "figures":
            parent = r["parent"]
            hits.append(
                Hit(
                    f"/events/{parent['slug']}/",
                    _figure_text(r["value"], r["qualifier"], r["label"]),
                    parent["title"],
                    explain(r, q, participant_side=False),
                )
            )
        elif key == "people":
            hits.append(
                Hit(
                    f"/people/{r['slug']}/",
                    _title(r, r["name"], q),
                    r["description"],
                    explain(r, q, participant_side=True),
                )
            )
        elif key == "organizations":
            hits.append(
                Hit(
                    f"/organizations/{r['slug']}/",
                    _title(r, r["name"], q),
                    _label(Organization.Kind, r["kind"]),
                    explain(r, q, participant_side=True),
                )
            )
        elif key == "countries":
            hits.append(
                Hit(
                    f"/countries/{r['code'].lower()}/",
                    _title(r, r["name"], q),
                    r["code"],
                    explain(r, q, participant_side=True),
                )
            )
    return hits


# Group headings, in the order groups of equal rank are shown.
HEADINGS = {
    "events": "Events",
    "proposals": "Proposals",
    "items": "Action-plan items",
    "figures": "Figures",
    "people": "People",
    "organizations": "Organizations",
    "countries": "Countries",
}
_NAMES = {"events": "name", "proposals": "title", "items": "heading", "figures": "label",
          "people": "name", "organizations": "name", "countries": "name"}  # fmt: skip


def record_groups(q: str) -> list[SearchGroup]:
    """The record groups with results, best tier first (ties in HEADINGS order)."""
    rows = fact_groups(q)
    groups = []
    for key, heading in HEADINGS.items():
        ranked = _ranked(rows[key], _NAMES[key])
        if ranked:
            groups.append(SearchGroup(key, heading, ranked[0]["tier"], _hits(key, ranked, q)))
    return groups
