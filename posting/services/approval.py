"""Approval (P2) and the authority behind it (A3–A5): submit, approve, reject, edit,
and the clock that moves an unanswered approval up the chain.

Who may approve a post: the supervisors of the unit where its approval sits or of any
unit above it, and the agency's administrators (SMC's roles have no separate PIO: the
administrators are the desk that answers for every channel, and the top of every
chain). Never its author, never an auditor.

Each function owns its transaction, records its event and tells the people concerned
(accounts.notifications: in the app, and by email once the transaction commits).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.authority import current_training, supervised_unit_ids, supervisors_of, unit_chain
from accounts.models import Membership, Role
from accounts.notifications import notify
from audit.actions import Action, Outcome
from audit.actors import system_actor
from audit.services import record_event
from platforms import length
from platforms.models import Channel, ChannelPermission
from posting.models import ApprovalDecision, Post, PostRevision, Publication
from posting.services import PostingError
from posting.services.publishing import release_for_publishing, unqueue_publications

MAX_REASON = 2000


# --- Who may do what ---------------------------------------------------------------------------


def may_approve(membership: Membership, post: Post) -> bool:
    """The single answer to "may this member decide on this post's approval?"."""
    if not membership.is_active or membership.agency_id != post.agency_id:
        return False
    if membership.role == Role.AUDITOR or membership.pk == post.author_id:
        return False
    if membership.role == Role.ADMINISTRATOR:
        return True
    if post.awaiting_unit_id is None:
        return False  # at the top of the chain: the administrators' desk
    return post.awaiting_unit_id in supervised_unit_ids(membership)


def may_edit(membership: Membership, post: Post) -> bool:
    """A waiting post: whoever may approve it. An approved post not yet going out: whoever
    could approve it where its author's approval starts (the edit sends it back there)."""
    if post.status == Post.Status.AWAITING_APPROVAL:
        return may_approve(membership, post)
    if post.status == Post.Status.SCHEDULED:
        return may_approve(membership, _as_if_waiting(post))
    return False


def _channel_rights(author: Membership, channels) -> dict[int, set[str]]:
    """Per channel, the author's codenames there (one query)."""
    rights: dict[int, set[str]] = {}
    rows = ChannelPermission.objects.filter(
        agency_id=author.agency_id, user_id=author.user_id, content_object__in=list(channels)
    ).values_list("content_object_id", "permission__codename")
    for channel_id, codename in rows:
        rights.setdefault(channel_id, set()).add(codename)
    return rights


def approval_reasons(post: Post, channels: list[Channel]) -> list[str]:
    """Why a submitted post must go to a supervisor (empty: it may go at once)."""
    author = post.author
    reasons: list[str] = []
    if author.needs_approval:
        reasons.append(_("Every post by %s needs approval.") % author.user)
    if current_training(author) is None:
        reasons.append(_("The author has no publishing training in date."))
    rights = _channel_rights(author, channels)
    for channel in channels:
        if channel.needs_approval:
            reasons.append(_("Every post to %s needs approval.") % channel)
        elif "publish_to_channel" not in rights.get(channel.pk, set()):
            reasons.append(_("The author may not publish to %s without approval.") % channel)
    # P5: a failed pre-publish check forces approval, even for trusted authors.
    for check in post.check_results or []:
        if isinstance(check, dict) and check.get("ok") is False:
            label = check.get("label") or check.get("name") or _("a check")
            reasons.append(_("Pre-publish check failed: %s.") % label)
    return reasons


def _too_long(text: str, channel: Channel) -> bool:
    if channel.platform == "x":
        return length.x_weighted_length(text) > length.X_LIMIT
    if channel.platform == "mastodon":
        limit = int((channel.settings or {}).get("max_characters", 500))
        return length.mastodon_length(text) > limit
    if channel.platform == "bluesky":
        return not length.bluesky_fits(text)
    return len(text) > length.FACEBOOK_LIMIT


# --- Helpers -----------------------------------------------------------------------------------


def _lock(post: Post) -> Post:
    return (
        Post.objects.select_for_update(of=("self",))
        .select_related("author__user", "author__unit", "agency")
        .get(pk=post.pk, agency_id=post.agency_id)
    )


def _chosen_channels(post: Post) -> list[Channel]:
    return [
        p.channel
        for p in Publication.objects.filter(post=post)
        .exclude(status=Publication.Status.CANCELLED)
        .select_related("channel", "channel__agency")
        .order_by("channel__platform", "channel__name")
    ]


