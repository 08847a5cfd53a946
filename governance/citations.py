"""'Cite this' for record pages: a plain-text citation and a BibTeX entry, each with the
record's permanent URL and the date it was accessed.

The permanent URL is SITE_URL plus the record's canonical path (the slug URL for
slugged records), not the address the page happened to be reached by.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Model
from django.utils import timezone
from django.utils.text import Truncator

from governance.models import (
    Country,
    Document,
    Event,
    Organization,
    Person,
    Proposal,
    Statement,
)

TRACKER_NAME = "AI Governance Tracker"
CITATION_KEY_PREFIX = "aigt"

# Characters with a meaning in (La)TeX, and what stands for them in BibTeX text.
_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "_": r"\_",
    "$": r"\$",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_BIBTEX_RE = re.compile("|".join(re.escape(c) for c in _BIBTEX_SPECIAL))


def bibtex_escape(text: str) -> str:
    """Text safe inside a BibTeX field: one pass, so the braces of a replacement are
    never escaped again."""
    return _BIBTEX_RE.sub(lambda m: _BIBTEX_SPECIAL[m.group()], text)


def bibtex_url(url: str) -> str:
    r"""A URL for `\url{}`: braces and backslashes percent-encoded (\url cannot take
    them), `%` and `#` escaped (hyperref's \url reads `\%` and `\#` as the characters)."""
    url = url.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")
    return url.replace("%", r"\%").replace("#", r"\#")


@dataclass(frozen=True)
class Citation:
    kind: str  # "proposal", "statement", …
    key: str  # the record's own key: slug, code or id
    title: str
    url: str  # permanent, absolute
    accessed: datetime.date
    date: datetime.date | None = None
    author: str = ""

    @property
    def plain(self) -> str:
        """`AI Governance Tracker. “Title.” Proposal, 26 July 2025. <URL> (accessed …).`"""
        by = f"{self.author}. " if self.author else ""
        what = self.kind.capitalize() + (f", {self.date:%-d %B %Y}" if self.date else "")
        title = self.title if self.title[-1:] in ".?!…" else self.title + "."
        return (
            f"{by}“{title}” {what}. {TRACKER_NAME}. {self.url} "
            f"(accessed {self.accessed:%-d %B %Y})."
        )

    @property
    def bibtex_key(self) -> str:
        # Keys may not hold spaces, commas, braces or TeX specials: keep [a-z0-9-].
        key = re.sub(r"[^a-z0-9]+", "-", f"{self.kind}-{self.key}".lower()).strip("-")
        return f"{CITATION_KEY_PREFIX}-{key}"

    @property
    def bibtex(self) -> str:
        fields = [("title", "{" + bibtex_escape(self.title) + "}")]
        if self.author:
            fields.append(("author", "{" + bibtex_escape(self.author) + "}"))
        fields += [
            ("organization", bibtex_escape(TRACKER_NAME)),
            ("howpublished", r"\url{" + bibtex_url(self.url) + "}"),
        ]
        if self.date:
            fields += [("year", str(self.date.year)), ("date", self.date.isoformat())]
        fields += [
            ("urldate", self.accessed.isoformat()),
            ("note", f"Accessed {self.accessed.isoformat()}"),
        ]
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        return f"@misc{{{self.bibtex_key},\n{body}\n}}\n"


CITABLE = (Proposal, Country, Person, Organization, Event, Statement, Document)


def permanent_url(record: Model) -> str:
    return settings.SITE_URL + record.get_absolute_url()


def citation_for(record: Model, accessed: datetime.date | None = None) -> Citation:
    """The citation of a record page; `accessed` defaults to today (local time)."""
    if not isinstance(record, CITABLE):
        raise TypeError(f"No citation for {type(record).__name__}")
    accessed = accessed or timezone.localdate()
    url = permanent_url(record)
    match record:
        case Proposal():
            return Citation(
                "proposal", record.slug, record.title, url, accessed, record.announced_on
            )
        case Country():
            return Citation("country", record.code, record.name, url, accessed)
        case Person():
            return Citation("person", record.slug, record.name, url, accessed)
        case Organization():
            return Citation("organization", record.slug, record.name, url, accessed)
        case Event():
            return Citation("event", record.slug, record.name, url, accessed, record.start_date)
        case Statement():
            speaker = record.speaker.name if record.speaker else ""
            # The stored words, without quotation marks: a title in marks would quote a
            # paraphrase; the marks of a quote are the statement page's to show.
            title = Truncator(record.text).chars(100)
            return Citation(
                "statement", str(record.pk), title, url, accessed, record.said_on, speaker
            )
        case Document():
            published = timezone.localdate(record.published_at) if record.published_at else None
            return Citation(
                "document", str(record.pk), record.title, url, accessed, published, record.author
            )
    raise TypeError(f"No citation for {type(record).__name__}")
