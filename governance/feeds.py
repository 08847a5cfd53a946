"""Atom feeds: any filtered statements view, and what is new or changed about a
proposal, a country or a person.

Entry ids are tag: URIs built from SITE_URL's host and a fixed date, so they stay the
same across requests and runs and a feed reader never shows an item twice. Dates come
from the facts, never from the time the feed is fetched:

- a statement is one entry; `published` is when it was first recorded and `updated`
  when it last changed (its simple-history rows). Records written without history
  (the bulk data generator) fall back to their evidence's creation time, then to the
  day the words were said;
- every change of a participation row and of the record itself is its own entry,
  dated by its history row;
- a source document is one entry, dated when it was fetched.

The feed's own `updated` is its newest entry's.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import F, Model, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.feedgenerator import Atom1Feed, Stylesheet
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.xmlutils import SimplerXMLGenerator

from governance import dating, quotation, search
from governance.citations import TRACKER_NAME
from governance.models import (
    Country,
    Document,
    Event,
    Evidence,
    Participation,
    Person,
    Proposal,
    Statement,
)
from governance.selectors import documents_mentioning, ids_as_text, statements_about_country

FEED_SIZE = 50
# The date part of every tag: URI (RFC 4151). Fixed: changing it would change every id.
TAG_DATE = "2025"
# The date of a statement known by nothing else (no history, evidence or day said).
UNDATED = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def tag_uri(specific: str) -> str:
    """A permanent entry or feed id, e.g. `tag:tracker.example.org,2025:statement:12`."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"tag:{host},{TAG_DATE}:{specific}"


@dataclass
class Entry:
    id: str
    title: str
    link: str  # path; made absolute when the feed is written
    summary: str  # HTML
    published: datetime.datetime
    updated: datetime.datetime
    # A document entry's document, and the source document a statement entry cites:
    # a record feed leaves out a "new source" already shown as a statement's source.
    document: int | None = None
    cites: int | None = None


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=datetime.UTC)


def _source(evidence: Evidence | None) -> str:
    """The "Source: …" line of an entry: the original URL, else our copy of the text."""
    if evidence is None:
        return ""
    document = evidence.document
    url = document.url or settings.SITE_URL + evidence.get_absolute_url()
    return format_html('<p>Source: <a href="{}">{}</a></p>', url, document.title)


# --- Statements ---------------------------------------------------------------


def _newest_ids(statements: QuerySet[Statement], n: int = FEED_SIZE) -> list[int]:
    """Candidates for the newest `n` entries: the statements changed most recently
    (walking the history table by date, which its index serves) and the statements said
    most recently (for rows that have no history)."""
    history = Statement.history.model.objects.filter(id__in=statements.values("pk"))
    changed = history.order_by("-history_date", "-history_id").values_list("id", flat=True)
    recent = list(dict.fromkeys(changed[: n * 4]))[:n]
    said = statements.order_by(F("said_on").desc(nulls_last=True), "-id").values_list(
        "pk", flat=True
    )[:n]
    return list(dict.fromkeys([*recent, *said]))


def statement_entries(statements: QuerySet[Statement], n: int = FEED_SIZE) -> list[Entry]:
    """The `n` newest (by change) of `statements` as entries, newest first."""
    ids = _newest_ids(statements, n)
    if not ids:
        return []
    rows = (
        Statement.objects.filter(pk__in=ids)
        .select_related("speaker", "speaker_role", "on_behalf_of_country", "event")
        .prefetch_related(
            Prefetch(
                "evidence", queryset=Evidence.objects.select_related("document").order_by("pk")
            )
        )
    )
    times: dict[int, tuple[datetime.datetime, datetime.datetime]] = {}
    history = Statement.history.model.objects.filter(id__in=ids).order_by("history_date")
    for pk, when in history.values_list("id", "history_date"):
        first, _ = times.get(pk, (when, when))
        times[pk] = (first, when)
    entries = []
    for s in rows:
        evidence = list(s.evidence.all())
        if s.pk in times:
            published, updated = times[s.pk]
        else:
            fallback = (
                min(e.created_at for e in evidence)
                if evidence
                else (_midnight(s.said_on) if s.said_on else UNDATED)
            )
            published = updated = fallback
        entries.append(_statement_entry(s, evidence[0] if evidence else None, published, updated))
    entries.sort(key=lambda e: (e.updated, e.id), reverse=True)
    return entries[:n]


