"""iCalendar (RFC 5545) feeds of events: /events/calendar.ics and one event's .ics.

Events are all-day: DTSTART and DTEND are dates, DTEND exclusive (the day after the
last day). UIDs are `event-<id>@<host of SITE_URL>`, so a calendar that subscribed
updates an event in place instead of adding it twice. DTSTAMP is when the event's
record last changed (its history), the "last revised" time RFC 5545 asks for in a
published calendar; records without history get the time of the request.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import F, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar
from icalendar import Event as VEvent

from governance.citations import TRACKER_NAME
from governance.models import Event

CONTENT_TYPE = "text/calendar; charset=utf-8"


def _host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def event_uid(event: Event) -> str:
    return f"event-{event.pk}@{_host()}"


def upcoming(events: QuerySet[Event], today: datetime.date) -> QuerySet[Event]:
    """Events not over yet: ending today or later, or (no end date) starting so."""
    return events.filter(Q(end_date__gte=today) | Q(end_date__isnull=True, start_date__gte=today))


def calendar_events(*, include_past: bool = False) -> QuerySet[Event]:
    """Dated, unmerged events, soonest first; only the upcoming ones unless asked."""
    events = Event.objects.filter(merged_into__isnull=True, start_date__isnull=False)
    if not include_past:
        events = upcoming(events, timezone.localdate())
    return events.select_related("country").order_by(F("start_date").asc(), "name")


def vevent(event: Event, stamp: datetime.datetime) -> VEvent:
    """One event as an all-day VEVENT."""
    assert event.start_date is not None
    last_day = event.end_date or event.start_date
    location = ", ".join(p for p in (event.city, event.country.name if event.country else "") if p)
    description = "\n\n".join(
        part for part in (f"Theme: {event.theme}" if event.theme else "", event.description) if part
    )
    return VEvent.new(
        uid=event_uid(event),
        stamp=stamp,
        start=event.start_date,
        end=last_day + datetime.timedelta(days=1),  # DTEND of an all-day event is exclusive
        summary=event.name,
        location=location or None,
        url=settings.SITE_URL + event.get_absolute_url(),
        description=description or None,
    )


def _last_changed(events: list[Event]) -> dict[int, datetime.datetime]:
    history = Event.history.model.objects.filter(id__in=[e.pk for e in events])
    return dict(history.values("id").annotate(last=Max("history_date")).values_list("id", "last"))


def calendar_bytes(events: Iterable[Event], *, name: str, uid: str, url: str) -> bytes:
    events = list(events)
    now = timezone.now().replace(microsecond=0)
    changed = _last_changed(events)
    calendar = Calendar.new(
        name=name,
        prodid=f"-//{TRACKER_NAME}//Events//EN",
        uid=uid,
        url=url,
        description=f"Events tracked by the {TRACKER_NAME}",
    )
    for event in events:
        stamp = changed.get(event.pk, now).astimezone(datetime.UTC).replace(microsecond=0)
        calendar.add_component(vevent(event, stamp))
    return calendar.to_ical()


def calendar_feed(request: HttpRequest) -> HttpResponse:
    """/events/calendar.ics: upcoming events; `?all=1` for every dated event."""
    include_past = request.GET.get("all") == "1"
    body = calendar_bytes(
        calendar_events(include_past=include_past),
        name=f"{TRACKER_NAME}: {'all events' if include_past else 'upcoming events'}",
        uid=f"events{'-all' if include_past else ''}@{_host()}",
        url=settings.SITE_URL + reverse("governance:event_list"),
    )
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = 'inline; filename="events.ics"'
    return response


def event_ics(request: HttpRequest, slug: str) -> HttpResponse:
    """/events/<slug>/event.ics: one event, to add to a calendar."""
    event = get_object_or_404(Event.objects.select_related("country"), slug=slug)
    if event.merged_into_id:
        survivor = event.merged_into
        while survivor.merged_into_id:
            survivor = survivor.merged_into
        return HttpResponsePermanentRedirect(reverse("governance:event_ics", args=[survivor.slug]))
    if event.start_date is None:
        return HttpResponse(
            "This event has no date recorded yet, so it cannot be added to a calendar.",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    body = calendar_bytes(
        [event],
        name=event.name,
        uid=f"{event_uid(event)}-calendar",
        url=settings.SITE_URL + event.get_absolute_url(),
    )
    response = HttpResponse(body, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{event.slug}.ics"'
    return response
