"""The record (R1, R2): an append-only, hash-chained event log per agency.

It names agencies, people and objects by id and label and imports no other app, so
an event outlives the rows it names. The database refuses UPDATE, DELETE and TRUNCATE
on events (triggers, and the app role's grants); only audit.services writes them.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models

from audit.actions import Action, Outcome
from smc.tenancy import AgencyScopedManager

# One text-search configuration for the column, its index and every query (R3): a query
# in another configuration would not use the index.
SEARCH_CONFIG = "english"


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
    # Not unique, and not indexed: nothing looks an event up by its hash, and each hash
    # covers its agency_id and seq, which are unique together already. An index on a
    # random key costs every append two writes to random pages (a full-page image in
    # the WAL after each checkpoint), half the WAL of an append.
    hash = models.CharField(max_length=64)

    # R3: the words an auditor searches, kept by PostgreSQL itself (a stored generated
    # column, GIN-indexed), so no writer can forget it and the chain never covers it.
    # The action's dots become spaces so "approved" finds posting.post.approved.
    search = models.GeneratedField(
        expression=SearchVector(
            "actor_label",
            "on_behalf_of_label",
            "object_label",
            "reason",
            "content",
            models.Func("action", models.Value("."), models.Value(" "), function="replace"),
            config=SEARCH_CONFIG,
        ),
        output_field=SearchVectorField(),
        db_persist=True,
    )

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
            GinIndex(fields=["search"], name="audit_search"),
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


class Export(models.Model):
    """R4: a copy of part of the record made for one auditor, built in the background.

    Not part of the chain: its making, download and removal are events in it. The file
    lives outside the database (settings.SMC_EXPORT_DIR) until it expires.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSON Lines"
        PACKAGE = "package", "Records-request package (ZIP)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Being made"
        READY = "ready", "Ready to download"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    agency_id = models.BigIntegerField(db_index=True)
    # The member who asked (a Membership id and label: audit imports no app). Only they
    # may download it.
    requested_by_id = models.BigIntegerField()
    requested_by_label = models.CharField(max_length=150)
    format = models.CharField(max_length=10, choices=Format.choices)
    # The search as typed (EventSearchForm.as_saved), read again when the export is made.
    filters = models.JSONField(default=dict, blank=True)
    # Set for the package that answers a records request: its records are the request's
    # scope (audit.requests.records_request_records), redacted, not a search's.
    records_request = models.ForeignKey(
        "audit.RecordsRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="packages",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Progress: rows expected when asked, rows written so far.
    total = models.BigIntegerField(default=0)
    written = models.BigIntegerField(default=0)
    # The chain head the export reads up to, fixed when it starts so a package proves one
    # moment of the chain even while new entries arrive.
    head_seq = models.BigIntegerField(null=True, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = AgencyScopedManager("agency_id")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["agency_id", "requested_by_id"], name="export_owner")]

    def __str__(self):
        return f"Export {self.pk} ({self.format})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.READY, self.Status.FAILED, self.Status.EXPIRED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.READY:
            return 100
        if not self.total:
            return 0
        return min(99, int(100 * self.written / self.total))


# Retention, legal holds and records requests live in their own modules (R5).
from audit.requests_models import RecordsRequest, Redaction  # noqa: E402, F401
from audit.retention_models import LegalHold, RetentionRule  # noqa: E402, F401
