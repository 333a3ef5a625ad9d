"""The record (R1, R2): an append-only, hash-chained event log per agency.

It names agencies, people and objects by id and label and imports no other app, so
an event outlives the rows it names. The database refuses UPDATE, DELETE and TRUNCATE
on events (triggers, and the app role's grants); only audit.services writes them.
"""

from django.db import models

from audit.actions import Action, Outcome
from smc.tenancy import AgencyScopedManager


class AuditEvent(models.Model):
    # agency_id is NULL for the installation's own chain (a sign-in failure for an
    # unknown username belongs to no agency).
    agency_id = models.BigIntegerField(null=True, db_index=True)
    agency_label = models.CharField(max_length=150, blank=True)
    seq = models.BigIntegerField()
    occurred_at = models.DateTimeField()

    actor_id = models.BigIntegerField(null=True)
    actor_label = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=20, blank=True)
    on_behalf_of_id = models.BigIntegerField(null=True)
    on_behalf_of_label = models.CharField(max_length=200, blank=True)

    # Not a choices field: audit.actions.Action is the list (record_event refuses others),
    # and a new action must not need a migration of the record.
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    reason = models.TextField(blank=True)

    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=400, blank=True)

    content = models.TextField(blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    # Set when retention purged `content` (R5); content_sha256 and every chained field
    # stay, so the chain still verifies. Not itself chained: the purge is an event.
    purged_at = models.DateTimeField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AgencyScopedManager("agency_id")

    class Meta:
        ordering = ["-occurred_at", "-seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "seq"], name="one_event_per_seq", nulls_distinct=False
            )
        ]
        indexes = [
            models.Index(fields=["agency_id", "-occurred_at"], name="audit_agency_time"),
            models.Index(fields=["agency_id", "action"], name="audit_agency_action"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.action}"

    @property
    def action_label(self) -> str:
        try:
            return Action(self.action).label
        except ValueError:
            return self.action


class ChainHead(models.Model):
    """The newest link of each chain: appends lock it, so concurrent writers queue
    instead of forking the chain, and a deleted tail event is still noticed."""

    agency_id = models.BigIntegerField(null=True)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True)

    objects = AgencyScopedManager("agency_id")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id"], name="one_head_per_chain", nulls_distinct=False
            )
        ]

    def __str__(self):
        return f"chain {self.agency_id}: #{self.seq}"


# Retention, legal holds and records requests live in their own modules (R5).
from audit.requests_models import RecordsRequest, Redaction  # noqa: E402, F401
from audit.retention_models import LegalHold, RetentionRule  # noqa: E402, F401
