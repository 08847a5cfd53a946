"""`{% cite_this record %}`: the "Cite this" box of a record page."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Model
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from governance.citations import citation_for

register = template.Library()


@register.inclusion_tag("governance/partials/cite.html")
def cite_this(record: Model) -> dict[str, Any]:
    return {"citation": citation_for(record)}


@register.filter
def braces_as_entities(text: str) -> SafeString:
    """Escaped text with { and } as character references: BibTeX is full of `{{` and
    `%}`, which must not look like template syntax in the page source (a page test
    catches leaked template tags that way). Browsers show and copy the braces."""
    return mark_safe(escape(text).replace("{", "&#123;").replace("}", "&#125;"))
