"""Follows and email digests (governance/alerts/): following from the pages, what a
digest selects for each kind of target, no repeat and no miss across runs and failed
sends, the email itself, and unsubscribing without logging in."""

from __future__ import annotations

import email.policy
import re
import smtplib
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail, signing
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance import review
from governance.alerts import digests, tokens
from governance.alerts.digests import Outcome
from governance.alerts.models import Digest, DigestItem, Follow
from governance.models import (
    Candidate,
    Country,
    DocumentCountry,
    Evidence,
    Participation,
    Statement,
)
from governance.roles import CURATOR_GROUP
from tests import factories

pytestmark = pytest.mark.django_db

SITE = "https://tracker.example.org"
HTMX = {"HX-Request": "true", "HX-Target": "follow-proposal"}


@pytest.fixture(autouse=True)
def site(settings: Any) -> None:
    settings.SITE_URL = SITE
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture
def analyst() -> User:
    return User.objects.create_user("ana", "ana@example.org", "a long pass phrase 1")


@pytest.fixture
def client_in(analyst: User) -> Client:
    client = Client()
    client.force_login(analyst)
    return client


def follow(user: User, **target: Any) -> Follow:
    return Follow.objects.create(user=user, **target)


def run(frequency: str = "daily") -> list[Outcome]:
    """One digest run, as the beat task's fan-out does it, for every user."""
    return [digests.send_user_digest(u, frequency) for u in digests.users_to_digest(frequency)]


def statement(text: str, **fields: Any) -> Statement:
    return factories.StatementFactory(text=text, **fields)


def body(message: mail.EmailMessage) -> str:
    return message.body


def html(message: mail.EmailMultiAlternatives) -> str:
    return next(c for c, mimetype in message.alternatives if mimetype == "text/html")


# --- Following from the pages ----------------------------------------------------------


def test_following_needs_a_login() -> None:
    proposal = factories.ProposalFactory()
    client = Client()
    response = client.post("/following/follow/", {"proposal": proposal.slug})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get("/following/").status_code == 302
    assert not Follow.objects.exists()


def test_follow_and_unfollow_a_proposal_without_javascript(
    client_in: Client, analyst: User
) -> None:
    proposal = factories.ProposalFactory(title="Global AI Body")
    page = proposal.get_absolute_url()
    response = client_in.post("/following/follow/", {"proposal": proposal.slug, "next": page})
    assert response.status_code == 302 and response["Location"] == page
    item = Follow.objects.get(user=analyst)
    assert (item.proposal, item.frequency) == (proposal, "daily")
    # Following twice is still one follow, and says so.
    response = client_in.post(
        "/following/follow/", {"proposal": proposal.slug, "next": page}, follow=True
    )
    assert Follow.objects.filter(user=analyst).count() == 1
    assert "You already follow Global AI Body" in response.content.decode()
    assert "Following · Unfollow" in response.content.decode()
    # An off-site `next` is ignored.
    response = client_in.post(
        "/following/unfollow/", {"proposal": proposal.slug, "next": "https://evil.example/"}
    )
    assert response["Location"] == page
    assert not Follow.objects.exists()


def test_the_follow_button_swaps_in_place_with_htmx(client_in: Client) -> None:
    proposal = factories.ProposalFactory()
    response = client_in.post("/following/follow/", {"proposal": proposal.slug}, headers=HTMX)
    content = response.content.decode()
    assert response.status_code == 200 and "<html" not in content
    assert 'class="follow"' in content and "Following · Unfollow" in content
    response = client_in.post("/following/unfollow/", {"proposal": proposal.slug}, headers=HTMX)
    assert "Follow this proposal" in response.content.decode()
    assert not Follow.objects.exists()