def _statement_entry(
    s: Statement,
    evidence: Evidence | None,
    published: datetime.datetime,
    updated: datetime.datetime,
) -> Entry:
    speaker = s.speaker.name if s.speaker else "Unattributed"
    who = [speaker]
    if s.speaker_role:
        who.append(s.speaker_role.title)
    if s.on_behalf_of_country:
        who.append(f"for {s.on_behalf_of_country.name}")
    context = ", ".join(who)
    if s.said_on or s.date_start:
        context += f", {dating.date_label(s, 'j F Y')}"
    if s.event:
        context += f", at {s.event.name}"
    # The words as everywhere else: marks around the quoted runs only (quotation.py).
    words = quotation.display_html(s.kind, s.text, s.quoted)
    summary = format_html(
        "<blockquote><p>{}</p></blockquote><p>{} ({})</p>{}"
        if s.kind == Statement.Kind.DIRECT_QUOTE
        else "<p>{}</p><p>{} ({})</p>{}",
        words,
        context,
        s.get_kind_display().lower(),
        _source(evidence),
    )
    return Entry(
        id=tag_uri(f"statement:{s.pk}"),
        title=f"{speaker}: {quotation.display_text(s.kind, s.text, s.quoted, limit=100)}",
        link=s.get_absolute_url(),
        summary=summary,
        published=published,
        updated=updated,
        cites=evidence.document_id if evidence else None,
    )


# --- Participation changes, record changes, documents -------------------------

_VERBS = {"+": "recorded", "~": "changed", "-": "removed"}


def participation_entries(where: Q, n: int = FEED_SIZE) -> list[Entry]:
    """Every recorded change of the participation rows matching `where` (on the
    history model: country, proposal, person …), newest first."""
    history = (
        Participation.history.model.objects.filter(where)
        .select_related("proposal", "event", "country", "organization", "person")
        .order_by("-history_date", "-history_id")[:n]
    )
    rows = list(history)
    evidence: dict[str, Evidence] = {}
    if rows:
        for ev in (
            Evidence.objects.filter(
                content_type=ContentType.objects.get_for_model(Participation),
                object_id__in={str(h.id) for h in rows},
            )
            .select_related("document")
            .order_by("-pk")
        ):
            evidence[ev.object_id] = ev
    entries = []
    for h in rows:
        subject = h.proposal or h.event
        participant = h.country or h.organization or h.person
        role = Participation.Role(h.role).label if h.role in Participation.Role.values else h.role
        verb = _VERBS.get(h.history_type, "changed")
        when = f" on {h.date:%-d %B %Y}" if h.date else ""
        if not h.date and h.event and h.event.start_date:
            span = dating.range_label(h.event.start_date, h.event.end_date or h.event.start_date)
            when = f" ({span}, {dating.FROM_THE_EVENT})"
        text = f"{participant} — {role} — {subject}"
        summary = format_html(
            "<p>{} {} as {} of {}{}.</p>{}",
            participant,
            "is no longer recorded" if h.history_type == "-" else "is recorded",
            role.lower(),
            subject,
            when,
            _source(evidence.get(str(h.id))),
        )
        entries.append(
            Entry(
                id=tag_uri(f"participation:{h.id}:{h.history_id}"),
                title=f"Participation {verb}: {text}",
                link=subject.get_absolute_url() if subject else "/",
                summary=summary,
                published=h.history_date,
                updated=h.history_date,
            )
        )
    return entries


def _field_change(model: type[Model], change: Any) -> str:
    field = model._meta.get_field(change.field)
    choices = dict(field.choices or ())

    def show(value: Any) -> str:
        if field.is_relation and value is not None:
            # A rare change (a proposal moved to another event): one query is fine.
            value = field.related_model._default_manager.filter(pk=value).first() or value
        value = choices.get(value, value)
        return Truncator(str(value)).chars(120) if value not in (None, "") else "—"

    return f"{str(field.verbose_name).capitalize()}: {show(change.old)} → {show(change.new)}"


