"""Small display helpers for the analyst pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Model
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

from governance import dating, quotation
from governance.models import Statement
from governance.search import COUNT_CAP, HL_START, HL_STOP

register = template.Library()


@register.filter
def capped(count: int, capped: bool | None = None) -> str:
    """ "1,234", or "10,000+" when the count stopped at the cap."""
    if capped or (capped is None and count > COUNT_CAP):
        return f"{intcomma(COUNT_CAP)}+"
    return intcomma(count)


@register.filter
def fact_key(record: Model) -> str:
    """ "participation-12": what a fact row's `data-fact` names, so that a reader (or a
    test) can tell which record each row of a page shows."""
    return f"{record._meta.model_name}-{record.pk}"


@register.filter
def statement_text(statement: Statement, limit: int | None = None) -> SafeString:
    """A statement's words as HTML, quotation marks around its quoted runs only (the rule
    is governance/quotation.py's), with search matches marked when the row carries a
    `headline` from the statements browser. `limit` cuts long text."""
    return quotation.display_html(
        statement.kind,
        statement.text,
        statement.quoted,
        marked=getattr(statement, "headline", None),
        start_sel=HL_START,
        stop_sel=HL_STOP,
        limit=int(limit) if limit else None,
    )


@register.filter
def when(record: Any, own_format: str = "j M Y") -> SafeString:
    """A statement's or participation row's date: its own, or the event's dates marked as
    inferred from the event, or "Undated"."""
    own = record.own_date
    if own is not None:
        return format_html(
            '<time datetime="{}">{}</time>', own.isoformat(), date_format(own, own_format)
        )
    if span := dating.inferred(record):
        return format_html(
            '<time datetime="{}" class="inferred">{}</time><span class="inferred">, {}</span>',
            dating.iso_interval(record),
            dating.range_label(*span),
            dating.FROM_THE_EVENT,
        )
    return format_html('<span class="undated">{}</span>', "Undated")


@register.filter
def statement_plain(statement: Statement, limit: int | None = None) -> str:
    """`statement_text` as plain text (emails): the same marks, no markup."""
    return quotation.display_text(
        statement.kind, statement.text, statement.quoted, limit=int(limit) if limit else None
    )


@register.filter
def when_plain(record: Any) -> str:
    """`when` as plain text: "26 Jul 2025", "26-28 Jul 2025, from the event", "Undated"."""
    return dating.date_label(record)
