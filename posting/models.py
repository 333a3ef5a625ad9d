"""Outgoing posts (P1–P5): a draft, its approval, and one Publication per channel.

A post is written once and sent to several channels. What the author chose is a set of
Publication rows from the start (status WAITING); approval releases them (QUEUED with a
due time) and the publisher takes each through SENDING to PUBLISHED, FAILED or UNKNOWN.
So "where did this post go, and did it get there?" is always one table.
"""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import AgencyData, Membership, Unit
from platforms.models import Channel


class Post(AgencyData):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        AWAITING_APPROVAL = "awaiting_approval", _("Waiting for approval")
        REJECTED = "rejected", _("Sent back")
        SCHEDULED = "scheduled", _("Scheduled")
        PUBLISHING = "publishing", _("Publishing")
        PUBLISHED = "published", _("Published")
        FAILED = "failed", _("Not published everywhere")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    author = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="posts")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    text = models.TextField(_("text"), blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    # None: as soon as it may go. Stored in UTC; shown in the agency's time zone.
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    # Made by the author's device before the first save, so a retried request over a
    # poor connection finds the draft it already made instead of making a second one.
    client_key = models.UUIDField(default=uuid.uuid4, editable=False)
    # Bumped by every edit after submission; approval names the revision it approved,
    # so an edit after approval is visibly a new, unapproved revision (P2).
    revision = models.PositiveIntegerField(default=1)
    # Why this post needs a supervisor: authority (A5) and failed checks (P5).
    approval_reasons = models.JSONField(default=list, blank=True)
    # The latest pre-publish check results, as shown while composing (P5).
    check_results = models.JSONField(default=list, blank=True)
    # Where the approval sits now, and since when: the escalation clock (P2).
    awaiting_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    awaiting_since = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_revision = models.PositiveIntegerField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "client_key"], name="post_client_key_unique")
        ]
        indexes = [
            models.Index(fields=["agency", "status", "awaiting_since"], name="post_queue"),
            models.Index(fields=["agency", "author", "-created_at"], name="post_author_time"),
        ]

    def __str__(self):
        first_line = (self.text.strip().splitlines() or [""])[0]
        return f"Post {self.pk}: {first_line[:60]}" if first_line else f"Post {self.pk}"

    @property
    def is_editable_by_author(self) -> bool:
        return self.status in (self.Status.DRAFT, self.Status.REJECTED)

    def audit_snapshot(self) -> dict:
        return {
            "status": self.status,
            "revision": self.revision,
            "text": self.text,
            "location": self.location,
            "publish_at": self.publish_at.isoformat() if self.publish_at else None,
            "author": self.author_id,
        }


class PostRevision(AgencyData):
    """The post as it stood at a submission or a supervisor's edit. Written once."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        EDITED_BY_SUPERVISOR = "supervisor_edit", _("Edited by a supervisor")
        EDITED_AFTER_APPROVAL = "edited_after_approval", _("Edited after approval")

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=30, choices=Kind.choices)
    text = models.TextField(blank=True)
    location = models.CharField(max_length=200, blank=True)
    channel_ids = models.JSONField(default=list)
    photo_ids = models.JSONField(default=list)
    edited_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["post", "number"]
        constraints = [
            models.UniqueConstraint(fields=["post", "number"], name="one_revision_number_per_post")
        ]

    def __str__(self):
        return f"Post {self.post_id} revision {self.number}"


def photo_path(photo: "PostPhoto", filename: str) -> str:
    # No user-chosen part in the stored name: the original file name may hold personal
    # data and is kept only in the row.
    return f"posts/{photo.agency_id}/{uuid.uuid4().hex}"


class PostPhoto(AgencyData):
    """One photo of a post. `original` is the upload as received (kept internally,
    behind access control); `cleaned` has every EXIF and GPS tag removed and is the
    only copy ever sent to a platform (P1)."""

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="photos")
    position = models.PositiveSmallIntegerField(default=0)
    # Made by the author's device per file, so a retried upload is the same photo.
    upload_key = models.CharField(max_length=64)
    original = models.FileField(upload_to=photo_path)
    original_name = models.CharField(max_length=255, blank=True)
    cleaned = models.FileField(upload_to=photo_path)
    content_type = models.CharField(max_length=50)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(default=0)
    cleaned_sha256 = models.CharField(max_length=64)
    alt_text = models.CharField(_("description"), max_length=1000, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["post", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["post", "upload_key"], name="one_photo_per_upload_key")
        ]

    def __str__(self):
        return f"Photo {self.pk} of post {self.post_id}"


class Publication(AgencyData):
    """One post on one channel (P3, P4): the unit of exactly-once publishing.

    WAITING until the post may go; then QUEUED with a due time. The publisher claims
    due rows (FOR UPDATE SKIP LOCKED), takes a lease and commits SENDING before it
    calls the platform. A clear answer makes it PUBLISHED or FAILED; an ambiguous one
    (a timeout after sending) makes it UNKNOWN, settled by looking for the post on the
    platform (find_published) before any new attempt. The idempotency key goes to the
    platform where it supports one, so a repeated call cannot post twice.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        PUBLISHED = "published", _("Published")
        FAILED = "failed", _("Failed")
        UNKNOWN = "unknown", _("Checking with the platform")
        DELETED = "deleted", _("Deleted from the platform")
        CANCELLED = "cancelled", _("Cancelled")

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="publications")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="publications")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.WAITING)
    due_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    platform_post_id = models.TextField(blank=True)
    url = models.URLField(max_length=500, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["post", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["post", "channel"], name="one_publication_per_channel")
        ]
        indexes = [
            # The scheduler's claim: due rows by time, across every agency.
            models.Index(
                fields=["due_at"],
                name="publication_due",
                condition=models.Q(status="queued"),
            ),
            models.Index(
                fields=["lease_expires_at"],
                name="publication_leased",
                condition=models.Q(status="sending"),
            ),
        ]

    def __str__(self):
        return f"Post {self.post_id} on channel {self.channel_id}"

    def save(self, *args, **kwargs):
        if not self.idempotency_key:
            self.idempotency_key = uuid.uuid4().hex
        super().save(*args, **kwargs)

    def audit_snapshot(self) -> dict:
        return {
            "post": self.post_id,
            "channel": self.channel_id,
            "status": self.status,
            "attempts": self.attempts,
            "platform_post_id": self.platform_post_id,
            "url": self.url,
        }


class ApprovalDecision(AgencyData):
    """What a supervisor did with one revision of a post (P2). Written once."""

    class Decision(models.TextChoices):
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Sent back")
        EDITED = "edited", _("Edited")
        ESCALATED = "escalated", _("Moved up the chain")

    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="decisions")
    revision = models.PositiveIntegerField()
    decision = models.CharField(max_length=20, choices=Decision.choices)
    # None for the clock (an escalation nobody made).
    supervisor = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["post", "created_at", "pk"]

    def __str__(self):
        return f"{self.get_decision_display()} post {self.post_id} r{self.revision}"
