from __future__ import annotations

from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "AI governance tracker"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from governance import count_cache

        count_cache.connect_signals()
