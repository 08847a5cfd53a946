"""Curators' pages: the review queue and its decisions, queue health, merges.

Permissions are checked here (governance.roles), every state change is a POST with
CSRF, and every decision goes through governance.review or governance.merge.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import IntegerField as IntegerModelField
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from governance import merge, review
from governance.forms import MAX_TEXT_LABEL, SourceForm, check_text_size
from governance.htmx import render_page
from governance.ingest import scheduling
from governance.listings import valid_data
from governance.models import Candidate, Decision, Document, Source
from governance.review_queue import RECORDS_AS_SHOWN, QueueFilterForm, queue_health, review_page
from governance.roles import admin_required, curator_required
from governance.validation import MAX_BIGINT, IntegerField, ascii_int


def _back(request: HttpRequest) -> str:
    """Where a no-JavaScript form returns to: the queue page it was posted from."""
    target = request.POST.get("next") or request.headers.get("Referer", "")
    # A path or an address: redirect() would take any other word for a view's name.
    looks_like_url = target.startswith("/") or target.startswith(("http://", "https://"))
    if looks_like_url and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return reverse("governance:review_queue")


def _row(request: HttpRequest, candidate_id: int, message: str = "", status: int = 200) -> Any:
    candidate = get_object_or_404(
        Candidate.objects.select_related("decided_by", "record_type").prefetch_related(
            RECORDS_AS_SHOWN
        ),
        pk=candidate_id,
    )
    return TemplateResponse(
        request,
        "governance/review/candidate_row.html",
        {"candidate": candidate, "message": message, "can_undo": True},
        status=status,
    )


def _decided(request: HttpRequest, candidate_id: int, message: str, *, ok: bool) -> HttpResponse:
    """The decided row for htmx (swapped in place), else a message and the queue again."""
    if request.htmx:
        return _row(request, candidate_id, message, status=200 if ok else 409)
    (messages.success if ok else messages.error)(request, message)
    return redirect(_back(request))


@curator_required
def review_queue(request: HttpRequest) -> TemplateResponse:
    form = QueueFilterForm(request.GET)
    data = valid_data(form)
    page, groups, total = review_page(data, request.GET.get("page"))
    context = {"form": form, "page": page, "groups": groups, "total": total}
    return render_page(request, "governance/review/queue.html", context, partials=("queue",))


@curator_required
@require_POST
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        review.accept(pk, user=request.user)
    except review.ReviewError as error:
        return _decided(request, pk, str(error), ok=False)
    return _decided(request, pk, "Accepted.", ok=True)


@curator_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        review.reject(pk, user=request.user, reason=request.POST.get("reason", ""))
    except review.ReviewError as error:
        return _decided(request, pk, str(error), ok=False)
    return _decided(request, pk, "Rejected.", ok=True)


def edit_form_class(kind: str) -> type[forms.Form]:
    """A form with one field per editable payload key of this kind of candidate."""
    fields: dict[str, forms.Field] = {}
    for f in review.editable_fields(kind):
        common: dict[str, Any] = {"label": f.label, "required": f.required, "help_text": f.help}
        if f.kind == "date":
            field: forms.Field = forms.DateField(
                widget=forms.DateInput(attrs={"type": "date"}), **common
            )
        elif f.kind == "int":
            field = IntegerField(min_value=0, max_value=f.max_value, **common)
        elif f.kind == "choice":
            # No choice is made for the curator: a default would be filed unnoticed.
            field = forms.ChoiceField(choices=[("", "Choose…"), *(f.choices or [])], **common)
        elif f.kind == "textarea":
            field = forms.CharField(
                widget=forms.Textarea(attrs={"rows": 3}), max_length=f.max_length, **common
            )
        else:
            field = forms.CharField(max_length=f.max_length, **common)
        fields[f.key] = field
    return type("CandidateEditForm", (forms.Form,), fields)


def _show_review_error(error: review.ReviewError, fields: forms.Form, form: forms.Form) -> None:
    """A refused decision on the page: field errors beside their fields, else the message
    (naming the field, when it is one of a record the form does not show)."""
    if not error.field_errors:
        form.add_error(None, str(error))
    for key, errors in error.field_errors.items():
        for message in errors:
            if key in fields.fields:
                fields.add_error(key, message)
            else:
                fields.add_error(None, f"{key.replace('_', ' ').capitalize()}: {message}")


@curator_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    candidate = get_object_or_404(Candidate.objects.select_related("document"), pk=pk)
    form_class = edit_form_class(candidate.kind)
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            edits = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
            try:
                review.accept(pk, user=request.user, edits=edits)
            except review.ReviewError as error:
                _show_review_error(error, form, form)
            else:
                messages.success(request, "Accepted with your edits.")
                return redirect(_back(request))
    else:
        form = form_class(initial=review.edit_initial(candidate))
    context = {"candidate": candidate, "form": form, "next": _back(request)}
    return TemplateResponse(request, "governance/review/edit.html", context)


def _chosen_record(value: str) -> Any:
    """ "<content type id>:<pk>" from the link form, or None when it names nothing."""
    raw_type, _, object_id = value.partition(":")
    type_id = ascii_int(raw_type, maximum=MAX_BIGINT)
    if type_id is None or not object_id:
        return None
    try:
        model = ContentType.objects.get_for_id(type_id).model_class()
    except ContentType.DoesNotExist:
        return None
    if model is None or model._meta.app_label != "governance":
        return None
    if isinstance(model._meta.pk, IntegerModelField):
        object_id = ascii_int(object_id)
        if object_id is None:
            return None
    try:
        return model._default_manager.filter(pk=object_id).first()
    except (ValueError, ValidationError):
        return None


@curator_required
def link(request: HttpRequest, pk: int) -> HttpResponse:
    candidate = get_object_or_404(Candidate.objects.select_related("document"), pk=pk)
    error = ""
    if request.method == "POST":
        record = _chosen_record(request.POST.get("record", ""))
        if record is None:
            error = "Choose one of the records listed."
        else:
            try:
                review.link(pk, user=request.user, record=record)
            except review.ReviewError as exc:
                error = str(exc)
            else:
                messages.success(request, f"Linked to {record}.")
                return redirect(_back(request))
    choices = [
        (f"{ContentType.objects.get_for_model(r).pk}:{r.pk}", r, r._meta.verbose_name)
        for r in review.link_choices(candidate)
    ]
    context = {"candidate": candidate, "choices": choices, "error": error, "next": _back(request)}
    return TemplateResponse(request, "governance/review/link.html", context)


@curator_required
@require_POST
def undo(request: HttpRequest) -> HttpResponse:
    try:
        decision = review.undo_last(user=request.user)
    except review.ReviewError as error:
        messages.error(request, str(error))
        return redirect(_back(request))
    if decision is None:
        messages.info(request, "Nothing to undo.")
    else:
        messages.success(request, f"Undone: {decision}. The candidate is pending again.")
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect(_back(request))


@curator_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    ids = [i for i in map(ascii_int, request.POST.getlist("ids")) if i is not None]
    action = request.POST.get("action")
    if not ids:
        messages.error(request, "Select at least one candidate.")
    elif action == "accept":
        result = review.bulk_accept(ids, user=request.user)
        _bulk_message(request, "Accepted", result)
    elif action == "reject":
        try:
            result = review.bulk_reject(
                ids, user=request.user, reason=request.POST.get("reason", "")
            )
        except review.ReviewError as error:
            messages.error(request, str(error))
        else:
            _bulk_message(request, "Rejected", result)
    else:
        messages.error(request, "Choose accept or reject.")
    return redirect(_back(request))


def _bulk_message(request: HttpRequest, verb: str, result: review.BulkResult) -> None:
    messages.success(request, f"{verb} {len(result.decided)}.")
    for candidate_id, why in result.skipped:
        messages.warning(request, f"Candidate {candidate_id} skipped: {why}")


@curator_required
def health(request: HttpRequest) -> TemplateResponse:
    return TemplateResponse(request, "governance/review/health.html", queue_health())


MERGE_MODELS = {m._meta.model_name: m for m in merge.MERGEABLE}


@admin_required
def merges(request: HttpRequest) -> TemplateResponse:
    suggestions = {
        m._meta.verbose_name_plural: merge.duplicate_suggestions(m, limit=25)
        for m in merge.MERGEABLE
    }
    return TemplateResponse(request, "governance/review/merges.html", {"suggestions": suggestions})


@admin_required
def merge_confirm(request: HttpRequest, model: str, survivor: int, loser: int) -> HttpResponse:
    model_class = MERGE_MODELS.get(model)
    if model_class is None:
        raise Http404
    keep = get_object_or_404(model_class, pk=survivor)
    drop = get_object_or_404(model_class, pk=loser)
    error = ""
    if request.method == "POST":
        try:
            merge.merge(keep, drop, user=request.user)
        except merge.MergeError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Merged “{drop}” into “{keep}”.")
            return redirect(keep.get_absolute_url())
    try:
        preview = merge.merge_preview(keep, drop)
    except merge.MergeError as exc:
        # The URL names a pair that cannot be merged (a record with itself): say why.
        context = {"model": model, "survivor": keep, "loser": drop, "error": str(exc)}
        context["impossible"] = True
        return TemplateResponse(
            request, "governance/review/merge_confirm.html", context, status=400
        )
    context = {
        "model": model,
        "survivor": keep,
        "loser": drop,
        "preview": preview,
        "error": error,
    }
    return TemplateResponse(request, "governance/review/merge_confirm.html", context)


class NewSourceForm(forms.Form):
    """A curator's source: an article's address, or its text pasted in."""

    title = forms.CharField(max_length=200, help_text="A name for this source")
    url = forms.CharField(
        label="Address (URL)", required=False, max_length=2000, help_text="A web page to fetch"
    )
    # No max_length: the browser would cut a long paste short without a word (maxlength);
    # check_text_size refuses it instead, naming the limit, with the text kept in the form.
    text = forms.CharField(
        label="Or the text",
        required=False,
        widget=forms.Textarea,
        help_text=f"At most {MAX_TEXT_LABEL} of text",
    )

    def clean_text(self) -> str:
        text = self.cleaned_data.get("text") or ""
        check_text_size(text)
        return text

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.has_error("text") or self.has_error("url"):
            return data
        if bool(data.get("url", "").strip()) == bool(data.get("text", "").strip()):
            raise forms.ValidationError("Give either an address or the text, not both.")
        return data

    def source_form(self) -> SourceForm:
        """The admin's validated Source form does the real checks (schemes, text)."""
        url = self.cleaned_data["url"].strip()
        return SourceForm(
            {
                "name": self.cleaned_data["title"],
                "kind": Source.Kind.PAGE if url else Source.Kind.MANUAL,
                "url": url,
                "manual_text": self.cleaned_data["text"],
                "enabled": True,
                # A curator's page is fetched once, then only when asked again.
                "interval": "30 00:00:00",
            }
        )