def _route(unit) -> tuple[object | None, list[Membership]]:
    """The nearest unit, from `unit` up, that has supervisors, and who they are. None
    (the administrators' desk) when no unit on the way has any."""
    for candidate in unit_chain(unit):
        people = supervisors_of(candidate)
        if people:
            return candidate, people
    return None, []


def _desk(post: Post) -> list[Membership]:
    return list(
        Membership.objects.filter(agency_id=post.agency_id, role=Role.ADMINISTRATOR, is_active=True)
        .select_related("user", "agency")
    )  # fmt: skip


def _review_url(post: Post) -> str:
    return reverse("posting:review", args=[post.pk])


def _tell_approvers(post: Post, people: list[Membership], title: str) -> None:
    for person in people:
        if person.pk != post.author_id:
            notify(member=person, title=title, body=post.text[:300], url=_review_url(post))


def _next_revision(post: Post) -> int:
    latest = PostRevision.objects.filter(post=post).order_by("-number").first()
    return max(post.revision, latest.number + 1) if latest else post.revision


def _write_revision(post: Post, *, kind: str, by: Membership, channels) -> PostRevision:
    photo_ids = list(post.photos.filter(removed_at=None).values_list("pk", flat=True))
    return PostRevision.objects.create(
        agency_id=post.agency_id, post=post, number=post.revision, kind=kind, text=post.text,
        location=post.location, channel_ids=[c.pk for c in channels], photo_ids=photo_ids,
        edited_by=by,
    )  # fmt: skip


def _wait_for_approval(post: Post, *, start_unit) -> list[Membership]:
    unit, people = _route(start_unit)
    now = timezone.now()
    post.status = Post.Status.AWAITING_APPROVAL
    post.awaiting_unit = unit
    post.awaiting_since = now
    post.approved_by, post.approved_at, post.approved_revision = None, None, None
    return people if unit is not None else _desk(post)


# --- Submit ------------------------------------------------------------------------------------


def submit_post(*, author: Membership, post: Post) -> Post:
    """The author sends the post: at once to its channels when they may publish there
    without approval and every check passed; otherwise to their unit's supervisors.

    A channel the author may not use (a forged form) refuses the whole submission,
    changes nothing and is recorded as refused."""
    try:
        return _submit(author=author, post=post)
    except PostingError as error:
        if error.code == "forbidden_channel":
            # Outside the rolled-back transaction, so the refusal stays on the record.
            record_event(actor=author, action=Action.POST_SUBMIT_REFUSED, subject=post,
                         outcome=Outcome.DENIED, reason=error.message)  # fmt: skip
        raise


@transaction.atomic
def _submit(*, author: Membership, post: Post) -> Post:
    post = _lock(post)
    if post.author_id != author.pk:
        raise PostingError(_("Only the author can send this post."))
    if not author.is_active or author.role == Role.AUDITOR:
        raise PostingError(_("Your role does not allow posting."))
    if not post.is_editable_by_author:
        raise PostingError(_("This post was sent already (%s).") % post.get_status_display())
    if not post.text.strip():
        raise PostingError(_("Write the post before sending it."))
    channels = _chosen_channels(post)
    if not channels:
        raise PostingError(_("Choose at least one channel."))
    rights = _channel_rights(author, channels)
    for channel in channels:
        if "draft_for_channel" not in rights.get(channel.pk, set()):
            raise PostingError(_("You may not post to %s. Nothing was sent.") % channel,
                               code="forbidden_channel")  # fmt: skip
        if channel.status == Channel.Status.DISCONNECTED:
            raise PostingError(_("%s is disconnected. Choose another channel.") % channel)
        if _too_long(post.text, channel):
            raise PostingError(_("The text is too long for %s. Shorten it.") % channel)
    if post.publish_at and post.publish_at <= timezone.now():
        raise PostingError(_("The scheduled time has passed. Choose a later time or “now”."))

    now = timezone.now()
    post.revision = _next_revision(post)
    post.submitted_at = now
    post.rejection_reason = ""
    reasons = approval_reasons(post, channels)
    post.approval_reasons = reasons
    _write_revision(post, kind=PostRevision.Kind.SUBMITTED, by=author, channels=channels)
    if reasons:
        approvers = _wait_for_approval(post, start_unit=author.unit)
    else:
        post.awaiting_unit, post.awaiting_since = None, None
    post.updated_at = now
    post.save()
    record_event(actor=author, action=Action.POST_SUBMITTED, subject=post,
                 details={"revision": post.revision, "needs_approval": bool(reasons),
                          "reasons": reasons,
                          "waiting_at": post.awaiting_unit.name if post.awaiting_unit else None,
                          "channels": [c.pk for c in channels]})  # fmt: skip
    if reasons:
        _tell_approvers(post, approvers, _("A post waits for your approval"))
    else:
        release_for_publishing(post=post, actor=author)
        post.refresh_from_db()
    return post


