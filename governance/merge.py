"""Duplicates and merges: find likely duplicate people, organizations and proposals, and
merge a duplicate (the loser) into the record that stays (the survivor).

A merge moves every relation and every Evidence row from the loser to the survivor, keeps
the loser's names as the survivor's aliases, and sets `loser.merged_into`: the loser is
kept (nothing is deleted), hidden from lists and search, and its URL redirects to the
survivor. Relations are discovered from the model metadata rather than listed by hand, so
a relation added to the model later moves too.

When a moved row would break a natural key (the survivor already has the same Role,
Participation, Statement or action-plan item), the survivor's row is kept, the loser's
row absorbs nothing more than it had (it stays attached to the loser), and its Evidence,
candidates and dependent rows move onto the survivor's row. Merge.moved says which.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import ForeignObjectRel, ManyToManyField, UniqueConstraint
from simple_history.models import HistoricalRecords
from simple_history.utils import get_history_manager_for_model

from governance import count_cache
from governance.models import (
    ActionPlanItem,
    Candidate,
    Evidence,
    Merge,
    Organization,
    Person,
    Proposal,
    Statement,
)

MERGEABLE = (Person, Organization, Proposal)

# pg_trgm's default `%` threshold is 0.3; a duplicate is closer than a namesake search. One
# typo in a short person's name ("Li Quiang") scores ~0.58; long titles need a higher bar.
TRIGRAM_THRESHOLD = {Person: 0.5, Organization: 0.7, Proposal: 0.7}
SCORE_SAME_NAME = 1.0
SCORE_SHARED_ALIAS = 0.9

# Honorifics that precede a name ("Dr. Kao Kim Hourn", "H.E. Li Qiang"). Compared after
# casefolding and dropping a trailing dot; "he" alone is a surname (He Lifeng), so only
# the dotted "h.e" counts.
TITLES = frozenset(
    {
        "dr",
        "mr",
        "mrs",
        "ms",
        "mx",
        "miss",
        "prof",
        "professor",
        "sir",
        "dame",
        "hon",
        "rev",
        "amb",
        "h.e",
        "he.",
        "excellency",
    }
)
_EXCELLENCY = ("his", "her")
_NOT_WORD = re.compile(r"[\W_]+")


class MergeError(Exception):
    """A message for the curator."""


@dataclass
class DuplicatePair:
    """Two records that are probably the same, with why (shown to the curator)."""

    model: type
    a: models.Model
    b: models.Model
    reason: str
    score: float


# --- Names ------------------------------------------------------------------------------


def name_field(model: type[models.Model]) -> str:
    """The field that names a record: proposals have titles, the others names."""
    return "title" if model is Proposal else "name"


def normalize_name(name: str) -> str:
    """The form two spellings of one name share: casefolded, without accents, punctuation
    or leading titles ("Dr. Kao Kim Hourn" and "kao kim-hourn" → "kao kim hourn")."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(c for c in decomposed if not unicodedata.combining(c))
    tokens = text.split()
    while tokens:
        head = tokens[0].rstrip(".") if tokens[0] != "he." else tokens[0]
        if head in TITLES:
            tokens.pop(0)
        elif head in _EXCELLENCY and len(tokens) > 1 and tokens[1] == "excellency":
            del tokens[:2]
        else:
            break
    return " ".join(_NOT_WORD.sub(" ", " ".join(tokens)).split())