@curator_required
def new_source(request: HttpRequest) -> HttpResponse:
    """Manual entry: the source becomes a Document through the ingestion jobs, and its
    candidates (extracted, or added by hand below) reach the queue with their evidence."""
    form = NewSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        source_form = form.source_form()
        if source_form.is_valid():
            source = source_form.save()
            scheduling.fetch_now([source.pk])
            messages.success(
                request,
                f"“{source.name}” is being ingested; its candidates appear in the queue "
                "within a few seconds.",
            )
            return redirect(reverse("governance:review_queue") + f"?source={source.pk}")
        for field, errors in source_form.errors.items():
            target = {"name": "title", "manual_text": "text"}.get(field, field)
            for error in errors:
                form.add_error(target if target in form.fields else None, error)
    return TemplateResponse(request, "governance/review/new_source.html", {"form": form})


DEFAULT_HAND_KIND = Candidate.Kind.PERSON
HAND_KINDS = dict(review.HAND_KINDS)
# The per-kind fields are payload keys ("kind", "text", "name"...): prefixed, they can
# never collide with the page's own fields (a second `kind` once made every
# organization, quote and proposal fall back to a person).
FIELDS_PREFIX = "payload"
HAND_EXTRACTOR = "manual-entry"  # the candidates' extractor: hand entries are counted apart
EVIDENCE_MAX = 20_000