def record_entries(record: Proposal | Country | Person, n: int = FEED_SIZE) -> list[Entry]:
    """Each change of the record itself (its history rows), newest first, with what
    changed."""
    model = type(record)
    label = str(model._meta.verbose_name)
    rows = list(record.history.order_by("history_date", "history_id"))[-n:]
    entries = []
    for previous, h in zip([None, *rows], rows, strict=False):
        if h.history_type == "+" or previous is None:
            title = f"{label.capitalize()} recorded: {record}"
            changes: list[str] = []
        else:
            delta = h.diff_against(previous)
            changes = [_field_change(model, c) for c in delta.changes]
            title = f"{label.capitalize()} changed: {record}"
            if changes:
                title += " (" + ", ".join(c.split(":")[0].lower() for c in changes) + ")"
        summary = format_html(
            "<p>{}</p>{}",
            title,
            format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((c,) for c in changes)))
            if changes
            else "",
        )
        entries.append(
            Entry(
                id=tag_uri(f"{model._meta.model_name}:{record.pk}:{h.history_id}"),
                title=title,
                link=record.get_absolute_url(),
                summary=summary,
                published=h.history_date,
                updated=h.history_date,
            )
        )
    entries.reverse()
    return entries


def document_entries(documents: QuerySet[Document], n: int = FEED_SIZE) -> list[Entry]:
    """New source documents, newest fetched first."""
    entries = []
    for d in documents.order_by("-fetched_at", "-pk").only(
        "id", "title", "publisher", "published_at", "fetched_at", "url"
    )[:n]:
        meta = ", ".join(
            part
            for part in (d.publisher, f"{d.published_at:%-d %B %Y}" if d.published_at else "")
            if part
        )
        summary = format_html(
            "<p>{}{}</p>{}",
            d.title,
            f" ({meta})" if meta else "",
            format_html('<p>Original: <a href="{}">{}</a></p>', d.url, d.url) if d.url else "",
        )
        entries.append(
            Entry(
                id=tag_uri(f"document:{d.pk}"),
                title=f"New source: {d.title}",
                link=d.get_absolute_url(),
                summary=summary,
                published=d.published_at or d.fetched_at,
                updated=d.fetched_at,
                document=d.pk,
            )
        )
    return entries


def documents_supporting(**records: QuerySet[Any]) -> QuerySet[Document]:
    """Documents whose sentences are the evidence of any of `records` (model name →
    queryset), e.g. a proposal, its participation rows and the statements about it."""
    where = Q()
    for qs in records.values():
        content_type = ContentType.objects.get_for_model(qs.model)
        where |= Q(content_type=content_type, object_id__in=ids_as_text(qs))
    return Document.objects.filter(pk__in=Evidence.objects.filter(where).values("document_id"))


# --- Writing -------------------------------------------------------------------


# What a browser opening a feed renders it with (readers ignore it): an XSLT stylesheet
# from static/, a same-origin file that the CSP's default-src allows.
FEED_STYLESHEET = "feeds/atom.xsl"


class StyledAtomFeed(Atom1Feed):
    """Atom 1.0 with `<?xml-stylesheet?>` processing instructions before the root element
    (Django writes the feed's `stylesheets` for RSS only)."""

    def write(self, outfile: Any, encoding: str) -> None:
        handler = SimplerXMLGenerator(outfile, encoding, short_empty_elements=True)
        handler.startDocument()
        for stylesheet in self.feed["stylesheets"] or []:
            handler.processingInstruction("xml-stylesheet", str(stylesheet))
        handler.startElement("feed", self.root_attributes())
        self.add_root_elements(handler)
        self.write_items(handler)
        handler.endElement("feed")


# Characters XML 1.0 cannot carry (C0 controls but tab and newlines, U+FFFE, U+FFFF):
# a search word or a document holding one would stop the feed being written (a 500).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    return NOT_XML.sub("", value) if value else value


