"""Display helpers for the review queue."""

from __future__ import annotations

from typing import Any

from django import template

from governance.models import Candidate

register = template.Library()


def _text(value: Any, limit: int = 140) -> str:
    value = "" if value is None else str(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


@register.filter
def summary(candidate: Candidate) -> str:
    """What the candidate says, in one line, from its payload."""
    p = candidate.payload if isinstance(candidate.payload, dict) else {}
    kind = candidate.kind
    if kind == Candidate.Kind.COUNTRY:
        n = len(p.get("mentions") or [])
        return f"{p.get('code', '?')} ({n} mention{'' if n == 1 else 's'})"
    if kind == Candidate.Kind.PERSON:
        extra = ", ".join(x for x in (p.get("role"), p.get("affiliation")) if x)
        return f"{p.get('name', '?')}" + (f" — {extra}" if extra else "")
    if kind == Candidate.Kind.ORGANIZATION:
        return f"{p.get('name', '?')}" + (f" ({p['kind']})" if p.get("kind") else "")
    if kind == Candidate.Kind.QUOTE:
        return f"{p.get('speaker') or 'Unattributed'}: “{_text(p.get('text'))}”"
    if kind == Candidate.Kind.PROPOSAL:
        return f"{p.get('proposer') or '?'} {p.get('verb') or 'proposed'}: {_text(p.get('text'))}"
    if kind == Candidate.Kind.ACTION_ITEM:
        return f"{p.get('heading', '?')} (in: {_text(p.get('proposal'), 60)})"
    if kind == Candidate.Kind.PARTICIPATION:
        return f"{p.get('participant', '?')} — {p.get('role', '?')} — {_text(p.get('subject'), 80)}"
    if kind == Candidate.Kind.EVENT:
        where = ", ".join(x for x in (p.get("city"), p.get("country")) if x)
        return f"{p.get('name', '?')}" + (f" ({where})" if where else "")
    if kind == Candidate.Kind.FIGURE:
        qualifier = p.get("qualifier") or ""
        return f"{qualifier} {p.get('value', '?')} {p.get('unit', '')}".strip()
    if kind == Candidate.Kind.DATE:
        return f"{p.get('text', '?')} → {p.get('date') or 'unknown'}"
    return _text(p)


@register.filter
def model_name(record: Any) -> str:
    """ "person" for a Person: the merge URL's model segment."""
    return record._meta.model_name