class HandFactForm(forms.Form):
    fact_kind = forms.ChoiceField(
        label="Kind of fact",
        choices=review.HAND_KINDS,
        help_text="Changing it shows that kind's fields and keeps what you typed.",
    )
    evidence = forms.CharField(
        label="Evidence",
        max_length=EVIDENCE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Paste the exact words of the document that state the fact: they are "
        "filed as its evidence.",
    )


def _hand_fields(kind: str, data: Any = None, carried: Any = None) -> forms.Form:
    """The fields of `kind`: bound to `data`, or starting from the values of `carried`
    (a submitted form of another kind) wherever a field has the same name."""
    form_class = edit_form_class(kind)
    initial = {}
    if carried is not None:
        for name in form_class.base_fields:
            value = carried.get(f"{FIELDS_PREFIX}-{name}")
            if value:
                initial[name] = value
    return form_class(data, initial=initial, prefix=FIELDS_PREFIX)


@curator_required
def add_fact(request: HttpRequest, pk: int) -> HttpResponse:
    """A fact extraction missed: the curator names its kind, quotes its evidence and
    fills the kind's fields; it is filed as a candidate and accepted in one step.

    Changing the kind re-renders the fields, keeping what was typed: htmx posts the form
    on change and swaps #fact-fields; without JavaScript, the form is posted and the
    page comes back with the new kind's fields (the hidden `fields_kind` says which kind
    the posted fields were for, so an Add after a change of kind never files them as
    the other kind)."""
    document = get_object_or_404(Document, pk=pk)
    url = reverse("governance:review_add_fact", args=[document.pk])
    posted = request.method == "POST"
    query = request.POST if posted else request.GET
    kind = query.get("fact_kind", "" if posted else DEFAULT_HAND_KIND)
    shown = request.POST.get("fields_kind", "")
    status, error = 200, ""
    if kind not in HAND_KINDS:
        # An unknown kind (a hand-made URL or post) is refused, with what was typed kept.
        status = 400
        error = (
            f"“{kind[:40]}” is not a kind of fact that can be added by hand: choose one "
            "from the list."
            if kind
            else "Choose the kind of fact."
        )
        kind = shown if shown in HAND_KINDS else DEFAULT_HAND_KIND
        head = HandFactForm(initial={"fact_kind": kind, **_typed(request.POST, "evidence")})
        fields = _hand_fields(kind, carried=request.POST)
    elif not posted or request.POST.get("choose") or shown != kind:
        head = HandFactForm(initial={"fact_kind": kind, **_typed(request.POST, "evidence")})
        fields = _hand_fields(kind, carried=request.POST if posted else None)
    else:
        head = HandFactForm(request.POST)
        fields = _hand_fields(kind, request.POST)
        if head.is_valid() and fields.is_valid():
            decision = _file_hand_fact(request, document, kind, head, fields)
            if decision is not None:
                record = decision.candidate.record
                messages.success(
                    request, f"Added {HAND_KINDS[kind].lower()} “{record}”, with its evidence."
                )
                if decision.note:
                    messages.info(request, decision.note)
                return redirect(document.get_absolute_url())
    head.fields["fact_kind"].widget.attrs.update(
        {"hx-post": url, "hx-trigger": "change", "hx-target": "#fact-fields"}
    )
    context = {
        "document": document,
        "head": head,
        "fields_form": fields,
        "kind": kind,
        "kind_label": HAND_KINDS[kind],
        "url": url,
        "error": error,
    }
    response = render_page(
        request, "governance/review/add_fact.html", context, partials=("fact-fields",)
    )
    response.status_code = status
    if request.htmx and status == 200:
        # The address of what is shown, so that reload and back bring this kind again.
        response["HX-Push-Url"] = f"{url}?{urlencode({'fact_kind': kind})}"
    return response