def atom_response(
    request: HttpRequest,
    *,
    title: str,
    subtitle: str,
    page: str,
    feed_id: str,
    entries: Iterable[Entry],
) -> HttpResponse:
    """The entries as an Atom 1.0 document, every link absolute."""
    title, subtitle = xml_text(title), xml_text(subtitle)
    feed = StyledAtomFeed(
        title=title,
        link=request.build_absolute_uri(page),
        description=subtitle,
        subtitle=subtitle,
        language="en",
        feed_url=request.build_absolute_uri(),
        feed_guid=feed_id,
        # Atom requires an author for every entry; one on the feed covers them all.
        author_name=TRACKER_NAME,
        author_link=settings.SITE_URL + "/",
        stylesheets=[Stylesheet(static(FEED_STYLESHEET), mimetype="text/xsl")],
    )
    for e in entries:
        feed.add_item(
            title=xml_text(e.title),
            link=request.build_absolute_uri(e.link),
            description=xml_text(e.summary),
            unique_id=e.id,
            pubdate=e.published,
            updateddate=e.updated,
        )
    response = HttpResponse(content_type=feed_content_type(request, feed.content_type))
    feed.write(response, "utf-8")
    patch_vary_headers(response, ["Accept"])
    return response


def feed_content_type(request: HttpRequest, atom_type: str) -> str:
    """The feed's media type: Atom's for feed readers; for a browser opening it (which
    asks for HTML first), the same bytes as application/xml, the type a browser renders
    as XML with its stylesheet rather than showing as text or downloading."""
    accepted = {part.split(";")[0].strip() for part in request.headers.get("Accept", "").split(",")}
    return "application/xml; charset=utf-8" if "text/html" in accepted else atom_type


def _merge(*groups: list[Entry]) -> list[Entry]:
    """The newest FEED_SIZE entries of all groups; a document that is the source of a
    statement entry is not repeated as a "new source" entry of its own."""
    entries = [e for group in groups for e in group]
    cited = {e.cites for e in entries if e.cites}
    entries = [e for e in entries if e.document not in cited]
    entries.sort(key=lambda e: (e.updated, e.id), reverse=True)
    return entries[:FEED_SIZE]


# --- Statements feed -------------------------------------------------------------


def describe_filters(filters: search.StatementFilters) -> str:
    """The filters in words, for the feed title: "country: China, year: 2025"."""
    parts: list[str] = []
    if filters.q:
        parts.append(f"search: “{filters.q}”")

    def names(label: str, keys: list[str], lookup: Callable[[list[str]], dict[str, str]]) -> None:
        if keys:
            found = lookup(keys)
            parts.append(f"{label}: " + ", ".join(found.get(k, k) for k in keys))

    names(
        "country",
        filters.country,
        lambda keys: dict(Country.objects.filter(code__in=keys).values_list("code", "name")),
    )
    names(
        "speaker",
        filters.speaker,
        lambda keys: dict(Person.objects.filter(slug__in=keys).values_list("slug", "name")),
    )
    names(
        "proposal",
        filters.proposal,
        lambda keys: dict(Proposal.objects.filter(slug__in=keys).values_list("slug", "title")),
    )
    names(
        "event",
        filters.event,
        lambda keys: dict(Event.objects.filter(slug__in=keys).values_list("slug", "name")),
    )
    names("kind", filters.kind, lambda keys: dict(Statement.Kind.choices))
    if filters.year:
        parts.append("year: " + ", ".join(str(y) for y in filters.year))
    if filters.date_from:
        parts.append(f"from {filters.date_from:%Y-%m-%d}")
    if filters.date_to:
        parts.append(f"to {filters.date_to:%Y-%m-%d}")
    if filters.dates == "own":
        parts.append("own dates only")
    return ", ".join(parts)


def filters_query(filters: search.StatementFilters) -> str:
    """The valid filters as a canonical query string (sorted, without sort and page):
    one feed id per filtered view, however its URL was written."""
    pairs: list[tuple[str, str]] = []
    if filters.q:
        pairs.append(("q", filters.q))
    for name in ("country", "speaker", "proposal", "event", "kind", "year"):
        values = getattr(filters, name)
        pairs += [(name, str(v).lower() if name == "country" else str(v)) for v in sorted(values)]
    if filters.date_from:
        pairs.append(("from", filters.date_from.isoformat()))
    if filters.date_to:
        pairs.append(("to", filters.date_to.isoformat()))
    if filters.dates:
        pairs.append(("dates", filters.dates))
    return urlencode(pairs)


