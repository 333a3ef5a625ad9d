"""Comments as the platforms showed them (M1), and each channel's polling state.

A comment is archived before anything is done about it, and its archive only grows:
every change seen on the platform (an edit, a hide, a deletion) is a new CommentVersion;
no version is ever rewritten. `Comment` carries the newest state for quick reading.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import AgencyData
from platforms.models import Channel


class Comment(AgencyData):
    """One public comment or reply on a channel, named by the platform's id."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="comments")
    # Text, not CharField: an id of unexpected length must not break a batch (M1).
    platform_comment_id = models.TextField()
    platform_post_id = models.TextField(blank=True)
    parent_id = models.TextField(blank=True)
    author_id = models.TextField(blank=True)
    author_name = models.TextField(blank=True)
    author_handle = models.TextField(blank=True)
    created_at = models.DateTimeField(_("written at"))
    first_seen_at = models.DateTimeField(default=timezone.now)
    # The newest version, copied here so lists need no join.
    text = models.TextField(blank=True)
    is_hidden = models.BooleanField(default=False)
    is_deleted = models.BooleanField(default=False)
    version_count = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "platform_comment_id"], name="one_comment_per_platform_id"
            )
        ]
        indexes = [
            models.Index(fields=["agency", "channel", "-created_at"], name="comment_channel_time")
        ]

    def __str__(self):
        return f"Comment {self.platform_comment_id} on {self.channel_id}"

    def audit_snapshot(self) -> dict:
        return {
            "channel": self.channel_id,
            "platform_comment_id": self.platform_comment_id,
            "author": self.author_name,
            "text": self.text[:2000],
        }


class CommentVersion(AgencyData):
    """What the platform showed at one moment. Written once, never changed."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Written")
        EDITED = "edited", _("Edited")
        HIDDEN = "hidden", _("Hidden on the platform")
        UNHIDDEN = "unhidden", _("Shown again on the platform")
        DELETED = "deleted", _("Deleted on the platform")

    comment = models.ForeignKey(Comment, on_delete=models.PROTECT, related_name="versions")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    seen_at = models.DateTimeField(default=timezone.now)
    # The text as received, after the repairs below; `text_length` and `text_sha256`
    # describe the text as the platform sent it, even when it was cut.
    text = models.TextField(blank=True)
    normalized_text = models.TextField(blank=True)
    text_length = models.PositiveIntegerField(default=0)
    text_sha256 = models.CharField(max_length=64, blank=True)
    text_truncated = models.BooleanField(default=False)
    # Characters PostgreSQL cannot store (NUL, lone surrogates: not valid UTF-8) were
    # replaced with U+FFFD.
    text_repaired = models.BooleanField(default=False)
    is_hidden = models.BooleanField(default=False)
    raw = models.JSONField(default=dict, blank=True)
    # The policy's decision on this text (M2), taken as it is archived: which rule fired,
    # where in the text, and why, so a reviewer sees it explained (M5). Acting on it
    # (hide, hold, escalate) is separate and comes after.
    policy_name = models.CharField(max_length=60, blank=True)
    decision_action = models.CharField(max_length=20, blank=True)
    decision_category = models.CharField(max_length=20, blank=True)
    decision_rule = models.CharField(max_length=60, blank=True)
    decision_start = models.PositiveIntegerField(null=True, blank=True)
    decision_end = models.PositiveIntegerField(null=True, blank=True)
    decision_explanation = models.TextField(blank=True)

    class Meta:
        ordering = ["comment", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["comment", "seq"], name="one_version_per_seq")
        ]

    def __str__(self):
        return f"Version {self.seq} ({self.kind}) of comment {self.comment_id}"


class ChannelPoll(AgencyData):
    """Where polling a channel stands (M1): its cursor, when it is due, and its lease.

    The cursor is written in the same transaction as the comments it covers, so a crash
    before that commit re-reads the batch instead of skipping it."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="poll")
    cursor = models.TextField(null=True, blank=True)
    interval_s = models.PositiveIntegerField(default=60)
    next_poll_at = models.DateTimeField(default=timezone.now)
    # A poller holds the channel until leased_until; a dead worker's lease runs out and
    # the channel, still the longest overdue, is claimed first at the next tick.
    leased_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    leased_at = models.DateTimeField(null=True, blank=True)
    # A webhook said there is news: poll again as soon as the running poll ends.
    hinted_at = models.DateTimeField(null=True, blank=True)
    # Facebook said a comment changed: the next poll reads the whole watched window, not
    # just what is newer than the cursor, since an edit keeps the comment's old date.
    full_read_requested = models.BooleanField(default=False)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["next_poll_at"], name="channelpoll_due")]

    def __str__(self):
        return f"Polling of channel {self.channel_id}"