def _typed(data: Any, *names: str) -> dict[str, str]:
    return {name: data[name] for name in names if data.get(name)}


def _file_hand_fact(
    request: HttpRequest,
    document: Document,
    kind: str,
    head: HandFactForm,
    fields: forms.Form,
) -> Decision | None:
    """File the fact and accept it in one transaction; None (with the errors on the
    forms) when it is refused, and then nothing is stored."""
    evidence = head.cleaned_data["evidence"]
    start = document.text.find(evidence)
    if start < 0:
        head.add_error(
            "evidence",
            "These words are not in the document: copy them from its text below, exactly.",
        )
        return None
    end = start + len(evidence)
    same = Candidate.objects.filter(
        document=document, kind=kind, start=start, end=end, extractor=HAND_EXTRACTOR
    )
    already = (
        "A fact of this kind was already added by hand from these very words: find it in "
        "the queue, or quote different words."
    )
    if same.exists():
        head.add_error("evidence", already)
        return None
    candidate = Candidate(
        document=document,
        kind=kind,
        payload=review.hand_payload(kind, fields.cleaned_data, evidence),
        start=start,
        end=end,
        excerpt=evidence,
        confidence=1.0,
        extractor=HAND_EXTRACTOR,
    )
    try:
        candidate.full_clean(exclude=["record_type", "record_id"])
        # One transaction: a refused accept leaves no candidate behind.
        with transaction.atomic():
            candidate.save()
            return review.accept(candidate.pk, user=request.user)
    except ValidationError as error:
        for message in error.messages:
            head.add_error(None, message)
    except review.ReviewError as error:
        _show_review_error(error, fields, head)
    except IntegrityError:
        # Another curator filed the same words as the same kind a moment ago.
        head.add_error("evidence", already)
    return None
