"""A fact's source is shown as the whole sentence its evidence span sits in: the sentence
finder, and the pages that show it (whole, the span marked, long ones expandable)."""

from __future__ import annotations

import lxml.html
import pytest
from django.test import Client

from governance import models
from governance.sentences import MAX_REACH, sentence_around, sentence_bounds


def around(text: str, excerpt: str) -> str:
    start = text.index(excerpt)
    return sentence_around(text, start, start + len(excerpt)).text


ASEAN_SENTENCE = "Secretary-General of ASEAN, Dr. Kao Kim Hourn, today delivered remarks."
TEXT = (
    "Shanghai: China has proposed an international body. "
    "Secretary-General of ASEAN, Dr. Kao Kim Hourn, today delivered remarks. "
    "The U.S. Commerce Department declined to comment on it. "
    "“AI should be a common good,” Li said. Would it work? Nobody knows… yet.\n"
    "— ASEAN (@ASEAN) July 26, 2025\n"
    "J. R. Smith said 3.5 percent was enough."
)


@pytest.mark.parametrize(
    ("excerpt", "sentence"),
    [
        # A span inside a sentence gets the whole sentence, ending on its full stop.
        ("an international body", "Shanghai: China has proposed an international body."),
        # "Dr." and "U.S." do not end a sentence.
        ("today delivered remarks", ASEAN_SENTENCE),
        ("Kao Kim Hourn", ASEAN_SENTENCE),
        ("declined", "The U.S. Commerce Department declined to comment on it."),
        # A closing quote after the comma stays in; a question mark ends a sentence.
        ("a common good", "“AI should be a common good,” Li said."),
        ("Would it", "Would it work?"),
        # An ellipsis followed by a lower-case word runs on.
        ("Nobody", "Nobody knows… yet."),
        # A line break ends a sentence that has no full stop (an embedded post's byline).
        ("July 26", "— ASEAN (@ASEAN) July 26, 2025"),
        # Initials and decimals are not sentence ends.
        ("percent", "J. R. Smith said 3.5 percent was enough."),
        # The span is a whole sentence already: the same sentence.
        ("Would it work?", "Would it work?"),
    ],
)
def test_sentence_around_a_span(excerpt: str, sentence: str) -> None:
    assert around(TEXT, excerpt) == sentence


def test_a_span_over_two_sentences_gets_both() -> None:
    assert around(TEXT, "comment on it. “AI should") == (
        "The U.S. Commerce Department declined to comment on it. "
        "“AI should be a common good,” Li said."
    )


def test_the_span_is_marked_inside_its_sentence() -> None:
    start = TEXT.index("Kao Kim Hourn")
    s = sentence_around(TEXT, start, start + len("Kao Kim Hourn"))
    assert (s.before, s.span, s.after) == (
        "Secretary-General of ASEAN, Dr. ",
        "Kao Kim Hourn",
        ", today delivered remarks.",
    )


def test_a_text_without_sentence_ends_is_cut_near_the_span_at_white_space() -> None:
    text = " ".join(f"word{i}" for i in range(3000))  # about 25,000 characters, no full stop
    start = text.index("word1500 ")
    first, last = sentence_bounds(text, start, start + len("word1500"))
    assert first > 0 and last < len(text)
    assert last - first <= 2 * MAX_REACH + len("word1500")
    assert text[first - 1] == " " and text[last] == " "  # whole words


@pytest.mark.parametrize(("start", "end"), [(-1, 3), (5, 5), (3, 2), (0, len(TEXT) + 1)])
def test_a_span_outside_the_text_is_refused(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="is not inside"):
        sentence_bounds(TEXT, start, end)


# --- On the pages ---------------------------------------------------------------------

ACTION_PLAN_SENTENCE = (
    "The plan advocates open-source collaboration and cross-border exchanges to bridge "
    "gaps in regulatory philosophies and technical standards."
)


@pytest.mark.django_db
@pytest.mark.usefixtures("seed_for_the_module")
def test_an_action_item_shows_its_whole_sentence_with_its_words_marked(client: Client) -> None:
    plan = models.Proposal.objects.get(kind="action_plan")
    item = plan.items.get(heading="Cross-border exchanges")
    (ev,) = item.evidence.all()
    assert ev.excerpt == "cross-border exchanges"  # the span is two words
    html = lxml.html.fromstring(client.get(plan.get_absolute_url()).content.decode())
    (row,) = html.xpath(f'//*[@data-fact="actionplanitem-{item.pk}"]')
    (quote,) = row.xpath('.//q[contains(@class, "source-sentence")]')
    assert quote.text_content() == ACTION_PLAN_SENTENCE
    assert quote.xpath("./mark/text()") == ["cross-border exchanges"]
    assert row.xpath(".//a[@data-source]/@href") == [ev.get_absolute_url()]


@pytest.mark.django_db
@pytest.mark.usefixtures("seed_for_the_module")
def test_a_long_sentence_is_shown_short_and_whole_when_expanded(client: Client) -> None:
    """Li Qiang's announcer row: a 230-character sentence, not a 70-character cut."""
    proposal = models.Proposal.objects.get(kind="international_body")
    row_record = proposal.participations.get(role="announcer")
    ev = row_record.evidence.get(excerpt__startswith="Speaking")
    sentence = ev.sentence.text
    assert len(sentence) > 200 and sentence.endswith("few countries and companies.")
    html = lxml.html.fromstring(client.get(proposal.get_absolute_url()).content.decode())
    (row,) = html.xpath(f'//tr[@data-fact="participation-{row_record.pk}"]')
    details = [
        d
        for d in row.xpath('.//details[contains(@class, "source-sentence")]')
        if d.xpath("./q")[0].text_content() == sentence
    ]
    assert len(details) == 1, "the whole sentence is in the row, behind a <details>"
    (short,) = details[0].xpath('./summary/q[@class="short"]')
    assert len(short.text_content()) < len(sentence) and short.text_content().endswith("…")
    assert details[0].xpath("./q/mark/text()") == [ev.excerpt]
