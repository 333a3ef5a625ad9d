"""Acting on decided comments (M3), hold mode and review (M4), the appeal trail (M5).

The flow, each step its own transaction:

1. `plan(channel, version_ids)` (a worker, right after the versions commit): reads each
   new or edited version's decision and the hold mode, and writes what must happen as
   `Hold` and `ModerationAction` rows. A threat escalates here, at once: supervisors get
   a notification and an email before any platform is called.
2. `carry_out(action_id)` (a worker per action): calls the platform through the adapter.
   RetryLater leaves the row waiting and the task retries with backoff; a platform that
   cannot (Mastodon cannot hide, X cannot delete) is said so, and the comment is hidden
   instead or held in SMC's own queue. Rows are keyed, and a row is acted on under a row
   lock and only while waiting: re-running any step never acts twice.
3. `review(reviewer, holds, decision)`: a PIO releases held comments (shown again on the
   platform) or keeps them hidden; `restore(reviewer, comment)` shows a hidden comment
   again. Deletions cannot be undone on any platform: the archived copy stays and is shown.

Every step is recorded with its reason code and who did it (the policy, or a reviewer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Role
from accounts.notifications import notify
from audit.actions import Action, Outcome
from audit.actors import system_actor
from audit.services import record_event
from moderation.models import Comment, CommentVersion, Hold, ModerationAction
from moderation.policies import hold_reason, stored_policy
from platforms.adapters.base import NeedsReconnect, Rejected, RetryLater
from platforms.crypto import CredentialUnreadable
from platforms.models import Channel
from platforms.services import ChannelError, call_platform
from smc.errors import SmcError

Kind = ModerationAction.Kind
State = ModerationAction.State
# Only what a person wrote is decided again; a hide, unhide or deletion seen on the
# platform (often SMC's own doing) is archived and left alone.
DECIDED_KINDS = (CommentVersion.Kind.CREATED, CommentVersion.Kind.EDITED)
REVIEWER_ROLES = (Role.ADMINISTRATOR, Role.SUPERVISOR)
# The supervisors "on duty": SMC keeps no shift roster, so every active administrator
# and supervisor of the agency is told, in the app and by email, at any hour. Outside
# staffed hours the email is what reaches someone.
ON_DUTY_ROLES = (Role.ADMINISTRATOR, Role.SUPERVISOR)
# Platforms that recognize a retried write by its attempt key (Idempotency-Key on
# Mastodon, the record key on Bluesky): only there is an unanswered reply retried.
DEDUPED = ("mastodon", "bluesky")
EVENT_OF = {
    Kind.HIDE: Action.COMMENT_HIDDEN,
    Kind.UNHIDE: Action.COMMENT_SHOWN,
    Kind.DELETE: Action.COMMENT_DELETED,
    Kind.REPLY: Action.COMMENT_REPLIED,
}


class ReviewRefused(SmcError):
    pass


def _policy_actor(agency):
    return system_actor(agency_id=agency.pk, agency_label=agency.name, label="comment policy")


# --- 1. Planning ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    action_ids: tuple[int, ...] = ()
    holds: int = 0
    escalations: int = 0


def plan(*, channel: Channel, version_ids) -> Plan:
    """M3/M4: what to do about each new or edited version, as rows. Idempotent.

    Threats go first, in their own transaction: in a flood of thousands of comments the
    supervisors are told (and the threat hidden) without waiting for the rest."""
    ids = list(version_ids)
    escalating = Q(decision_category="threat") | Q(decision_action="escalate")
    first = _plan(channel, ids, escalating)
    rest = _plan(channel, ids, ~escalating)
    return Plan(first.action_ids + rest.action_ids, first.holds + rest.holds,
                first.escalations + rest.escalations)  # fmt: skip


@transaction.atomic
def _plan(channel: Channel, version_ids: list[int], which: Q) -> Plan:
    agency = channel.agency
    policy = stored_policy(agency)
    versions = (
        CommentVersion.objects.filter(which, pk__in=version_ids, comment__channel=channel,
                                      kind__in=DECIDED_KINDS)
        .select_related("comment").order_by("pk")
    )  # fmt: skip
    action_ids, holds, escalations = [], 0, 0
    reasons: dict[datetime, object] = {}  # a batch arrives at one moment: one rate query
    for version in versions:
        comment = version.comment
        if comment.is_deleted or version.seq != comment.version_count:
            continue  # a newer version (or the deletion) is what counts now
        created = version.kind == CommentVersion.Kind.CREATED
        at = comment.first_seen_at if created else version.seen_at
        if at not in reasons:
            reasons[at] = hold_reason(policy, agency, channel_id=channel.pk, at=at)
        held = reasons[at]
        action, category = version.decision_action or "allow", version.decision_category
        code = version.decision_rule or "none"
        why = version.decision_explanation
        if category == "threat" or action == "escalate":
            # A threat is retained whatever the policy says: hidden and held, never deleted.
            escalations += _escalate(version, code, why)
            holds += _hold(version, code, why, escalated=True)
            action_ids += _want(version, Kind.HIDE, code, why)
        elif action == "delete":
            action_ids += _want(version, Kind.DELETE, code, why)
        elif action == "hide":
            action_ids += _want(version, Kind.HIDE, code, why)
        elif action == "hold":
            holds += _hold(version, code, why)
            action_ids += _want(version, Kind.HIDE, code, why)
        else:
            if action == "reply":
                text = policy.reply_templates.get(category, "")
                action_ids += _want(version, Kind.REPLY, code, why, reply_text=text)
            if held is not None:
                holds += _hold(version, held.code, held.text)
                action_ids += _want(version, Kind.HIDE, held.code, held.text)
    return Plan(tuple(action_ids), holds, escalations)


def _want(version: CommentVersion, kind: str, code: str, why: str, **fields) -> list[int]:
    """The action row for (version, kind); [its id] if it is new, else []."""
    row, created = ModerationAction.objects.get_or_create(
        agency_id=version.agency_id, key=f"v{version.pk}:{kind}",
        defaults={"comment_id": version.comment_id, "version": version, "kind": kind,
                  "reason_code": code, "reason": why, **fields},
    )  # fmt: skip
    return [row.pk] if created else []


def _hold(version: CommentVersion, code: str, why: str, *, escalated: bool = False) -> int:
    """Put the comment in the review queue, unless it is already waiting there."""
    comment = version.comment
    if Hold.objects.filter(comment=comment, state=Hold.State.HELD).exists():
        return 0
    try:
        # Two workers planning the same comment at once: the database keeps one open hold.
        with transaction.atomic():
            hold = Hold.objects.create(agency_id=version.agency_id, comment=comment,
                                       version=version, reason_code=code, reason=why,
                                       escalated=escalated)  # fmt: skip
    except IntegrityError:
        return 0
    details = {"reason_code": code, "hold": hold.pk, "escalated": escalated}
    record_event(actor=_policy_actor(comment.channel.agency), action=Action.COMMENT_HELD,
                 subject=comment, reason=why, details=details)  # fmt: skip
    return 1


def _escalate(version: CommentVersion, code: str, why: str) -> int:
    """A threat: every supervisor on duty is told now, in the app and by email. Once."""
    comment = version.comment
    row, created = ModerationAction.objects.get_or_create(
        agency_id=version.agency_id, key=f"v{version.pk}:{Kind.ESCALATE}",
        defaults={"comment_id": comment.pk, "version": version, "kind": Kind.ESCALATE,
                  "reason_code": code, "reason": why},
    )  # fmt: skip
    if not created:
        return 0
    agency = comment.channel.agency
    people = list(
        Membership.objects.filter(agency=agency, is_active=True, role__in=ON_DUTY_ROLES)
        .select_related("user")
    )  # fmt: skip
    title = _("Possible threat on %(channel)s") % {"channel": comment.channel}
    body = _("%(author)s wrote: “%(text)s”. %(why)s It is hidden and held for review.") % {
        "author": comment.author_name or comment.author_handle or _("Someone"),
        "text": comment.text[:500],
        "why": why,
    }
    # The one way SMC tells a member something (accounts.notifications): an in-app notice
    # in the header, and an email sent once this transaction commits.
    url = reverse("moderation:comment_detail", args=[comment.pk])
    for member in people:
        notify(member=member, title=title, body=body, url=url)
    row.state, row.finished_at = State.DONE, timezone.now()
    row.outcome = _("Told %(n)s supervisors: %(who)s.") % {
        "n": len(people),
        "who": ", ".join(m.user.username for m in people) or "—",
    }
    row.save(update_fields=["state", "finished_at", "outcome"])
    details = {"reason_code": code, "told": [m.user.username for m in people]}
    record_event(actor=_policy_actor(agency), action=Action.COMMENT_ESCALATED, subject=comment,
                 reason=why, details=details)  # fmt: skip
    return 1


# --- 2. Carrying out ------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    state: str
    retry_in: float | None = None
    follow_up: tuple[int, ...] = ()


def retry_delay(attempts: int, platform_wait: float | None) -> float:
    """Backoff between tries: doubling from SMC_ACTION_RETRY_SECONDS, at most 15 min. A
    platform's wait of a minute or more is a rate-limit window (as call_platform reads
    it) and is waited out, up to an hour; shorter hints are the adapter's own backoff,
    which ours replaces."""
    delay = min(900.0, settings.SMC_ACTION_RETRY_SECONDS * 2 ** max(0, attempts - 1))
    window = platform_wait if platform_wait and platform_wait >= 60 else 0.0
    return max(delay, min(window, 3600.0))


def carry_out(action_id: int) -> Attempt:
    """Do one waiting action on the platform. Under the row's lock, and only while it is
    waiting, so two workers given the same row act once between them."""
    with transaction.atomic():
        row = (
            ModerationAction.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("comment__channel__agency", "hold")
            .filter(pk=action_id)
            .first()
        )
        if row is None:
            return Attempt("busy")
        if row.state != State.PENDING:
            return Attempt(row.state)
        row.attempts += 1
        channel = row.comment.channel
        try:
            result = call_platform(channel, _operation(row))
        except RetryLater as error:
            if row.kind == Kind.REPLY and error.ambiguous and channel.platform not in DEDUPED:
                # The reply may have landed, and this platform cannot tell a retry from a
                # new reply: posting again could say it twice. Someone checks instead.
                return _finish(row, State.FAILED, _("%(why)s The reply may have been posted; "
                                                    "SMC does not post it again.")
                               % {"why": error.reason})  # fmt: skip
            if row.attempts >= settings.SMC_ACTION_MAX_ATTEMPTS:
                return _finish(row, State.FAILED, _("Gave up after %(n)s tries: %(why)s")
                               % {"n": row.attempts, "why": error.reason})  # fmt: skip
            row.outcome = _("Try %(n)s failed, trying again: %(why)s") % {
                "n": row.attempts,
                "why": error.reason,
            }
            row.save(update_fields=["attempts", "outcome"])
            return Attempt(State.PENDING, retry_in=retry_delay(row.attempts, error.retry_after))
        except Rejected as error:
            return _finish(row, State.NOT_POSSIBLE, error.reason)
        except (NeedsReconnect, ChannelError, CredentialUnreadable) as error:
            why = getattr(error, "reason", None) or getattr(error, "message", None) or str(error)
            return _finish(row, State.FAILED, why)
        if row.kind == Kind.REPLY and result is not None:
            row.platform_result_id = result.platform_post_id
        return _finish(row, State.DONE, _("Done on %s.") % channel.get_platform_display())


def _operation(row: ModerationAction):
    platform_id = row.comment.platform_comment_id
    if row.kind == Kind.HIDE:
        return lambda adapter: adapter.hide_comment(platform_id)
    if row.kind == Kind.UNHIDE:
        return lambda adapter: adapter.unhide_comment(platform_id)
    if row.kind == Kind.DELETE:
        return lambda adapter: adapter.delete_comment(platform_id)
    if row.kind == Kind.REPLY:
        # One attempt key per row: a retried reply is recognized, not posted twice.
        return lambda adapter: adapter.reply(platform_id, row.reply_text,
                                             attempt_key=f"smc-action-{row.pk}")  # fmt: skip
    raise ValueError(f"{row.kind} is not done on a platform")


def _finish(row: ModerationAction, state: str, outcome: str) -> Attempt:
    row.state, row.outcome, row.finished_at = state, outcome[:2000], timezone.now()
    row.save()
    comment = row.comment
    agency = comment.channel.agency
    actor = row.requested_by or _policy_actor(agency)
    record_event(actor=actor, action=EVENT_OF[row.kind], subject=comment,
                 outcome=Outcome.SUCCESS if state == State.DONE else Outcome.FAILURE,
                 reason=row.outcome,
                 details={"reason_code": row.reason_code, "action": row.pk, "state": state,
                          "attempts": row.attempts,
                          "reviewer": row.requested_by.user.username if row.requested_by else None,
                          "platform": comment.channel.platform})  # fmt: skip
    follow_up: list[int] = []
    if state != State.DONE:
        follow_up = _fall_back(row)
    return Attempt(state, follow_up=tuple(follow_up))


def _fall_back(row: ModerationAction) -> list[int]:
    """When the platform cannot (or would not) do it: a deletion becomes a hide; a hide
    that cannot happen keeps the comment in SMC's own queue, saying why."""
    if row.kind == Kind.DELETE and row.version_id:
        why = _("%(reason)s It is hidden instead.") % {"reason": row.outcome}
        return _want(row.version, Kind.HIDE, row.reason_code, why) if row.version else []
    if row.kind == Kind.HIDE:
        note = _("Still visible on %(platform)s: %(why)s SMC holds it in its own queue.") % {
            "platform": row.comment.channel.get_platform_display(),
            "why": row.outcome,
        }
        hold = Hold.objects.filter(comment=row.comment, state=Hold.State.HELD).first()
        if hold is None and row.version is not None:
            _hold(row.version, row.reason_code, row.reason)
            hold = Hold.objects.filter(comment=row.comment, state=Hold.State.HELD).first()
        if hold is not None:
            hold.platform_note = note
            hold.save(update_fields=["platform_note"])
    return []


