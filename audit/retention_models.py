"""Retention (R5): how long each kind of record is kept, and the legal holds that stop a purge.

Like the record itself these name agencies, people and channels by id and label, so
audit imports no other app; the record kinds come from a registry (audit.retention).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from smc.tenancy import AgencyScopedManager


class RetentionRule(models.Model):
    """An agency's own retention period for one kind of record; without one, the kind's
    default from settings applies."""

    agency_id = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=80)
    days = models.PositiveIntegerField()
    changed_at = models.DateTimeField()
    changed_by_label = models.CharField(max_length=150, blank=True)

    objects = AgencyScopedManager("agency_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agency_id", "kind"], name="one_rule_per_kind")
        ]

    def __str__(self):
        return f"{self.kind}: {self.days} days"


class LegalHold(models.Model):
    """Records that no purge may touch until the hold is released.

    A hold names any of: one record (kind and id), a channel, a person (a member's
    username or a member of the public's handle or name) and a date range. A record is
    held when it matches everything the hold names; a hold naming only a kind holds
    every record of that kind."""

    agency_id = models.BigIntegerField(db_index=True)
    kind = models.CharField(_("kind of record"), max_length=80, blank=True)
    record_id = models.CharField(_("record id"), max_length=64, blank=True)
    channel_id = models.BigIntegerField(null=True, blank=True)
    channel_label = models.CharField(max_length=200, blank=True)
    person = models.CharField(_("person"), max_length=150, blank=True)
    starts_on = models.DateField(_("from"), null=True, blank=True)
    ends_on = models.DateField(_("to"), null=True, blank=True)
    reason = models.TextField(_("reason"))

    placed_at = models.DateTimeField()
    placed_by_id = models.BigIntegerField(null=True)
    placed_by_label = models.CharField(max_length=150, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by_label = models.CharField(max_length=150, blank=True)
    release_reason = models.TextField(blank=True)

    objects = AgencyScopedManager("agency_id")

    class Meta:
        ordering = ["-placed_at", "-pk"]

    def __str__(self):
        return f"Legal hold #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.released_at is None

    def describe(self) -> str:
        parts = []
        if self.kind:
            parts.append(f"{self.kind} {self.record_id}".strip())
        if self.channel_id:
            parts.append(f"channel {self.channel_label or self.channel_id}")
        if self.person:
            parts.append(f"person {self.person}")
        if self.starts_on or self.ends_on:
            parts.append(f"dated {self.starts_on or '…'} to {self.ends_on or '…'}")
        return "; ".join(parts)

    def audit_snapshot(self) -> dict:
        return {
            "kind": self.kind,
            "record_id": self.record_id,
            "channel_id": self.channel_id,
            "person": self.person,
            "starts_on": self.starts_on,
            "ends_on": self.ends_on,
            "reason": self.reason,
        }