def test_follow_needs_the_csrf_token(analyst: User) -> None:
    proposal = factories.ProposalFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    assert client.post("/following/follow/", {"proposal": proposal.slug}).status_code == 403
    assert not Follow.objects.exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"proposal": "no-such-proposal"}, "There is no proposal"),
        ({"country": "zz"}, "There is no country"),
        ({}, "Say what to follow"),
        ({"country": "cn", "person": "x"}, "Say what to follow"),
        ({"country": "cn", "frequency": "hourly"}, "daily or weekly"),
        ({"search": "kind=shouting"}, "not understood"),
        ({"search": "page=2&sort=oldest"}, "at least one filter"),
    ],
)
def test_bad_follow_requests_are_refused_with_a_message(
    client_in: Client, data: dict[str, str], message: str
) -> None:
    response = client_in.post("/following/follow/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Follow.objects.exists()


def test_a_saved_search_is_normalised(client_in: Client, analyst: User) -> None:
    for search in ("kind=paraphrase&country=US&page=3&sort=oldest", "?country=us&kind=paraphrase"):
        client_in.post("/following/follow/", {"search": search})
    saved = Follow.objects.get(user=analyst)
    assert saved.saved_search == "country=us&kind=paraphrase"
    assert saved.get_absolute_url() == "/statements/?country=us&kind=paraphrase"


def test_record_pages_offer_follow_or_sign_in(client_in: Client) -> None:
    proposal = factories.ProposalFactory()
    person = factories.PersonFactory()
    pages = {
        proposal.get_absolute_url(): "Follow this proposal",
        "/countries/cn/": "Follow this country",
        person.get_absolute_url(): "Follow this person",
        "/statements/?country=cn": "Follow this search",
    }
    for url, label in pages.items():
        anonymous = Client().get(url).content.decode()
        assert "Sign in to follow" in anonymous, url
        assert (
            "/accounts/login/?next="
            + url.replace("/", "%2F").replace("?", "%3F").replace("=", "%3D")
            in anonymous
        ), url
        assert label in client_in.get(url).content.decode(), url
    # The plain statements page is no search to follow.
    assert "Follow this search" not in client_in.get("/statements/").content.decode()


def test_follow_this_search_from_the_statements_page(client_in: Client, analyst: User) -> None:
    page = client_in.get("/statements/?kind=paraphrase&country=cn").content.decode()
    value = re.search(r'name="search" value="([^"]+)" form="follow-search"', page)
    assert value and '<form id="follow-search" method="post"' in page
    response = client_in.post(
        "/following/follow/", {"search": value.group(1).replace("&amp;", "&"), "next": "/s/"}
    )
    assert response.status_code == 302
    assert Follow.objects.get(user=analyst).saved_search == "country=cn&kind=paraphrase"
    page = client_in.get("/statements/?country=cn&kind=paraphrase").content.decode()
    assert "You follow this search" in page


def test_the_following_page_lists_and_manages_follows(client_in: Client, analyst: User) -> None:
    proposal = factories.ProposalFactory(title="Framework Convention")
    item = follow(analyst, proposal=proposal)
    follow(analyst, country=Country.objects.get(code="CN"), frequency="weekly")
    page = client_in.get("/following/").content.decode()
    assert "Framework Convention" in page and "China" in page and "2 followed" in page
    response = client_in.post(f"/following/{item.pk}/frequency/", {"frequency": "weekly"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.frequency == "weekly"
    assert client_in.post(f"/following/{item.pk}/frequency/", {"frequency": "x"}).status_code == 400
    client_in.post("/following/unfollow/", {"follow": item.pk})
    assert not Follow.objects.filter(pk=item.pk).exists()


def test_nobody_changes_or_removes_another_users_follow(client_in: Client) -> None:
    other = User.objects.create_user("bob", "bob@example.org", "another pass phrase 2")
    theirs = follow(other, country=Country.objects.get(code="US"))
    response = client_in.post(f"/following/{theirs.pk}/frequency/", {"frequency": "weekly"})
    assert response.status_code == 404
    assert client_in.post("/following/unfollow/", {"follow": theirs.pk}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.frequency == "daily"


def test_the_following_page_query_count_does_not_grow(client_in: Client, analyst: User) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client_in.get("/following/").status_code == 200
        return len(ctx.captured_queries)

    follow(analyst, proposal=factories.ProposalFactory())
    few = queries()
    for code in ("CN", "US", "FR"):
        follow(analyst, country=Country.objects.get(code=code))
    follow(analyst, person=factories.PersonFactory())
    follow(analyst, saved_search="q=safety")
    # session, user, the nav's 2 permission lookups, the follows, and the analyst-query
    # middleware's 3.
    assert queries() == few <= 8


# --- Where a login lands (sign-up itself: tests/governance/test_signup.py) --------------


def test_a_login_lands_analysts_on_following_and_curators_on_review(analyst: User) -> None:
    curator = User.objects.create_user("cora", "cora@example.org", "curator pass phrase 3")
    curator.groups.add(Group.objects.get(name=CURATOR_GROUP))
    for user, landing in ((analyst, "/following/"), (curator, "/review/")):
        client = Client()
        client.force_login(user)
        assert client.get("/accounts/home/")["Location"] == landing


# --- What a digest selects ---------------------------------------------------------------


def test_a_proposal_digest_has_its_new_statements_roles_and_sources(analyst: User) -> None:
    proposal = factories.ProposalFactory(title="Global AI Cooperation Organization")
    old = statement("Said before anyone followed.")
    old.proposals.add(proposal)
    follow(analyst, proposal=proposal)
    new = statement("We propose a world AI cooperation organization.")
    new.proposals.add(proposal)
    statement("About something else entirely.")
    china = Country.objects.get(code="CN")
    part = Participation.objects.create(proposal=proposal, country=china, role="proposer")
    document = factories.DocumentFactory(title="Shanghai declaration text")
    Evidence.objects.create(
        record=part, document=document, start=0, end=8, excerpt=document.text[:8]
    )
    assert run() == [Outcome.SENT]
    [message] = mail.outbox
    text = body(message)
    assert "We propose a world AI cooperation organization." in text
    assert "Said before anyone followed" not in text and "something else" not in text
    assert "China — Proposer — Global AI Cooperation Organization (added)" in text
    assert "Shanghai declaration text" in text
    ledger = set(DigestItem.objects.values_list("kind", "object_id"))
    assert ledger == {
        ("statement", new.pk),
        ("participation", part.history.get().history_id),
        ("document", document.pk),
    }


def test_a_country_digest_has_statements_by_and_about_it_and_documents_mentioning_it(
    analyst: User,
) -> None:
    china = Country.objects.get(code="CN")
    follow(analyst, country=china)
    by = statement("Our officials speak.", on_behalf_of_country=china)
    about = statement("Others speak about it.")
    about.countries.add(china)
    statement("Unrelated.", on_behalf_of_country=Country.objects.get(code="US"))
    mentioning = factories.DocumentFactory(title="Beijing on AI", extracted_at=timezone.now())
    DocumentCountry.objects.create(document=mentioning, country=china, start=0, end=3)
    other = factories.DocumentFactory(title="Paris on AI", extracted_at=timezone.now())
    DocumentCountry.objects.create(document=other, country_id="FR", start=0, end=3)
    run()
    text = body(mail.outbox[0])
    assert "Our officials speak." in text and "Others speak about it." in text
    assert "Unrelated." not in text
    assert "Beijing on AI" in text and "Paris on AI" not in text
    assert {by.pk, about.pk} == set(
        DigestItem.objects.filter(kind="statement").values_list("object_id", flat=True)
    )


def test_a_person_digest_has_their_statements_and_role_changes(analyst: User) -> None:
    li = factories.PersonFactory(name="Li Qiang")
    follow(analyst, person=li)
    statement("AI should benefit all.", speaker=li)
    statement("Someone else talking.")
    event = factories.EventFactory(name="WAIC 2025")
    part = Participation.objects.create(event=event, person=li, role="speaker")
    part.role = "delegate"
    part.save()
    run()
    text = body(mail.outbox[0])
    assert "Li Qiang" in text and "AI should benefit all." in text
    assert "Someone else talking." not in text
    assert "Li Qiang — Speaker — WAIC 2025 (added)" in text
    assert "Li Qiang — Delegate — WAIC 2025 (changed)" in text


def test_a_removed_participation_is_a_change_too(analyst: User) -> None:
    proposal = factories.ProposalFactory(title="Accord")
    part = Participation.objects.create(proposal=proposal, country_id="FR", role="supporter")
    follow(analyst, proposal=proposal)
    part.delete()
    run()
    assert "France — Supporter — Accord (removed)" in body(mail.outbox[0])


def test_an_older_statement_newly_linked_is_sent_as_updated(analyst: User) -> None:
    proposal = factories.ProposalFactory()
    old = statement("An older remark, linked to the proposal later.")
    follow(analyst, proposal=proposal)
    old.proposals.add(proposal)
    run()
    assert "[updated]: “An older remark, linked to the proposal later.”" in body(mail.outbox[0])


def test_a_saved_search_digest_has_new_matching_statements(analyst: User) -> None:
    follow(analyst, saved_search="q=safety&kind=direct_quote", name="Safety quotes")
    statement("AI safety needs global rules.")
    statement("AI safety, paraphrased.", kind=Statement.Kind.PARAPHRASE)
    statement("Talent and chips.")
    run()
    text = body(mail.outbox[0])
    assert "== Safety quotes ==" in text
    assert "AI safety needs global rules." in text
    assert "paraphrased" not in text and "Talent" not in text


# --- No repeat, no miss ---------------------------------------------------------------------


def test_two_runs_never_repeat_an_item(analyst: User) -> None:
    proposal = factories.ProposalFactory()
    follow(analyst, proposal=proposal)
    first = statement("First news.")
    first.proposals.add(proposal)
    assert run() == [Outcome.SENT]
    # Nothing new: no email at all, and the watermark still moves on.
    assert run() == [Outcome.NOTHING_NEW]
    assert len(mail.outbox) == 1
    second = statement("Second news.")
    second.proposals.add(proposal)
    assert run() == [Outcome.SENT]
    assert "Second news." in body(mail.outbox[1]) and "First news." not in body(mail.outbox[1])
    assert Digest.objects.count() == 2


def test_an_item_recorded_while_a_digest_is_sent_goes_in_the_next_one(
    analyst: User, settings: Any
) -> None:
    proposal = factories.ProposalFactory()
    follow(analyst, proposal=proposal)
    statement("Before the run.").proposals.add(proposal)
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.AcceptsWhileSending"}}
    AcceptsWhileSending.proposal = proposal
    assert run() == [Outcome.SENT]
    assert "Before the run." in body(mail.outbox[0])
    assert "Accepted during the send." not in body(mail.outbox[0])
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert run() == [Outcome.SENT]
    assert "Accepted during the send." in body(mail.outbox[1])
    assert "Before the run." not in body(mail.outbox[1])


def test_a_fact_that_commits_after_a_snapshot_with_an_older_time_is_not_missed(
    analyst: User,
) -> None:
    proposal = factories.ProposalFactory()
    item = follow(analyst, proposal=proposal)
    assert run() == [Outcome.NOTHING_NEW]
    item.refresh_from_db()
    # A review transaction that began before that snapshot and committed after it: its
    # history rows carry a time before the snapshot.
    late = statement("Committed late.")
    late.proposals.add(proposal)
    before = item.digested_until - timedelta(minutes=5)
    Statement.history.filter(id=late.pk).update(history_date=before)
    Follow.objects.filter(pk=item.pk).update(created_at=before - timedelta(hours=1))
    assert run() == [Outcome.SENT]
    assert "Committed late." in body(mail.outbox[0])


def test_a_failed_send_leaves_everything_for_the_next_run(analyst: User, settings: Any) -> None:
    proposal = factories.ProposalFactory()
    item = follow(analyst, proposal=proposal)
    news = statement("News that must not be lost.")
    news.proposals.add(proposal)
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.RefusingBackend"}}
    assert run() == [Outcome.FAILED]
    item.refresh_from_db()
    assert item.digested_until is None
    assert not Digest.objects.exists() and not DigestItem.objects.exists()
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert run() == [Outcome.SENT]
    assert "News that must not be lost." in body(mail.outbox[0])
    # A retry after that success (the task's retry, or a second beat tick) sends nothing.
    assert run() == [Outcome.NOTHING_NEW] and len(mail.outbox) == 1


def test_daily_and_weekly_follows_go_in_their_own_digests(analyst: User) -> None:
    daily, weekly = (
        factories.ProposalFactory(title="Daily one"),
        factories.ProposalFactory(title="Weekly one"),
    )
    follow(analyst, proposal=daily)
    follow(analyst, proposal=weekly, frequency="weekly")
    statement("On the daily one.").proposals.add(daily)
    statement("On the weekly one.").proposals.add(weekly)
    assert run("daily") == [Outcome.SENT]
    assert "On the daily one." in body(mail.outbox[0])
    assert "weekly one" not in body(mail.outbox[0])
    assert run("weekly") == [Outcome.SENT]
    assert "On the weekly one." in body(mail.outbox[1])
    assert "daily one" not in body(mail.outbox[1])
    assert mail.outbox[1].subject.startswith("Your weekly digest: 1 new item")


def test_one_email_per_user_groups_all_their_follows(analyst: User) -> None:
    other = User.objects.create_user("bob", "bob@example.org", "another pass phrase 2")
    china = Country.objects.get(code="CN")
    person = factories.PersonFactory(name="Ursula")
    follow(analyst, country=china)
    follow(analyst, person=person)
    follow(other, country=china)
    statement("From China.", on_behalf_of_country=china)
    statement("From Ursula.", speaker=person)
    assert sorted(run()) == [Outcome.SENT, Outcome.SENT]
    by_user = {m.to[0]: body(m) for m in mail.outbox}
    assert "From China." in by_user["ana@example.org"]
    assert "From Ursula." in by_user["ana@example.org"]
    assert "From China." in by_user["bob@example.org"]
    assert "Ursula" not in by_user["bob@example.org"]


def test_a_large_batch_is_counted_and_linked_beyond_what_is_listed(analyst: User) -> None:
    person = factories.PersonFactory()
    follow(analyst, person=person)
    for i in range(digests.SHOWN_PER_KIND + 3):
        statement(f"Remark number {i}.", speaker=person)
    run()
    assert "… and 3 more:" in body(mail.outbox[0])
    assert DigestItem.objects.count() == digests.SHOWN_PER_KIND + 3
    assert run() == [Outcome.NOTHING_NEW]


def test_users_without_an_address_are_skipped(analyst: User) -> None:
    User.objects.filter(pk=analyst.pk).update(email="")
    follow(analyst, country=Country.objects.get(code="CN"))
    assert run() == [Outcome.SKIPPED] and not mail.outbox


# --- The email -----------------------------------------------------------------------------


def test_the_email_has_absolute_links_and_unsubscribe_links_and_headers(analyst: User) -> None:
    proposal = factories.ProposalFactory(title="Action Plan")
    item = follow(analyst, proposal=proposal)
    news = statement("Links must be absolute.")
    news.proposals.add(proposal)
    run()
    [message] = mail.outbox
    assert message.to == ["ana@example.org"]
    assert message.subject == "Your daily digest: 1 new item on what you follow"
    text, page = body(message), html(message)
    statement_url = f"{SITE}/statements/{news.pk}/"
    assert statement_url in text and f'href="{statement_url}"' in page
    assert f"{SITE}{proposal.get_absolute_url()}" in text
    follow_token = tokens.make_token(analyst.pk, item.pk)
    all_token = tokens.make_token(analyst.pk)
    assert f"{SITE}/unsubscribe/{follow_token}/" in text
    assert f"{SITE}/unsubscribe/{all_token}/" in text and f"{SITE}/unsubscribe/{all_token}/" in page
    assert message.extra_headers["List-Unsubscribe"] == f"<{SITE}/unsubscribe/{all_token}/>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # No relative link anywhere in the HTML part.
    assert not re.findall(r'href="(?!https://tracker\.example\.org/)', page)
    # As sent over SMTP: the URL stays a URL (not RFC 2047-encoded), on one line.
    raw = message.message(policy=email.policy.SMTP).as_string()
    assert f"\r\nList-Unsubscribe: <{SITE}/unsubscribe/{all_token}/>\r\n" in raw
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw


# --- Unsubscribing without logging in ----------------------------------------------------


@pytest.fixture
def followed(analyst: User) -> Follow:
    return follow(analyst, proposal=factories.ProposalFactory(title="Followed Proposal"))


def test_unsubscribe_get_asks_and_changes_nothing(followed: Follow) -> None:
    response = Client().get(f"/unsubscribe/{tokens.make_token(followed.user_id, followed.pk)}/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Followed Proposal" in content and '<button type="submit"' in content
    assert Follow.objects.filter(pk=followed.pk).exists()


def test_unsubscribe_post_with_a_valid_token_removes_the_follow(
    followed: Follow, analyst: User
) -> None:
    other = follow(analyst, country=Country.objects.get(code="CN"))
    url = f"/unsubscribe/{tokens.make_token(followed.user_id, followed.pk)}/"
    response = Client(enforce_csrf_checks=True).post(url)
    assert response.status_code == 200 and "Unsubscribed" in response.content.decode()
    assert "Followed Proposal" in response.content.decode()
    assert not Follow.objects.filter(pk=followed.pk).exists()
    assert Follow.objects.filter(pk=other.pk).exists()
    # Again: nothing left to remove, still a clear page.
    assert "already removed" in Client().post(url).content.decode()


def test_one_click_unsubscribe_from_all_digests(followed: Follow, analyst: User) -> None:
    """RFC 8058: the mail client POSTs List-Unsubscribe=One-Click, no session, no CSRF."""
    follow(analyst, country=Country.objects.get(code="CN"))
    bob = User.objects.create_user("bob", "bob@example.org", "another pass phrase 2")
    theirs = follow(bob, country=Country.objects.get(code="CN"))
    response = Client(enforce_csrf_checks=True).post(
        f"/unsubscribe/{tokens.make_token(analyst.pk)}/",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert not Follow.objects.filter(user=analyst).exists()
    assert Follow.objects.filter(pk=theirs.pk).exists()


def test_a_tampered_token_is_refused(followed: Follow) -> None:
    token = tokens.make_token(followed.user_id, followed.pk)
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "garbage", token + "x"):
        response = Client().post(f"/unsubscribe/{bad}/")
        assert response.status_code == 400, bad
        assert "not valid" in response.content.decode()
    assert Follow.objects.filter(pk=followed.pk).exists()


def test_a_token_for_another_users_follow_cannot_be_forged(followed: Follow, analyst: User) -> None:
    mallory = User.objects.create_user("mallory", "m@example.org", "mallory pass phrase 4")
    mine = tokens.make_token(mallory.pk, None)
    value, signature = mine.rsplit(":", 1)
    # Mallory's valid signature on a value naming the analyst's follow, or on "all" of theirs.
    values = (f"{analyst.pk}.{followed.pk}", f"{analyst.pk}.all", f"{mallory.pk}.{followed.pk}")
    for value in values:
        response = Client().post(f"/unsubscribe/{value}:{signature}/")
        assert response.status_code == 400
    # A value signed by this app for another purpose (another salt) is no token either.
    other_purpose = signing.Signer(salt="something.else").sign(f"{analyst.pk}.all")
    assert Client().post(f"/unsubscribe/{other_purpose}/").status_code == 400
    # A genuine token of Mallory's own naming the analyst's follow id removes nothing.
    forged = tokens.make_token(mallory.pk, followed.pk)
    Client().post(f"/unsubscribe/{forged}/")
    assert Follow.objects.filter(pk=followed.pk).exists()


def test_tokens_round_trip() -> None:
    assert tokens.read_token(tokens.make_token(7, 12)) == tokens.Unsubscribe(7, 12)
    assert tokens.read_token(tokens.make_token(7)) == tokens.Unsubscribe(7, None)
    with pytest.raises(tokens.BadToken):
        tokens.read_token(signing.Signer(salt=tokens.SALT).sign("7.drop table"))


# --- Done when: follow a proposal, accept new facts, receive the digest -------------------


def test_follow_a_proposal_then_accepted_facts_arrive_in_the_digest(
    client_in: Client, analyst: User
) -> None:
    proposal = factories.ProposalFactory(title="World AI Cooperation Organization")
    client_in.post("/following/follow/", {"proposal": proposal.slug})
    curator = User.objects.create_user("cora", "cora@example.org", "curator pass phrase 3")
    text = "France said it supports the World AI Cooperation Organization."
    document = factories.DocumentFactory(title="France backs the body", text=text)
    candidate = Candidate.objects.create(
        document=document,
        kind=Candidate.Kind.PARTICIPATION,
        payload={
            "participant": "France",
            "participant_type": "country",
            "role": "supporter",
            "subject": proposal.title,
            "subject_type": "proposal",
        },
        start=0,
        end=len(text),
        excerpt=text,
        confidence=0.9,
        extractor="test",
    )
    review.accept(candidate.pk, user=curator)
    assert run() == [Outcome.SENT]
    text_part = body(mail.outbox[0])
    assert "France — Supporter — World AI Cooperation Organization (added)" in text_part
    assert "France backs the body" in text_part
    assert f"{SITE}/documents/{document.pk}/" in text_part


# Email backends for the tests above: Django's test backend with one thing added.


class AcceptsWhileSending(LocmemBackend):
    """Records a new statement on the followed proposal while the digest is being sent."""

    proposal: Any = None

    def send_messages(self, messages: Any) -> int:
        late = Statement.objects.create(
            text="Accepted during the send.", kind="paraphrase", said_on=date(2025, 7, 27)
        )
        late.proposals.add(self.proposal)
        return super().send_messages(messages)


class RefusingBackend(LocmemBackend):
    def send_messages(self, messages: Any) -> int:
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