# --- 3. Review and restore ------------------------------------------------------------------


def can_review(member) -> bool:
    return member.role in REVIEWER_ROLES


@dataclass(frozen=True)
class ReviewOutcome:
    decided: int
    action_ids: tuple[int, ...]


RELEASE, KEEP_HIDDEN = "release", "keep_hidden"


@transaction.atomic
def review(*, reviewer, hold_ids, decision: str) -> ReviewOutcome:
    """M4: release held comments (shown again on the platform) or keep them hidden, one
    or many at once. Holds already decided (by a colleague a moment ago) are left alone.
    Raises ReviewRefused, changing nothing."""
    if not can_review(reviewer):
        raise ReviewRefused(_("Only a supervisor or an administrator can review comments."))
    if decision not in (RELEASE, KEEP_HIDDEN):
        raise ReviewRefused(_("Choose to release or to keep hidden."))
    ids = [int(i) for i in hold_ids]
    if not ids:
        raise ReviewRefused(_("Select at least one comment."))
    holds = list(
        Hold.objects.select_for_update(of=("self",))
        .filter(agency=reviewer.agency, pk__in=ids, state=Hold.State.HELD)
        .select_related("comment__channel__agency")
    )  # fmt: skip
    now, new_actions = timezone.now(), []
    for hold in holds:
        hold.state = Hold.State.RELEASED if decision == RELEASE else Hold.State.KEPT_HIDDEN
        hold.decided_by, hold.decided_at = reviewer, now
        hold.save(update_fields=["state", "decided_by", "decided_at"])
        if decision == RELEASE:
            new_actions += _show_again(hold.comment, reviewer, key=f"hold{hold.pk}:unhide",
                                       code=hold.reason_code, hold=hold)  # fmt: skip
        record_event(actor=reviewer,
                     action=Action.COMMENT_RELEASED if decision == RELEASE
                     else Action.COMMENT_KEPT_HIDDEN,
                     subject=hold.comment,
                     details={"reason_code": hold.reason_code, "hold": hold.pk})  # fmt: skip
    _queue_after_commit(reviewer.agency_id, new_actions)
    return ReviewOutcome(len(holds), tuple(new_actions))