# --- Decisions ---------------------------------------------------------------------------------


def _decide_lock(supervisor: Membership, post: Post) -> Post:
    post = _lock(post)
    if post.status != Post.Status.AWAITING_APPROVAL:
        raise PostingError(
            _("This post is not waiting for approval any more (%s).") % post.get_status_display()
        )
    if post.author_id == supervisor.pk:
        raise PostingError(_("Nobody approves their own post. Another supervisor must decide."))
    if not may_approve(supervisor, post):
        raise PostingError(_("This approval is not yours to decide."))
    return post


@transaction.atomic
def approve_post(*, supervisor: Membership, post: Post) -> Post:
    post = _decide_lock(supervisor, post)
    now = timezone.now()
    if post.publish_at and post.publish_at <= now:
        raise PostingError(
            _("Its scheduled time has passed. Edit the time, or send it back to the author.")
        )
    ApprovalDecision.objects.create(agency_id=post.agency_id, post=post, revision=post.revision,
                                    decision=ApprovalDecision.Decision.APPROVED,
                                    supervisor=supervisor)  # fmt: skip
    post.approved_by, post.approved_at, post.approved_revision = supervisor, now, post.revision
    post.awaiting_unit, post.awaiting_since = None, None
    post.updated_at = now
    post.save()
    record_event(actor=supervisor, action=Action.POST_APPROVED, subject=post,
                 details={"revision": post.revision})  # fmt: skip
    release_for_publishing(post=post, actor=supervisor)
    notify(member=post.author, title=_("Your post was approved"),
           body=_("Approved by %s.") % supervisor.user, url=_post_url(post))  # fmt: skip
    post.refresh_from_db()
    return post


@transaction.atomic
def reject_post(*, supervisor: Membership, post: Post, reason: str) -> Post:
    reason = (reason or "").strip()
    if not reason:
        raise PostingError(_("Say why the post goes back: the author needs to know what to fix."))
    if len(reason) > MAX_REASON:
        raise PostingError(_("Keep the reason under %d characters.") % MAX_REASON)
    post = _decide_lock(supervisor, post)
    ApprovalDecision.objects.create(agency_id=post.agency_id, post=post, revision=post.revision,
                                    decision=ApprovalDecision.Decision.REJECTED,
                                    supervisor=supervisor, reason=reason)  # fmt: skip
    post.status = Post.Status.REJECTED
    post.rejection_reason = reason
    post.awaiting_unit, post.awaiting_since = None, None
    post.updated_at = timezone.now()
    post.save()
    record_event(actor=supervisor, action=Action.POST_REJECTED, subject=post, reason=reason,
                 details={"revision": post.revision})  # fmt: skip
    notify(member=post.author, title=_("Your post was sent back"),
           body=_("%(who)s: %(reason)s") % {"who": supervisor.user, "reason": reason},
           url=_post_url(post))  # fmt: skip
    return post


def _post_url(post: Post) -> str:
    return reverse("posting:changes", args=[post.pk])


