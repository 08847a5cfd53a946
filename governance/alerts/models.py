"""Follows and the digest ledger.

A DigestItem row says "this follow was sent this item": written in the same
transaction that advances the follow's watermark, right after the email went out
(governance/alerts/digests.py explains the guarantees).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class Frequency(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"


class Follow(models.Model):
    """A user follows exactly one target: a proposal, a country, a person, or a saved
    search of the statements browser (its normalised query string)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows"
    )
    # Nullable foreign keys rather than a generic relation: the digest queries join on
    # them, and the database keeps them valid (a deleted proposal takes its follows).
    proposal = models.ForeignKey(
        "governance.Proposal",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follows",
    )
    country = models.ForeignKey(
        "governance.Country",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="follows",
    )
    person = models.ForeignKey(
        "governance.Person", on_delete=models.CASCADE, null=True, blank=True, related_name="follows"
    )
    saved_search = models.CharField(
        max_length=1000, blank=True, help_text="The statements page's query string, normalised"
    )
    name = models.CharField(max_length=200, blank=True, help_text="A saved search's name")
    frequency = models.CharField(max_length=6, choices=Frequency.choices, default=Frequency.DAILY)
    created_at = models.DateTimeField(default=timezone.now)
    # The snapshot time of the last digest run that succeeded for this follow (sent, or
    # found nothing new). Only ever advanced after a successful send.
    digested_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        proposal__isnull=False,
                        country__isnull=True,
                        person__isnull=True,
                        saved_search="",
                    )
                    | Q(
                        proposal__isnull=True,
                        country__isnull=False,
                        person__isnull=True,
                        saved_search="",
                    )
                    | Q(
                        proposal__isnull=True,
                        country__isnull=True,
                        person__isnull=False,
                        saved_search="",
                    )
                    | (
                        Q(proposal__isnull=True, country__isnull=True, person__isnull=True)
                        & ~Q(saved_search="")
                    )
                ),
                name="follow_one_target",
            ),
            models.UniqueConstraint(
                fields=["user", "proposal", "country", "person", "saved_search"],
                nulls_distinct=False,
                name="follow_unique_per_user",
            ),
        ]
        # The digest run: every follow of one frequency, grouped by user.
        indexes = [models.Index(fields=["frequency", "user"], name="follow_frequency_user")]

    def __str__(self) -> str:
        return f"{self.user} follows {self.label}"

    def get_absolute_url(self) -> str:
        if self.saved_search:
            return f"{reverse('governance:statement_list')}?{self.saved_search}"
        target = self.target
        return target.get_absolute_url() if target else reverse("governance:following")

    @property
    def target(self) -> models.Model | None:
        return self.proposal or self.country or self.person

    @property
    def kind(self) -> str:
        if self.proposal_id:
            return "proposal"
        if self.country_id:
            return "country"
        if self.person_id:
            return "person"
        return "search"

    @property
    def label(self) -> str:
        if self.saved_search:
            return self.name or f"Statements: {self.saved_search}"
        return str(self.target)


class Digest(models.Model):
    """One digest email that went out."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digests"
    )
    frequency = models.CharField(max_length=6, choices=Frequency.choices)
    # Items recorded before this time were candidates for this digest.
    snapshot_at = models.DateTimeField()
    sent_at = models.DateTimeField(default=timezone.now)
    item_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-sent_at"]
        indexes = [models.Index(fields=["user", "-sent_at"], name="digest_user_sent")]

    def __str__(self) -> str:
        return (
            f"{self.get_frequency_display()} digest to {self.user} at {self.sent_at:%Y-%m-%d %H:%M}"
        )


class DigestItem(models.Model):
    """The ledger: `follow` was sent item (`kind`, `object_id`) in `digest`. Unique, so no
    item is ever sent twice for one follow."""

    class Kind(models.TextChoices):
        STATEMENT = "statement", "Statement"
        # object_id is the HistoricalParticipation's history_id: each change is an item.
        PARTICIPATION = "participation", "Participation change"
        DOCUMENT = "document", "Document"

    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="items")
    follow = models.ForeignKey(Follow, on_delete=models.CASCADE, related_name="sent_items")
    kind = models.CharField(max_length=13, choices=Kind.choices)
    object_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["follow", "kind", "object_id"], name="digestitem_once_per_follow"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} for follow {self.follow_id}"
