"""Records requests: what a member of the public asked for, and what was redacted in the
copy they receive (the original records are never changed)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from smc.tenancy import AgencyScopedManager


class RecordsRequest(models.Model):
    agency_id = models.BigIntegerField(db_index=True)
    agency_label = models.CharField(max_length=150, blank=True)
    reference = models.CharField(_("reference"), max_length=40)
    requester = models.CharField(_("requester"), max_length=200)
    requester_contact = models.CharField(_("requester's contact"), max_length=200, blank=True)
    received_on = models.DateField(_("received on"))
    # The scope: records dated in [date_from, date_to], of these kinds, optionally only
    # one channel's and only one person's.
    date_from = models.DateField(_("records from"))
    date_to = models.DateField(_("records to"))
    kinds = models.JSONField(default=list)
    channel_id = models.BigIntegerField(null=True, blank=True)
    channel_label = models.CharField(max_length=200, blank=True)
    person = models.CharField(_("person"), max_length=150, blank=True)
    redact_personal_data = models.BooleanField(_("redact personal data"), default=True)
    notes = models.TextField(_("notes"), blank=True)

    created_at = models.DateTimeField()
    created_by_id = models.BigIntegerField(null=True)
    created_by_label = models.CharField(max_length=150, blank=True)

    objects = AgencyScopedManager("agency_id")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency_id", "reference"], name="one_records_request_per_reference"
            )
        ]

    def __str__(self):
        return f"Records request {self.reference}"

    def audit_snapshot(self) -> dict:
        return {
            "reference": self.reference,
            "requester": self.requester,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "kinds": self.kinds,
            "channel_id": self.channel_id,
            "person": self.person,
            "redact_personal_data": self.redact_personal_data,
        }


class Redaction(models.Model):
    """One span of personal data replaced in a request's exported copy of a record."""

    agency_id = models.BigIntegerField(db_index=True)
    request = models.ForeignKey(RecordsRequest, on_delete=models.PROTECT, related_name="redactions")
    kind = models.CharField(max_length=80)
    record_id = models.CharField(max_length=64)
    field = models.CharField(max_length=80)
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    rule = models.CharField(max_length=60)
    # The SHA-256 of the original field, so the redacted copy can be tied to the original.
    original_sha256 = models.CharField(max_length=64)
    redacted_at = models.DateTimeField()

    objects = AgencyScopedManager("agency_id")

    class Meta:
        ordering = ["request", "kind", "record_id", "field", "start"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "kind", "record_id", "field", "start"],
                name="one_redaction_per_span",
            )
        ]

    def __str__(self):
        return f"Redaction in {self.kind} {self.record_id} {self.field}"
