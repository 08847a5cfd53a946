"""iCal: /events/calendar.ics (upcoming events, `?all=1` for all) and one event's .ics.

The output is parsed back with the icalendar library and checked field by field.
"""

from __future__ import annotations

import datetime

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from icalendar import Calendar

from governance import models
from tests import factories

pytestmark = pytest.mark.django_db

SITE = "https://tracker.example.org"
DAY = datetime.timedelta(days=1)


@pytest.fixture
def events() -> dict[str, models.Event]:
    today = timezone.localdate()
    return {
        "past": factories.EventFactory(
            name="Summit Last Month", start_date=today - 40 * DAY, end_date=today - 38 * DAY
        ),
        "ended_yesterday": factories.EventFactory(
            name="Forum Ending Yesterday", start_date=today - 3 * DAY, end_date=today - DAY
        ),
        "ends_today": factories.EventFactory(
            name="Meeting Ending Today", start_date=today - 2 * DAY, end_date=today
        ),
        "ongoing": factories.EventFactory(
            name="Conference & Expo <2>",
            city="Geneva",
            country_id="CH",
            start_date=today - DAY,
            end_date=today + 2 * DAY,
            theme="Governing AI, together; for all",
        ),
        "one_day": factories.EventFactory(
            name="One-day Workshop", city="Paris", start_date=today + 10 * DAY
        ),
        "undated": factories.EventFactory(name="Some Day Meeting"),
    }


def parse(client: Client, url: str) -> Calendar:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    return calendar


def by_uid(calendar: Calendar) -> dict[str, object]:
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


@override_settings(SITE_URL=SITE)
def test_calendar_lists_upcoming_events_only(client: Client, events: dict) -> None:
    uids = set(by_uid(parse(client, "/events/calendar.ics")))
    expected = {
        f"event-{events[k].pk}@tracker.example.org" for k in ("ends_today", "ongoing", "one_day")
    }
    assert uids == expected


@override_settings(SITE_URL=SITE)
def test_all_lists_every_dated_event(client: Client, events: dict) -> None:
    uids = set(by_uid(parse(client, "/events/calendar.ics?all=1")))
    dated = ("past", "ended_yesterday", "ends_today", "ongoing", "one_day")
    assert uids == {f"event-{events[k].pk}@tracker.example.org" for k in dated}
    # Anything but 1 is the default.
    assert len(by_uid(parse(client, "/events/calendar.ics?all=yes"))) == 3


@override_settings(SITE_URL=SITE)
def test_event_fields_and_all_day_semantics(client: Client, events: dict) -> None:
    event = events["ongoing"]
    vevent = by_uid(parse(client, "/events/calendar.ics"))[f"event-{event.pk}@tracker.example.org"]
    start, end = vevent["DTSTART"], vevent["DTEND"]
    # All-day: plain dates (VALUE=DATE), not date-times; DTEND is the day after the last.
    assert start.params.get("VALUE") == "DATE" and end.params.get("VALUE") == "DATE"
    assert type(start.dt) is datetime.date and type(end.dt) is datetime.date
    assert start.dt == event.start_date
    assert end.dt == event.end_date + DAY
    assert str(vevent["SUMMARY"]) == "Conference & Expo <2>"
    assert str(vevent["LOCATION"]) == "Geneva, Switzerland"
    assert str(vevent["URL"]) == f"{SITE}/events/{event.slug}/"
    assert str(vevent["DESCRIPTION"]) == "Theme: Governing AI, together; for all"
    # DTSTAMP: when the record last changed (its history), in UTC, stable between fetches.
    last = event.history.order_by("-history_date").first().history_date
    assert vevent["DTSTAMP"].dt == last.replace(microsecond=0)
    again = by_uid(parse(client, "/events/calendar.ics"))[f"event-{event.pk}@tracker.example.org"]
    assert again["DTSTAMP"].dt == vevent["DTSTAMP"].dt


@override_settings(SITE_URL=SITE)
def test_one_day_event_without_end_date_lasts_one_day(client: Client, events: dict) -> None:
    event = events["one_day"]
    vevent = by_uid(parse(client, "/events/calendar.ics"))[f"event-{event.pk}@tracker.example.org"]
    assert vevent["DTSTART"].dt == event.start_date
    assert vevent["DTEND"].dt == event.start_date + DAY
    assert str(vevent["LOCATION"]) == "Paris"
    assert "DESCRIPTION" not in vevent


def test_merged_events_are_left_out(client: Client, events: dict) -> None:
    duplicate = factories.EventFactory(
        name="One-day Workshop (dup)", start_date=events["one_day"].start_date
    )
    models.Event.objects.filter(pk=duplicate.pk).update(merged_into=events["one_day"])
    uids = set(by_uid(parse(client, "/events/calendar.ics")))
    assert not any(uid.startswith(f"event-{duplicate.pk}@") for uid in uids)
    response = client.get(f"/events/{duplicate.slug}/event.ics")
    assert response.status_code == 301
    assert response["Location"] == f"/events/{events['one_day'].slug}/event.ics"


@override_settings(SITE_URL=SITE)
def test_single_event_ics(client: Client, events: dict) -> None:
    event = events["past"]  # past events can still be added one by one
    response = client.get(f"/events/{event.slug}/event.ics")
    assert response["Content-Disposition"] == f'attachment; filename="{event.slug}.ics"'
    calendar = parse(client, f"/events/{event.slug}/event.ics")
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == f"event-{event.pk}@tracker.example.org"  # same as in the feed
    assert vevent["DTSTART"].dt == event.start_date
    assert vevent["DTEND"].dt == event.end_date + DAY
    assert str(vevent["SUMMARY"]) == "Summit Last Month"


def test_single_event_errors(client: Client, events: dict) -> None:
    assert client.get("/events/no-such-event/event.ics").status_code == 404
    response = client.get(f"/events/{events['undated'].slug}/event.ics")
    assert response.status_code == 404
    assert b"no date recorded" in response.content


def test_pages_link_the_calendars(client: Client, events: dict) -> None:
    html = client.get("/events/").content.decode()
    assert 'href="/events/calendar.ics"' in html
    assert 'href="/events/calendar.ics?all=1"' in html
    assert '<link rel="alternate" type="text/calendar"' in html
    event = events["ongoing"]
    html = client.get(f"/events/{event.slug}/").content.decode()
    assert f'href="/events/{event.slug}/event.ics"' in html
    html = client.get(f"/events/{events['undated'].slug}/").content.decode()
    assert "event.ics" not in html  # nothing to add without a date
