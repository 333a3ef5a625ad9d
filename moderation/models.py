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


# --- The agency's stored policy, its actions, holds and alerts (M2–M5) ---------------------


class CommentPolicy(AgencyData):
    """The agency's published comment policy as SMC applies it: which rules act and how,
    its own block and allow terms, when the desk is staffed, when a channel is surging,
    and the hold switch. One per agency; `moderation.policies` turns it into the engine's
    Policy. Threats are not configurable: they always escalate and are never deleted."""

    agency = models.OneToOneField(
        "accounts.Agency", on_delete=models.PROTECT, related_name="comment_policy"
    )
    # category → action ("allow" switches the rule off). See policies.RULE_ACTIONS.
    actions = models.JSONField(default=dict)
    # category → the reply SMC posts when that rule's action is "reply".
    reply_templates = models.JSONField(default=dict, blank=True)
    block_terms = models.JSONField(default=list, blank=True)
    allow_terms = models.JSONField(default=list, blank=True)
    # Hold mode (M4). Staffed hours are in the agency's time zone: weekday ("0" = Monday)
    # → ["HH:MM", "HH:MM"]; a day missing is not staffed.
    hold_outside_staffed_hours = models.BooleanField(default=False)
    staffed_hours = models.JSONField(default=dict, blank=True)
    # A surge: more new comments on one channel in a minute than this. Per channel in
    # `surge_per_channel` (channel id → count); the default for the others.
    surge_per_minute = models.PositiveIntegerField(default=30)
    surge_per_channel = models.JSONField(default=dict, blank=True)
    hold_switch = models.BooleanField(default=False)
    hold_switch_changed_at = models.DateTimeField(null=True, blank=True)
    hold_switch_changed_by = models.ForeignKey(
        "accounts.Membership", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        "accounts.Membership", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self):
        return f"Comment policy of {self.agency}"

    def audit_snapshot(self) -> dict:
        return {
            "actions": self.actions,
            "reply_templates": self.reply_templates,
            "block_terms": self.block_terms,
            "allow_terms": self.allow_terms,
            "hold_outside_staffed_hours": self.hold_outside_staffed_hours,
            "staffed_hours": self.staffed_hours,
            "surge_per_minute": self.surge_per_minute,
            "surge_per_channel": self.surge_per_channel,
            "hold_switch": self.hold_switch,
        }


class Hold(AgencyData):
    """A comment waiting in SMC's review queue (M4): hidden on the platform where it can
    be, until a reviewer releases it or keeps it hidden."""

    class State(models.TextChoices):
        HELD = "held", _("Waiting for review")
        RELEASED = "released", _("Released")
        KEPT_HIDDEN = "kept_hidden", _("Kept hidden")

    comment = models.ForeignKey(Comment, on_delete=models.PROTECT, related_name="holds")
    version = models.ForeignKey(
        CommentVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The policy's reason code: the rule that fired ("threat.violence") or why hold mode
    # was on ("hold.switch", "hold.outside_staffed_hours", "hold.surge").
    reason_code = models.CharField(max_length=60)
    reason = models.TextField(blank=True)
    escalated = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=State.choices, default=State.HELD)
    # Why the comment still shows on the platform, when it does (Mastodon cannot hide).
    platform_note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        "accounts.Membership", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["comment"], condition=models.Q(state="held"), name="one_open_hold"
            )
        ]
        indexes = [models.Index(fields=["agency", "state", "created_at"], name="hold_queue")]

    def __str__(self):
        return f"Hold of comment {self.comment_id} ({self.reason_code})"

    def audit_snapshot(self) -> dict:
        return {"comment": self.comment_id, "reason_code": self.reason_code,
                "state": self.state, "escalated": self.escalated}  # fmt: skip


class ModerationAction(AgencyData):
    """One thing done to a comment on its platform, or tried (M3). `key` makes it
    idempotent: the same decision on the same version is one row, however often the
    task runs, and a row that is done is never done again."""

    class Kind(models.TextChoices):
        HIDE = "hide", _("Hide")
        UNHIDE = "unhide", _("Show again")
        DELETE = "delete", _("Delete")
        REPLY = "reply", _("Reply")
        ESCALATE = "escalate", _("Escalate")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        DONE = "done", _("Done")
        NOT_POSSIBLE = "not_possible", _("Not possible on this platform")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    key = models.CharField(max_length=120)
    comment = models.ForeignKey(Comment, on_delete=models.PROTECT, related_name="actions")
    version = models.ForeignKey(
        CommentVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    hold = models.ForeignKey(
        Hold, null=True, blank=True, on_delete=models.PROTECT, related_name="actions"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    reason_code = models.CharField(max_length=60)
    reason = models.TextField(blank=True)
    reply_text = models.TextField(blank=True)
    # None: the policy did it; a member: a reviewer did.
    requested_by = models.ForeignKey(
        "accounts.Membership", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    outcome = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    platform_result_id = models.TextField(blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["agency", "key"], name="one_action_per_key")]

    def __str__(self):
        return f"{self.get_kind_display()} comment {self.comment_id}"

    def audit_snapshot(self) -> dict:
        return {"comment": self.comment_id, "kind": self.kind, "reason_code": self.reason_code,
                "state": self.state, "outcome": self.outcome[:500]}  # fmt: skip
