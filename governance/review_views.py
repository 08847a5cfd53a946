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
from django.db.models import IntegerField as IntegerModelField
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from governance import merge, review
from governance.forms import SourceForm
from governance.htmx import render_page
from governance.ingest import scheduling
from governance.listings import valid_data
from governance.models import Candidate, Document, Source
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
        if f.kind == "date":
            field: forms.Field = forms.DateField(
                label=f.label, required=f.required, widget=forms.DateInput(attrs={"type": "date"})
            )
        elif f.kind == "int":
            field = IntegerField(
                label=f.label, required=f.required, min_value=0, max_value=f.max_value
            )
        elif f.kind == "choice":
            field = forms.ChoiceField(label=f.label, required=f.required, choices=f.choices or [])
        elif f.kind == "textarea":
            field = forms.CharField(label=f.label, required=f.required, widget=forms.Textarea)
        else:
            field = forms.CharField(label=f.label, required=f.required)
        fields[f.key] = field
    return type("CandidateEditForm", (forms.Form,), fields)


def _show_review_error(error: review.ReviewError, fields: forms.Form, form: forms.Form) -> None:
    """A refused decision on the page: field errors beside their fields, else the message."""
    if not error.field_errors:
        form.add_error(None, str(error))
    for key, errors in error.field_errors.items():
        for message in errors:
            fields.add_error(key if key in fields.fields else None, message)


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
    text = forms.CharField(
        label="Or the text", required=False, widget=forms.Textarea, max_length=2_000_000
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
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


class HandFactForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(k, v) for k, v in Candidate.Kind.choices if k != Candidate.Kind.DATE]
    )
    evidence = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Paste the exact sentence of the document that supports the fact.",
    )


@curator_required
def add_fact(request: HttpRequest, pk: int) -> HttpResponse:
    """A fact extraction missed: the curator names its kind and quotes its evidence, then
    fills the fields; it is filed as a candidate and accepted in one step."""
    document = get_object_or_404(Document, pk=pk)
    kind = request.POST.get("kind") or request.GET.get("kind") or Candidate.Kind.PERSON
    head = HandFactForm(request.POST or None, initial={"kind": kind})
    fields_form = edit_form_class(kind if kind in Candidate.Kind.values else "person")(
        request.POST if request.POST.get("save") else None
    )
    if request.POST.get("save") and head.is_valid() and fields_form.is_valid():
        evidence = head.cleaned_data["evidence"].strip()
        start = document.text.find(evidence)
        same = Candidate.objects.filter(
            document=document,
            kind=head.cleaned_data["kind"],
            start=start,
            end=start + len(evidence),
            extractor="manual-entry",
        )
        if start < 0:
            head.add_error("evidence", "This text is not in the document: paste it exactly.")
        elif same.exists():
            head.add_error(
                "evidence",
                "A fact of this kind was already added by hand from this very text; "
                "find it in the queue (status: decided) or quote a different span.",
            )
        else:
            payload = {k: v for k, v in fields_form.cleaned_data.items() if v not in (None, "")}
            candidate = Candidate(
                document=document,
                kind=head.cleaned_data["kind"],
                payload=_jsonable(payload),
                start=start,
                end=start + len(evidence),
                excerpt=evidence,
                confidence=1.0,
                extractor="manual-entry",
            )
            try:
                candidate.full_clean(exclude=["record_type", "record_id"])
                candidate.save()
                review.accept(candidate.pk, user=request.user)
            except ValidationError as error:
                for message in error.messages:
                    head.add_error(None, message)
                Candidate.objects.filter(pk=candidate.pk, status="pending").delete()
            except review.ReviewError as error:
                _show_review_error(error, fields_form, head)
                Candidate.objects.filter(pk=candidate.pk, status="pending").delete()
            else:
                messages.success(request, "Added, with its evidence.")
                return redirect(document.get_absolute_url())
    context = {"document": document, "head": head, "fields_form": fields_form, "kind": kind}
    return TemplateResponse(request, "governance/review/add_fact.html", context)


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in payload.items()}