def _show_again(comment: Comment, reviewer, *, key: str, code: str, hold=None) -> list[int]:
    """Undo SMC's hide of the comment: a hide still waiting is cancelled; a hide done on
    the platform gets an unhide. Nothing to do when the platform never hid it."""
    hides = ModerationAction.objects.select_for_update().filter(comment=comment, kind=Kind.HIDE)
    hides.filter(state=State.PENDING).update(
        state=State.CANCELLED, finished_at=timezone.now(),
        outcome=_("Cancelled: %s showed it before it was hidden.") % reviewer.user.username,
    )  # fmt: skip
    if visibility(comment) != "hidden":
        return []
    row, created = ModerationAction.objects.get_or_create(
        agency_id=comment.agency_id, key=key,
        defaults={"comment": comment, "kind": Kind.UNHIDE, "reason_code": code, "hold": hold,
                  "requested_by": reviewer,
                  "reason": _("Shown again by %s.") % reviewer.user.username},
    )  # fmt: skip
    return [row.pk] if created else []


def visibility(comment: Comment) -> str:
    """What SMC last did to the comment on its platform: "deleted", "hidden" or "shown"."""
    last = (
        ModerationAction.objects.filter(
            comment=comment, state=State.DONE, kind__in=(Kind.HIDE, Kind.UNHIDE, Kind.DELETE)
        )
        .order_by("-finished_at", "-pk")
        .first()
    )
    if last is None:
        return "shown"
    return {Kind.HIDE: "hidden", Kind.UNHIDE: "shown", Kind.DELETE: "deleted"}[last.kind]