def statement_feed(request: HttpRequest) -> HttpResponse:
    """/statements/feed/: the statements page's filters (invalid ones are ignored, as on
    the page), the 50 most recently recorded or changed matches."""
    filters = search.StatementFilters.from_form(search.StatementFilterForm(request.GET))
    described = describe_filters(filters)
    query = filters_query(filters)
    page = reverse("governance:statement_list") + (f"?{query}" if query else "")
    return atom_response(
        request,
        title="Statements" + (f" — {described}" if described else ""),
        subtitle=f"New and changed statements in the {TRACKER_NAME}"
        + (f", filtered by {described}" if described else ""),
        page=page,
        feed_id=tag_uri("statements" + (f"?{query}" if query else "")),
        entries=statement_entries(search.filtered_statements(filters)),
    )


# --- Record feeds -----------------------------------------------------------------


def _survivor_feed(record: Proposal | Person, name: str) -> HttpResponse:
    """A merged duplicate's feed leads, permanently, to its survivor's, like its page."""
    survivor = record.merged_into
    while survivor.merged_into_id:
        survivor = survivor.merged_into
    return HttpResponsePermanentRedirect(reverse(name, args=[survivor.slug]))


def proposal_feed(request: HttpRequest, slug: str) -> HttpResponse:
    proposal = get_object_or_404(Proposal, slug=slug)
    if proposal.merged_into_id:
        return _survivor_feed(proposal, "governance:proposal_feed")
    statements = Statement.objects.filter(proposals=proposal)
    participations = Participation.objects.filter(proposal=proposal)
    documents = documents_supporting(
        proposal=Proposal.objects.filter(pk=proposal.pk),
        participation=participations,
        statement=statements,
    )
    return atom_response(
        request,
        title=f"{proposal.title} — {TRACKER_NAME}",
        subtitle=f"What is new or changed about “{proposal.title}”: statements, "
        "participation, sources and the record itself",
        page=proposal.get_absolute_url(),
        feed_id=tag_uri(f"proposal:{proposal.pk}"),
        entries=_merge(
            statement_entries(statements),
            participation_entries(Q(proposal_id=proposal.pk)),
            document_entries(documents),
            record_entries(proposal),
        ),
    )


def country_feed(request: HttpRequest, code: str) -> HttpResponse:
    country = get_object_or_404(Country, code=code.upper())  # the URL takes 2 letters only
    statements = statements_about_country(country.code)
    return atom_response(
        request,
        title=f"{country.name} — {TRACKER_NAME}",
        subtitle=f"What is new or changed about {country.name}: its statements, "
        "its participation, documents that mention it and the record itself",
        page=country.get_absolute_url(),
        feed_id=tag_uri(f"country:{country.code}"),
        entries=_merge(
            statement_entries(statements),
            participation_entries(Q(country_id=country.code)),
            document_entries(documents_mentioning(country)),
            record_entries(country),
        ),
    )


def person_feed(request: HttpRequest, slug: str) -> HttpResponse:
    person = get_object_or_404(Person, slug=slug)
    if person.merged_into_id:
        return _survivor_feed(person, "governance:person_feed")
    statements = Statement.objects.filter(speaker=person)
    documents = documents_supporting(
        person=Person.objects.filter(pk=person.pk),
        participation=Participation.objects.filter(person=person),
        statement=statements,
    )
    return atom_response(
        request,
        title=f"{person.name} — {TRACKER_NAME}",
        subtitle=f"What is new or changed about {person.name}: statements, "
        "participation, sources and the record itself",
        page=person.get_absolute_url(),
        feed_id=tag_uri(f"person:{person.pk}"),
        entries=_merge(
            statement_entries(statements),
            participation_entries(Q(person_id=person.pk)),
            document_entries(documents),
            record_entries(person),
        ),
    )
