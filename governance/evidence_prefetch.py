"""The evidence of records of several models in one query.

`prefetch_related("evidence")` costs a query per model (and per level); a record page
showing, say, a proposal's sources and each of its participation rows' sources needs
them all at once. `attach_evidence` fetches them together and fills each record's
prefetch cache, so templates keep reading `record.evidence.all`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q

from governance.models import Evidence


def attach_evidence(records: Sequence[Model]) -> None:
    """Load the evidence (with its document) of `records`, any mix of models, in one query."""
    if not records:
        return
    types = ContentType.objects.get_for_models(*{type(r) for r in records})
    ids: dict[type[Model], list[str]] = defaultdict(list)
    for record in records:
        ids[type(record)].append(str(record.pk))
    keys = Q()
    for model, pks in ids.items():
        keys |= Q(content_type=types[model], object_id__in=pks)
    found: dict[tuple[int, str], list[Evidence]] = defaultdict(list)
    for ev in Evidence.objects.filter(keys).select_related("document"):
        found[(ev.content_type_id, ev.object_id)].append(ev)
    for record in records:
        # What prefetch_related leaves behind: an evaluated queryset in the cache.
        qs = record.evidence.all()
        qs._result_cache = found[(types[type(record)].pk, str(record.pk))]
        qs._prefetch_done = True
        record.__dict__.setdefault("_prefetched_objects_cache", {})["evidence"] = qs
