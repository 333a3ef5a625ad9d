"""Every action the record knows: `app.thing.past_verb`.

One list that recording, search, filters and exports share. Add a line here before
recording a new action; record_event refuses names it does not know.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    # Sign-in and sessions (A1)
    LOGIN_SUCCEEDED = "accounts.login.succeeded", _("Signed in")
    LOGIN_FAILED = "accounts.login.failed", _("Sign-in failed")
    LOGIN_LOCKED = "accounts.login.locked", _("Sign-in refused: too many failures")
    LOGGED_OUT = "accounts.session.ended", _("Signed out")
    SESSION_EXPIRED = "accounts.session.expired", _("Session expired")
    PASSWORD_CHANGED = "accounts.password.changed", _("Password changed")
    MFA_TOTP_ADDED = "accounts.mfa.totp_added", _("Authenticator app added")
    MFA_TOTP_REMOVED = "accounts.mfa.totp_removed", _("Authenticator app removed")
    MFA_RECOVERY_CODES_GENERATED = (
        "accounts.mfa.recovery_codes_generated",
        _("Recovery codes generated"),
    )
    MFA_CODE_ACCEPTED = "accounts.mfa.code_accepted", _("Two-factor code accepted")
    MFA_CODE_REJECTED = "accounts.mfa.code_rejected", _("Two-factor code rejected")
    # People, roles, agencies (A2)
    AGENCY_CREATED = "accounts.agency.created", _("Agency created")
    AGENCY_SWITCHED = "accounts.agency.switched", _("Switched agency")
    MFA_POLICY_CHANGED = "accounts.agency.mfa_policy_changed", _("Two-factor policy changed")
    INVITATION_SENT = "accounts.invitation.sent", _("Invitation sent")
    INVITATION_ACCEPTED = "accounts.invitation.accepted", _("Invitation accepted")
    INVITATION_REFUSED = "accounts.invitation.refused", _("Invitation link refused")
    INVITATION_WITHDRAWN = "accounts.invitation.withdrawn", _("Invitation withdrawn")
    MEMBERSHIP_CREATED = "accounts.membership.created", _("Member added")
    ROLE_CHANGED = "accounts.membership.role_changed", _("Role changed")
    UNIT_CHANGED = "accounts.membership.unit_changed", _("Unit changed")
    MEMBERSHIP_REMOVED = "accounts.membership.removed", _("Member removed")
    UNIT_CREATED = "accounts.unit.created", _("Unit created")
    ACCESS_DENIED = "accounts.access.denied", _("Access denied")
    # Channels (C1–C3)
    CHANNEL_CONNECTED = "platforms.channel.connected", _("Channel connected")
    CHANNEL_CONNECT_REFUSED = "platforms.channel.connect_refused", _("Channel connection refused")
    CHANNEL_NEEDS_RECONNECT = "platforms.channel.needs_reconnect", _("Channel needs reconnect")
    CHANNEL_DISCONNECTED = "platforms.channel.disconnected", _("Channel disconnected")
    CHANNEL_PEOPLE_CHANGED = "platforms.channel.people_changed", _("Channel users changed")
    CREDENTIAL_UNREADABLE = "platforms.credential.unreadable", _("Channel credential unreadable")
    CREDENTIALS_REENCRYPTED = "platforms.credentials.reencrypted", _("Credentials re-encrypted")
    # Comment ingest (M1): refusals and repairs, never every archived comment
    WEBHOOK_SIGNATURE_REFUSED = (
        "moderation.webhook.signature_refused",
        _("Platform notification refused: bad signature"),
    )
    WEBHOOK_MALFORMED = "moderation.webhook.malformed", _("Platform notification unreadable")
    COMMENT_TRUNCATED = "moderation.comment.truncated", _("Oversized comment cut for the archive")
    COMMENT_REPAIRED = "moderation.comment.repaired", _("Comment text with invalid characters")
    POLL_INTERVAL_CHANGED = (
        "moderation.channel.poll_interval_changed",
        _("How often comments are read changed"),
    )
    # Posts (P1–P5): every step from draft to a live post, and back
    POST_DRAFTED = "posting.post.drafted", _("Post drafted")
    POST_EDITED = "posting.post.edited", _("Post edited")
    POST_PHOTO_ADDED = "posting.post.photo_added", _("Photo added to a post")
    POST_PHOTO_REMOVED = "posting.post.photo_removed", _("Photo removed from a post")
    POST_SUBMITTED = "posting.post.submitted", _("Post sent for approval")
    POST_APPROVED = "posting.post.approved", _("Post approved")
    POST_REJECTED = "posting.post.rejected", _("Post sent back")
    POST_EDITED_BY_SUPERVISOR = (
        "posting.post.edited_by_supervisor",
        _("Post edited by a supervisor"),
    )
    POST_ESCALATED = "posting.post.escalated", _("Approval moved up the chain")
    POST_SCHEDULED = "posting.post.scheduled", _("Post scheduled")
    POST_WITHDRAWN = "posting.post.withdrawn", _("Post withdrawn")
    PUBLICATION_PUBLISHED = "posting.publication.published", _("Post published on a channel")
    PUBLICATION_FAILED = "posting.publication.failed", _("Post failed on a channel")
    PUBLICATION_UNKNOWN = (
        "posting.publication.unknown",
        _("Post outcome unclear: checking with the platform"),
    )
    PUBLICATION_RETRIED = "posting.publication.retried", _("Publication retried")
    PUBLICATION_DELETED = "posting.publication.deleted", _("Post deleted from a platform")
    # --- Authority (A3–A5) and approval (P2): supervisors, rights, training, notices ---
    SUPERVISORS_CHANGED = "accounts.unit.supervisors_changed", _("Unit supervisors changed")
    MEMBER_APPROVAL_CHANGED = (
        "accounts.membership.approval_changed",
        _("Member's need for approval changed"),
    )
    TRAINING_RECORDED = "accounts.training.recorded", _("Training recorded")
    ESCALATION_TIME_CHANGED = (
        "accounts.agency.escalation_time_changed",
        _("Approval escalation time changed"),
    )
    CHANNEL_PUBLISHERS_CHANGED = (
        "platforms.channel.publishers_changed",
        _("Who may publish without approval changed"),
    )
    CHANNEL_APPROVAL_CHANGED = (
        "platforms.channel.approval_changed",
        _("Channel's need for approval changed"),
    )
    PUBLISH_RIGHTS_LAPSED = (
        "platforms.channel.publish_rights_lapsed",
        _("Publish rights removed: training expired"),
    )
    POST_SUBMIT_REFUSED = "posting.post.submit_refused", _("Post refused at submission")
    # --- end of the authority and approval block ---
    # Comment actions, hold mode and review (M3–M5)
    COMMENT_POLICY_CHANGED = "moderation.policy.changed", _("Comment policy changed")
    HOLD_SWITCH_CHANGED = "moderation.policy.hold_switch_changed", _("Hold mode switched")
    COMMENT_HELD = "moderation.comment.held", _("Comment held for review")
    COMMENT_ESCALATED = "moderation.comment.escalated", _("Comment escalated to supervisors")
    COMMENT_HIDDEN = "moderation.comment.hidden", _("Comment hidden on the platform")
    COMMENT_SHOWN = "moderation.comment.shown", _("Comment shown again on the platform")
    COMMENT_DELETED = "moderation.comment.deleted", _("Comment deleted on the platform")
    COMMENT_REPLIED = "moderation.comment.replied", _("Reply posted to a comment")
    COMMENT_RELEASED = "moderation.comment.released", _("Held comment released")
    COMMENT_KEPT_HIDDEN = "moderation.comment.kept_hidden", _("Held comment kept hidden")
    COMMENT_RESTORED = "moderation.comment.restored", _("Hidden comment restored")
    # The record itself (R2, R3)
    LOG_VIEWED = "audit.log.viewed", _("Record searched")
    EVENT_VIEWED = "audit.event.viewed", _("Record entry opened")
    CHAIN_VERIFIED = "audit.chain.verified", _("Record verified")
    CHAIN_BROKEN = "audit.chain.broken", _("Record found altered")
    # Retention and legal hold (R5), records requests
    RETENTION_RULE_CHANGED = "audit.retention.rule_changed", _("Retention period changed")
    RECORDS_PURGED = "audit.retention.purged", _("Records purged at the end of retention")
    PURGE_REFUSED = "audit.retention.purge_refused", _("Purge refused: records under legal hold")
    LEGAL_HOLD_PLACED = "audit.hold.placed", _("Legal hold placed")
    LEGAL_HOLD_RELEASED = "audit.hold.released", _("Legal hold released")
    RECORDS_REQUEST_CREATED = "audit.request.created", _("Records request opened")
    RECORDS_REQUEST_COMPILED = (
        "audit.request.compiled",
        _("Records gathered for a records request (with redactions)"),
    )
    RECORD_VIEWED = "audit.record.viewed", _("Post or comment opened from the record")
    # Exports (R4)
    EXPORT_REQUESTED = "audit.export.requested", _("Export asked for")
    EXPORT_REFUSED = "audit.export.refused", _("Export refused")
    EXPORT_MADE = "audit.export.made", _("Export made")
    EXPORT_FAILED = "audit.export.failed", _("Export failed")
    EXPORT_DOWNLOADED = "audit.export.downloaded", _("Export downloaded")
    EXPORT_EXPIRED = "audit.export.expired", _("Export expired and removed")


class Outcome(models.TextChoices):
    SUCCESS = "success", _("Done")
    DENIED = "denied", _("Denied")
    FAILURE = "failure", _("Failed")