@transaction.atomic
def restore(*, reviewer, comment: Comment) -> list[int]:
    """M5 appeal: show a comment SMC hid (by rule, hold or review) again. A deleted
    comment cannot be put back on any platform; its archived copy stays and is shown."""
    if not can_review(reviewer):
        raise ReviewRefused(_("Only a supervisor or an administrator can restore comments."))
    comment = Comment.objects.select_for_update().get(pk=comment.pk, agency=reviewer.agency)
    state = visibility(comment)
    if state == "deleted":
        raise ReviewRefused(
            _("The platform deleted this comment for good: it cannot be posted again. SMC "
              "keeps the archived copy shown on this page.")
        )  # fmt: skip
    pending = ModerationAction.objects.filter(comment=comment, kind=Kind.HIDE, state=State.PENDING)
    if state != "hidden" and not pending.exists():
        raise ReviewRefused(_("SMC has not hidden this comment; there is nothing to restore."))
    Hold.objects.filter(comment=comment, state=Hold.State.HELD).update(
        state=Hold.State.RELEASED, decided_by=reviewer, decided_at=timezone.now()
    )
    done = ModerationAction.objects.filter(comment=comment, state=State.DONE).count()
    ids = _show_again(comment, reviewer, key=f"restore{comment.pk}:{done}", code="restore")
    record_event(actor=reviewer, action=Action.COMMENT_RESTORED, subject=comment,
                 details={"actions": ids})  # fmt: skip
    _queue_after_commit(comment.agency_id, ids)
    return ids


def _queue_after_commit(agency_id: int, action_ids) -> None:
    if action_ids:
        ids = tuple(action_ids)
        transaction.on_commit(lambda: queue_actions(agency_id=agency_id, action_ids=ids))


def queue_actions(*, agency_id: int, action_ids) -> None:
    from moderation.tasks import carry_out_action

    for action_id in action_ids:
        carry_out_action.delay(agency_id=agency_id, action_id=action_id)