@transaction.atomic
def edit_as_supervisor(*, supervisor: Membership, post: Post, text: str,
                       location: str | None = None) -> Post:  # fmt: skip
    """A supervisor's correction. Waiting posts stay waiting (the editor may then
    approve); an approved post that has not started going out goes back to waiting: an
    edit after approval needs approval again. The author is told and sees the changes."""
    post = _lock(post)
    if post.author_id == supervisor.pk:
        raise PostingError(_("Edit your own post from your posts, not as a supervisor."))
    after_approval = post.status == Post.Status.SCHEDULED
    if post.status != Post.Status.AWAITING_APPROVAL and not after_approval:
        raise PostingError(_("This post can no longer be edited (%s).") % post.get_status_display())
    if not may_edit(supervisor, post):
        raise PostingError(_("This approval is not yours to decide."))
    text = (text or "").strip()
    new_location = post.location if location is None else location.strip()[:200]
    if not text:
        raise PostingError(_("The post cannot be empty."))
    if text == post.text.strip() and new_location == post.location:
        raise PostingError(_("Nothing was changed."))
    channels = _chosen_channels(post)
    for channel in channels:
        if _too_long(text, channel):
            raise PostingError(_("The text is too long for %s. Shorten it.") % channel)
    # The publisher's own way to stop what has not started (race-free with workers);
    # anything already going out makes the edit impossible, and the transaction rolls
    # the unqueueing back with the refusal.
    if after_approval and unqueue_publications(post=post, to=Publication.Status.WAITING):
        raise PostingError(_("This post has started going out; it can no longer be edited."))

    before = {"text": post.text, "location": post.location}
    post.text, post.location = text, new_location
    post.revision = _next_revision(post)
    kind = (PostRevision.Kind.EDITED_AFTER_APPROVAL if after_approval
            else PostRevision.Kind.EDITED_BY_SUPERVISOR)  # fmt: skip
    _write_revision(post, kind=kind, by=supervisor, channels=channels)
    ApprovalDecision.objects.create(agency_id=post.agency_id, post=post, revision=post.revision,
                                    decision=ApprovalDecision.Decision.EDITED,
                                    supervisor=supervisor)  # fmt: skip
    approvers: list[Membership] = []
    if after_approval:
        approvers = _wait_for_approval(post, start_unit=post.author.unit)
        post.approval_reasons = [*post.approval_reasons,
                                 _("Edited after approval by %s.") % supervisor.user]  # fmt: skip
    post.updated_at = timezone.now()
    post.save()
    record_event(actor=supervisor, action=Action.POST_EDITED_BY_SUPERVISOR, subject=post,
                 details={"revision": post.revision, "after_approval": after_approval,
                          "before": before, "after": {"text": text,
                                                      "location": new_location}})  # fmt: skip
    notify(
        member=post.author,
        title=_("A supervisor edited your post"),
        body=_("%s changed it. See what changed.") % supervisor.user,
        url=_post_url(post),
    )
    if approvers:
        _tell_approvers(
            post,
            [a for a in approvers if a.pk != supervisor.pk],
            _("An approved post was edited and needs approval again"),
        )
    return post


def _as_if_waiting(post: Post) -> Post:
    """An approved post is decided where its author's approval would start."""
    probe = Post(agency_id=post.agency_id, author_id=post.author_id)
    probe.awaiting_unit = _route(post.author.unit)[0]
    return probe


# --- The clock -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    post_id: int
    from_unit: str | None
    to_unit: str | None


@transaction.atomic
def escalate_overdue(*, agency, now=None) -> list[Escalation]:
    """Inside the agency's scope: every approval that waited longer than the agency's
    escalation time at a unit moves to the next unit up that has supervisors, or to the
    administrators' desk at the top. Already at the desk: it stays (nobody is above)."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=agency.approval_escalation_minutes)
    overdue = list(
        Post.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(agency=agency, status=Post.Status.AWAITING_APPROVAL,
                awaiting_unit__isnull=False, awaiting_since__lte=cutoff)
        .select_related("awaiting_unit__parent", "author__user")
        .order_by("awaiting_since", "pk")
    )  # fmt: skip
    actor = system_actor(agency_id=agency.pk, agency_label=agency.name, label="approval clock")
    moved = []
    for post in overdue:
        from_unit = post.awaiting_unit
        to_unit, people = _route(from_unit.parent)
        if to_unit is None:
            people = _desk(post)
        post.awaiting_unit, post.awaiting_since = to_unit, now
        post.updated_at = now
        post.save(update_fields=["awaiting_unit", "awaiting_since", "updated_at"])
        where = to_unit.name if to_unit else _("the administrators")
        reason = _("Nobody at %(unit)s decided within %(minutes)d minutes; moved to %(to)s.") % {
            "unit": from_unit.name,
            "minutes": agency.approval_escalation_minutes,
            "to": where,
        }
        ApprovalDecision.objects.create(agency_id=post.agency_id, post=post,
                                        revision=post.revision,
                                        decision=ApprovalDecision.Decision.ESCALATED,
                                        reason=reason)  # fmt: skip
        record_event(
            actor=actor,
            action=Action.POST_ESCALATED,
            subject=post,
            reason=reason,
            details={"from": from_unit.name, "to": to_unit.name if to_unit else None},
        )
        _tell_approvers(post, people, _("A post waited too long and now needs your approval"))
        moved.append(Escalation(post.pk, from_unit.name, to_unit.name if to_unit else None))
    return moved


# --- What changed ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed"
    text: str


def revision_diff(before: str, after: str) -> list[DiffLine]:
    """Word by word, for the author: what the supervisor changed. The template escapes
    every piece (the text is the author's and the supervisor's, never markup)."""
    # Words and the spaces between them are both tokens, so line breaks survive.
    old, new = re.split(r"(\s+)", before), re.split(r"(\s+)", after)
    lines: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            lines.append(DiffLine("same", "".join(old[i1:i2])))
        else:
            if i2 > i1:
                lines.append(DiffLine("removed", "".join(old[i1:i2])))
            if j2 > j1:
                lines.append(DiffLine("added", "".join(new[j1:j2])))
    return lines
