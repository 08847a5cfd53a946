"""Every model is in the admin with search and filters, and its pages work on the seed data."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

GOVERNANCE_MODELS = [
    m
    for m in apps.get_app_config("governance").get_models()
    if not m.__name__.startswith("Historical")
]


def test_every_model_is_registered_with_search_and_filters() -> None:
    for model in GOVERNANCE_MODELS:
        assert admin.site.is_registered(model), model
        model_admin = admin.site._registry[model]
        assert model_admin.search_fields, f"{model.__name__} has no search"
        if model.__name__ not in {"Person"}:  # a person has nothing to filter on but search
            assert model_admin.list_filter, f"{model.__name__} has no list filters"


@pytest.mark.parametrize("model", GOVERNANCE_MODELS, ids=lambda m: m.__name__)
def test_admin_pages_render(admin_client: Client, model: type, seed_for_the_module: None) -> None:
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert admin_client.get(changelist, {"q": "china"}).status_code == 200
    add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    # Ingest runs, decisions and merges are records of what happened: nobody adds one here.
    written_elsewhere = model.__name__ in ("IngestRun", "Decision", "Merge", "Digest", "DigestItem")
    assert add.status_code == (403 if written_elsewhere else 200)
    obj = model._default_manager.first()
    if obj is not None:
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        assert admin_client.get(change).status_code == 200
        if hasattr(model, "history"):
            history = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
            assert admin_client.get(history).status_code == 200


def test_admin_is_staff_only(client: Client) -> None:
    response = client.get(reverse("admin:governance_proposal_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