def trigrams(text: str) -> frozenset[str]:
    """pg_trgm's trigrams of `text`: each word padded with two spaces before, one after."""
    grams: set[str] = set()
    for word in _NOT_WORD.split(text.lower()):
        if word:
            padded = f"  {word} "
            grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return frozenset(grams)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """pg_trgm's similarity(): shared trigrams over all trigrams of either."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


# --- Suggestions ------------------------------------------------------------------------


def duplicate_suggestions(
    model: type, *, limit: int = 50, threshold: float | None = None
) -> list[DuplicatePair]:
    """Likely duplicates among the records of `model` that are not merged, best first.

    Three signals: the same name after normalization, a shared alias (or an alias that is
    another record's name), and trigram similarity of the normalized names. Names are read
    once (one query, only the name columns) and compared in Python: a SQL self-join on `%`
    probes the GIN index once per row (~4 ms each, 90 s on 20,000 people), whereas the
    prefix filter below compares only names that share a rare trigram, with the same
    similarity pg_trgm computes. Pairs a curator dismissed are not excluded: there is no
    table for dismissals yet.
    """
    _check_mergeable(model)
    threshold = TRIGRAM_THRESHOLD[model] if threshold is None else threshold
    rows = list(
        model._default_manager.filter(merged_into__isnull=True)
        .order_by("pk")
        .values_list("pk", name_field(model), "aliases")
    )
    by_name: dict[str, list[Any]] = defaultdict(list)
    by_alias: dict[str, list[Any]] = defaultdict(list)
    shown_alias: dict[str, str] = {}
    for pk, name, aliases in rows:
        normalized = normalize_name(name)
        if normalized:
            by_name[normalized].append(pk)
        for alias in aliases or ():
            key = normalize_name(alias)
            if key and pk not in by_alias[key]:
                by_alias[key].append(pk)
                shown_alias.setdefault(key, alias)

    found: dict[tuple[Any, Any], tuple[float, str]] = {}

    def offer(x: Any, y: Any, score: float, reason: str) -> None:
        if x == y:
            return
        key = (x, y) if x < y else (y, x)
        if key not in found or found[key][0] < score:
            found[key] = (score, reason)

    for pks in by_name.values():
        for other in pks[1:]:
            offer(pks[0], other, SCORE_SAME_NAME, "same name after normalization")
    for alias, pks in by_alias.items():
        holders = list(dict.fromkeys(pks + by_name.get(alias, [])))
        for other in holders[1:]:
            offer(holders[0], other, SCORE_SHARED_ALIAS, f"shared alias '{shown_alias[alias]}'")
    for x, y, score in _similar_names(list(by_name), threshold):
        offer(by_name[x][0], by_name[y][0], score, f"similar names ({score:.2f})")

    best = sorted(found.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
    records = model._default_manager.in_bulk({pk for pair, _ in best for pk in pair})
    return [
        DuplicatePair(model, records[a], records[b], reason, round(score, 3))
        for (a, b), (score, reason) in best
    ]


def _similar_names(names: list[str], threshold: float) -> Iterable[tuple[str, str, float]]:
    """Pairs of distinct names whose trigram similarity is at least `threshold`.

    Prefix filtering (Chaudhuri et al., 2006): order each name's trigrams rarest first; two
    sets with Jaccard similarity >= t share a trigram among the first |x| - ceil(t·|x|) + 1
    of either, so only names meeting in those short prefixes are compared. Exact, and
    fast because the rare trigrams' lists are short.
    """
    grams = [trigrams(n) for n in names]
    frequency: dict[str, int] = defaultdict(int)
    for g in grams:
        for t in g:
            frequency[t] += 1
    index: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(grams):
        ordered = sorted(g, key=lambda t: (frequency[t], t))
        # math.ceil forgiving float noise: 0.7 * 10 is 7.000000000000001.
        prefix = len(ordered) - math.ceil(threshold * len(ordered) - 1e-9) + 1
        seen: set[int] = set()
        for t in ordered[:prefix]:
            for j in index[t]:
                if j in seen:
                    continue
                seen.add(j)
                # Length filter: Jaccard >= t needs t·|x| <= |y| <= |x| / t.
                if not threshold * len(g) <= len(grams[j]) <= len(g) / threshold:
                    continue
                score = similarity(g, grams[j])
                if score >= threshold:
                    yield names[j], names[i], score
            index[t].append(i)


# --- Merging ----------------------------------------------------------------------------


def merge_preview(survivor: models.Model, loser: models.Model) -> dict[str, int]:
    """Relation label → rows that would move from the loser, for the confirm screen.

    Counts every row attached to the loser; a row whose twin the survivor already has
    is counted too (its evidence moves onto the twin, the row itself stays)."""
    _check_pair(survivor, loser)
    counts: dict[str, int] = {}
    for rel in _reverse_relations(type(loser)):
        related, fk = rel.related_model, rel.field
        label = f"{related._meta.verbose_name_plural} ({fk.verbose_name})"
        if rel.many_to_many:
            through = fk.remote_field.through
            counts[label] = through.objects.filter(**{fk.m2m_reverse_field_name(): loser}).count()
        else:
            counts[label] = related._default_manager.filter(**{fk.name: loser}).count()
    for m2m in _own_m2m(type(loser)):
        counts[str(m2m.verbose_name)] = getattr(loser, m2m.name).count()
    ct = ContentType.objects.get_for_model(loser)
    counts["evidence"] = Evidence.objects.filter(content_type=ct, object_id=str(loser.pk)).count()
    counts["candidates"] = Candidate.objects.filter(record_type=ct, record_id=str(loser.pk)).count()
    counts["aliases"] = len(_new_aliases(survivor, loser))
    return counts


def merge(survivor: models.Model, loser: models.Model, *, user: Any) -> Merge:
    """Merge `loser` into `survivor` in one transaction, and return the audit record.

    Both rows are locked first (lower pk first, so two curators merging the same pair in
    opposite directions wait rather than deadlock) and re-read, so the checks see the
    committed state rather than what the curator's page showed."""
    _check_pair(survivor, loser)
    model = type(survivor)
    with transaction.atomic():
        locked = {
            r.pk: r
            for r in model._default_manager.select_for_update()
            .filter(pk__in=[survivor.pk, loser.pk])
            .order_by("pk")
        }
        survivor, loser = locked[survivor.pk], locked[loser.pk]
        _check_not_merged(survivor, loser)
        mover = _Mover(user=user, reason=f"merge into {survivor.pk}")
        mover.absorb(loser, survivor)
        # Bulk updates below bypass the signals the count cache listens to.
        count_cache.bump()
        aliases = _new_aliases(survivor, loser)
        mover.write_history(exclude={model: {survivor.pk, loser.pk}})
        _save_merged(survivor, loser, aliases, user, mover.reason)
        return Merge.objects.create(
            content_type=ContentType.objects.get_for_model(model),
            survivor_id=str(survivor.pk),
            loser_id=str(loser.pk),
            user=user,
            moved={
                **mover.moved,
                **({"kept": mover.kept} if mover.kept else {}),
                "aliases": aliases,
            },
        )


def _check_mergeable(model: type) -> None:
    if model not in MERGEABLE:
        raise MergeError(f"{model.__name__} records cannot be merged.")


def _check_pair(survivor: models.Model, loser: models.Model) -> None:
    if type(survivor) is not type(loser):
        raise MergeError(
            f"A {type(loser)._meta.verbose_name} cannot be merged into a "
            f"{type(survivor)._meta.verbose_name}."
        )
    _check_mergeable(type(survivor))
    if survivor.pk is None or loser.pk is None:
        raise MergeError("Both records must be saved before they can be merged.")
    if survivor.pk == loser.pk:
        raise MergeError(f"“{survivor}” cannot be merged into itself.")


def _check_not_merged(survivor: models.Model, loser: models.Model) -> None:
    if loser.merged_into_id:
        raise MergeError(f"“{loser}” was already merged into “{loser.merged_into}”.")
    if survivor.merged_into_id:
        final = survivor.merged_into
        while final.merged_into_id:
            final = final.merged_into
        raise MergeError(
            f"“{survivor}” was itself merged into “{final}”: merge into “{final}” instead."
        )


def _new_aliases(survivor: models.Model, loser: models.Model) -> list[str]:
    """The loser's name and aliases the survivor does not already go by (ignoring case)."""
    field_name = name_field(type(survivor))
    known = {getattr(survivor, field_name).casefold(), *(a.casefold() for a in survivor.aliases)}
    added: list[str] = []
    for name in [getattr(loser, field_name), *loser.aliases]:
        if name and name.casefold() not in known:
            known.add(name.casefold())
            added.append(name)
    return added


def _save_merged(
    survivor: models.Model, loser: models.Model, aliases: list[str], user: Any, reason: str
) -> None:
    """Save both with a history row each. Re-read first: the moves updated rows in SQL
    (an organization's parent, say), and a save must not write back stale values."""
    survivor.refresh_from_db()
    loser.refresh_from_db()
    survivor.aliases = [*survivor.aliases, *aliases]
    loser.merged_into = survivor
    for record, fields in ((survivor, ["aliases"]), (loser, ["merged_into"])):
        record._history_user = user
        record._change_reason = reason
        record.save(update_fields=fields)


def _reverse_relations(model: type[models.Model]) -> list[ForeignObjectRel]:
    """Foreign keys and many-to-many fields of other models that point at `model`.

    `merged_into` is left alone: records merged earlier into the loser keep pointing at
    it, their redirect follows the chain, and each Merge row stays true to what it did."""
    return [rel for rel in model._meta.related_objects if rel.field.name != "merged_into"]


def _own_m2m(model: type[models.Model]) -> list[ManyToManyField]:
    return [f for f in model._meta.local_many_to_many if f.remote_field.through._meta.auto_created]


def _label(model: type[models.Model], field_name: str) -> str:
    return f"{model._meta.label_lower}.{field_name}"


@dataclass
class _Mover:
    """Moves everything attached to one record onto another, recording what moved.

    Rows are updated in SQL (bulk); every touched row gets one history row at the end,
    with the user and the reason, read back from the database so it shows the final state.
    """

    user: Any
    reason: str
    moved: dict[str, list[Any]] = field(default_factory=dict)
    kept: dict[str, list[list[Any]]] = field(default_factory=dict)
    touched: dict[type[models.Model], set[Any]] = field(default_factory=lambda: defaultdict(set))

    def absorb(self, old: models.Model, new: models.Model) -> None:
        """Move `old`'s relations, own links, evidence and candidates onto `new`."""
        for rel in _reverse_relations(type(old)):
            if rel.many_to_many:
                self._move_links(rel.field, old, new, reverse=True)
            else:
                self._move_rows(rel, old, new)
        for m2m in _own_m2m(type(old)):
            self._move_links(m2m, old, new, reverse=False)
        self._move_evidence(old, new)
        self._move_candidates(old, new)

    def _record(self, key: str, pks: Iterable[Any]) -> None:
        pks = list(pks)
        if pks:
            self.moved.setdefault(key, []).extend(pks)

    def _keep(self, key: str, pairs: Iterable[tuple[Any, Any]]) -> None:
        pairs = [[a, b] for a, b in pairs]
        if pairs:
            self.kept.setdefault(key, []).extend(pairs)

    def _move_rows(self, rel: ForeignObjectRel, old: models.Model, new: models.Model) -> None:
        """Point rows of a foreign key at `new`; a row whose natural key the survivor
        already holds stays, and is absorbed into that twin."""
        model, fk = rel.related_model, rel.field
        # Ordered by pk: default orderings join other tables, which FOR UPDATE refuses.
        rows = list(
            model._default_manager.select_for_update().filter(**{fk.name: old}).order_by("pk")
        )
        if not rows:
            return
        if model is ActionPlanItem:
            moving, twins = _place_plan_items(rows, new)
        else:
            moving, twins = _split_by_natural_key(model, fk, rows, old, new)
        if moving:
            fields = [fk.name, *_recompute(moving)]
            if model is ActionPlanItem:
                fields.append("position")
            model._default_manager.bulk_update(moving, fields)
            self.touched[model].update(r.pk for r in moving)
            self._record(_label(model, fk.name), (r.pk for r in moving))
        self._keep(_label(model, fk.name), ((r.pk, t.pk) for r, t in twins))
        for row, twin in twins:
            self.absorb(row, twin)

    def _move_links(
        self, m2m: ManyToManyField, old: models.Model, new: models.Model, *, reverse: bool
    ) -> None:
        """Move many-to-many links from `old` to `new`, through their join rows; a link
        `new` already has stays on `old` (nothing is deleted)."""
        through = m2m.remote_field.through
        this, other = m2m.m2m_field_name(), m2m.m2m_reverse_field_name()
        if reverse:  # `old` is the target (Statement.proposals → Proposal)
            this, other = other, this
        other_attname = through._meta.get_field(other).attname
        links = list(through.objects.filter(**{this: old}).values_list("pk", other_attname))
        if not links:
            return
        already = dict(
            through.objects.filter(
                **{this: new, f"{other_attname}__in": [o for _, o in links]}
            ).values_list(other_attname, "pk")
        )
        moving = [(pk, o) for pk, o in links if o not in already]
        through.objects.filter(pk__in=[pk for pk, _ in moving]).update(**{this: new})
        key = _label(m2m.model, m2m.name)
        self._record(key, (o for _, o in moving))
        self._keep(key, ((pk, already[o]) for pk, o in links if o in already))
        if reverse:
            # The records whose link changed (statements) get a history row.
            self.touched[m2m.model].update(o for _, o in moving)
        else:
            self.touched[type(new)].add(new.pk)
            self.touched[type(old)].add(old.pk)

    def _move_evidence(self, old: models.Model, new: models.Model) -> None:
        ct = ContentType.objects.get_for_model(old)
        rows = list(
            Evidence.objects.select_for_update()
            .filter(content_type=ct, object_id=str(old.pk))
            .order_by("pk")
        )
        if not rows:
            return
        spans = {
            (document, start, end): pk
            for document, start, end, pk in Evidence.objects.filter(
                content_type=ct, object_id=str(new.pk)
            ).values_list("document_id", "start", "end", "pk")
        }

        def span(e: Evidence) -> tuple[int, int, int]:
            return (e.document_id, e.start, e.end)

        moving = [e for e in rows if span(e) not in spans]
        for e in moving:
            e.object_id = str(new.pk)
        Evidence.objects.bulk_update(moving, ["object_id"])
        self.touched[Evidence].update(e.pk for e in moving)
        self._record("governance.evidence.object_id", (e.pk for e in moving))
        self._keep(
            "governance.evidence.object_id",
            ((e.pk, spans[span(e)]) for e in rows if span(e) in spans),
        )

    def _move_candidates(self, old: models.Model, new: models.Model) -> None:
        """Candidates that became `old` now name `new` (Candidate has no history)."""
        ct = ContentType.objects.get_for_model(old)
        candidates = Candidate.objects.filter(record_type=ct, record_id=str(old.pk))
        pks = list(candidates.values_list("pk", flat=True))
        Candidate.objects.filter(pk__in=pks).update(record_id=str(new.pk))
        self._record("governance.candidate.record_id", pks)

    def write_history(self, *, exclude: dict[type[models.Model], set[Any]]) -> None:
        """One history row per touched record, as it is now, with the merge's reason."""
        for model, pks in self.touched.items():
            pks = pks - exclude.get(model, set())
            if pks and hasattr(model._meta, "simple_history_manager_attribute"):
                _history_rows(model, list(model._default_manager.filter(pk__in=pks)), self)


def _history_rows(model: type[models.Model], objs: list[models.Model], mover: _Mover) -> None:
    """Bulk history rows for `objs`, with a snapshot of the many-to-many fields the model's
    history tracks (bulk_history_create writes the row but not that snapshot)."""
    manager = get_history_manager_for_model(model)
    created = manager.bulk_history_create(
        objs, update=True, default_user=mover.user, default_change_reason=mover.reason
    )
    for m2m in getattr(manager.model, "_history_m2m_fields", ()):
        snapshot = HistoricalRecords.m2m_models[m2m]
        through = m2m.remote_field.through
        source = through._meta.get_field(m2m.m2m_field_name()).attname
        links = defaultdict(list)
        for link in through.objects.filter(**{f"{source}__in": [o.pk for o in objs]}):
            links[getattr(link, source)].append(link)
        snapshot.objects.bulk_create(
            snapshot(
                history=h, **{f.attname: getattr(link, f.attname) for f in through._meta.fields}
            )
            for h in created
            for link in links[h.id]
        )


def _split_by_natural_key(
    model: type[models.Model],
    fk: models.ForeignKey,
    rows: list[models.Model],
    old: models.Model,
    new: models.Model,
) -> tuple[list[models.Model], list[tuple[models.Model, models.Model]]]:
    """Rows that can move, and (row, twin) pairs where `new` already has the row's natural
    key: the unique constraints that include the foreign key (a Role's person, title,
    organization, country and start date), and single unique columns that the move
    changes (a Statement's fingerprint hashes its speaker)."""
    constraints = [
        c
        for c in model._meta.constraints
        if isinstance(c, UniqueConstraint) and c.fields and fk.name in c.fields and not c.condition
    ]
    theirs = list(model._default_manager.filter(**{fk.name: new})) if constraints else []
    keyed = [{k: r for r in theirs if (k := _key(model, c, r)) is not None} for c in constraints]
    for row in rows:
        # A record that points at itself (an organization whose parent was the loser, when
        # it is the survivor) takes the loser's own value instead.
        if row.pk == new.pk and model is type(new):
            target = getattr(old, fk.attname)
            setattr(row, fk.attname, None if target == new.pk else target)
        else:
            setattr(row, fk.attname, new.pk)
    changed_unique = _recompute(rows)
    twins_by_unique: dict[str, dict[Any, models.Model]] = {}
    for name in changed_unique:
        values = [getattr(r, name) for r in rows]
        twins_by_unique[name] = {
            getattr(t, name): t
            for t in model._default_manager.filter(**{f"{name}__in": values}).exclude(
                pk__in=[r.pk for r in rows]
            )
        }
    moving, twins = [], []
    for row in rows:
        twin = _twin(model, row, zip(constraints, keyed, strict=True), twins_by_unique)
        if twin is None:
            moving.append(row)
        else:
            setattr(row, fk.attname, old.pk)
            twins.append((row, twin))
    return moving, twins


def _twin(
    model: type[models.Model],
    row: models.Model,
    keyed: Iterable[tuple[UniqueConstraint, dict[Any, models.Model]]],
    by_unique: dict[str, dict[Any, models.Model]],
) -> models.Model | None:
    """The row `new` already has with `row`'s natural key, if any."""
    for constraint, rows in keyed:
        key = _key(model, constraint, row)
        if key is not None and key in rows:
            return rows[key]
    for name, rows in by_unique.items():
        if getattr(row, name) in rows:
            return rows[getattr(row, name)]
    return None


def _key(model: type[models.Model], constraint: UniqueConstraint, row: models.Model) -> Any:
    """A row's value for a unique constraint, or None when NULLs make it never collide."""
    key = tuple(getattr(row, model._meta.get_field(f).attname) for f in constraint.fields)
    if constraint.nulls_distinct is not False and None in key:
        return None
    return key


def _recompute(rows: list[models.Model]) -> list[str]:
    """Recompute natural keys derived in save() from a moved foreign key; return the unique
    field names that change. Only Statement has one: its fingerprint hashes the speaker."""
    statements = [r for r in rows if isinstance(r, Statement)]
    for s in statements:
        s.fingerprint = Statement.make_fingerprint(s.speaker_id, s.said_on, s.kind, s.text)
    return ["fingerprint"] if statements else []


def _place_plan_items(
    rows: list[ActionPlanItem], new: Proposal
) -> tuple[list[ActionPlanItem], list[tuple[ActionPlanItem, ActionPlanItem]]]:
    """Action-plan items keyed by position: an item with the survivor's heading at that
    position is the same item (its twin); another heading at a taken position is a
    different item, appended after the survivor's last position in the loser's order."""
    theirs = {i.position: i for i in ActionPlanItem.objects.filter(proposal=new)}
    next_position = max([*theirs, *(i.position for i in rows)], default=0) + 1
    moving, twins = [], []
    for item in sorted(rows, key=lambda i: i.position):
        twin = theirs.get(item.position)
        if twin is not None and normalize_name(twin.heading) == normalize_name(item.heading):
            twins.append((item, twin))
            continue
        if twin is not None:
            item.position, next_position = next_position, next_position + 1
        item.proposal_id = new.pk
        moving.append(item)
    return moving, twins
