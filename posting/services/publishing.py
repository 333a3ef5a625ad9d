"""Publishing (P3, P4): from an approved post to one live post per channel, exactly once.

The Publication row is the truth; Celery messages only nudge. That is what makes a
killed worker, a lost message or a restarted Redis harmless:

1. `claim_due_publications` (beat, every second or two) takes due rows of every agency
   with SELECT … FOR UPDATE SKIP LOCKED and writes a lease (a token and an expiry) on
   each; one task per row carries the token. Never a Celery ETA: a scheduled post lives
   in PostgreSQL, not in a broker that may forget it.
2. `publish_publication` (the task) proceeds only with its own lease. It commits SENDING
   (attempts + 1, first_attempt_at) *before* it calls the platform, so a crash after
   that point is visible.
3. A clear answer ends the attempt: PUBLISHED with the platform's id and link, FAILED
   with the platform's reason, or back to QUEUED with a backoff for a clear "not now".
   An ambiguous answer (no answer after sending) makes it UNKNOWN.
4. `sweep_expired_leases` (beat) turns a SENDING row whose lease ran out (its worker
   died mid-call) into UNKNOWN. It never re-sends blindly.
5. An UNKNOWN row is settled by `adapter.find_published` before anything is sent again;
   the idempotency key goes to platforms that honour one (Mastodon's Idempotency-Key,
   Bluesky's record key) so even a resend cannot post twice there.

A lease is longer than a publish task may run (its hard time limit), so a live attempt
is never handed to a second worker.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from audit.actions import Action, Outcome
from audit.actors import system_actor
from audit.services import record_event
from platforms.adapters.base import (
    Image,
    NeedsReconnect,
    OutgoingPost,
    PlatformError,
    Published,
    Rejected,
    RetryLater,
    backoff,
)
from platforms.crypto import CredentialUnreadable
from platforms.services import ChannelError, call_platform
from posting.models import Post, Publication
from posting.services import PostingError
from smc.tenancy import agency_scope, every_agency

log = logging.getLogger(__name__)

# Rows that may still change on their own; the rest wait for a person.
IN_FLIGHT = (Publication.Status.QUEUED, Publication.Status.SENDING, Publication.Status.UNKNOWN)
SETTLED = (
    Publication.Status.PUBLISHED,
    Publication.Status.FAILED,
    Publication.Status.DELETED,
    Publication.Status.CANCELLED,
)


def lease_seconds() -> int:
    return settings.SMC_PUBLISH_LEASE_SECONDS


def task_time_limits() -> tuple[float, float]:
    """(soft, hard) for the publish task: both well inside the lease, so a task that
    still runs always still holds its row. The broker's visibility timeout is longer
    still (settings), so a running task's message is never handed out twice."""
    lease = lease_seconds()
    return lease * 0.5, lease * 0.75


def platform_timeout() -> tuple[float, float]:
    """(connect, read) for each platform call: a publish makes a few calls (uploads, then
    the post), all of which must fit in the soft time limit."""
    read = min(20.0, lease_seconds() / 8)
    return (min(5.0, read), read)


# --- Fault injection for the chaos test and bench -------------------------------------------

CRASH_POINTS = ("after_claim", "after_sending_commit", "after_platform_accepted", "before_ack")


def crash_point(name: str) -> None:
    """Test-only fault injection: SMC_CRASH_AT=<name> makes this worker process die here
    at once, as a power cut or `kill -9` would (no clean-up, no ack, no rollback of what
    is committed). The chaos test uses it to kill a worker at each critical point of an
    attempt. Unset (production), this does nothing. Not a setting on purpose: it must
    never be configured by accident, and README lists it under testing only."""
    if os.environ.get("SMC_CRASH_AT") == name:
        log.warning("SMC_CRASH_AT=%s: this worker dies here (fault injection)", name)
        os._exit(137)


# --- Release (approval → queue) ----------------------------------------------------------


@transaction.atomic
def release_for_publishing(*, post: Post, actor=None) -> list[Publication]:
    """The post may go: its waiting publications are queued, due at its publish time
    (now when it has none). Called inside the approval's (or the trusted author's
    submission's) transaction, so an approval and its queueing never part.

    A publish time that passed while the post waited for approval means "as soon as
    possible": it goes now rather than never (the compose form refuses a time already
    past when the author sets it)."""
    now = timezone.now()
    due_at = max(post.publish_at, now) if post.publish_at else now
    publications = list(
        Publication.objects.select_for_update()
        .filter(agency=post.agency, post=post, status=Publication.Status.WAITING)
        .order_by("pk")
    )
    for publication in publications:
        publication.status = Publication.Status.QUEUED
        publication.due_at = due_at
        publication.next_attempt_at = None
        publication.updated_at = now
        publication.save(update_fields=["status", "due_at", "next_attempt_at", "updated_at"])
    if publications:
        post.status = Post.Status.SCHEDULED
        post.updated_at = now
        post.save(update_fields=["status", "updated_at"])
        record_event(
            actor=actor or _clock(post.agency_id, post.agency.name),
            action=Action.POST_SCHEDULED,
            subject=post,
            details={"due_at": due_at.isoformat(),
                     "channels": [p.channel_id for p in publications]},
        )  # fmt: skip
    return publications


@transaction.atomic
def unqueue_publications(*, post: Post, to: str = Publication.Status.WAITING) -> list[Publication]:
    """Stop what has not started: the post's QUEUED publications go back to WAITING (an
    edit after approval needs approval again) or to CANCELLED (the post is withdrawn).
    Race-free with the workers: an attempt starts only from QUEUED under the row's lock,
    so each row is either stopped here or already SENDING. Returns the publications that
    could not be stopped (sending, unknown or published) for the caller to explain."""
    if to not in (Publication.Status.WAITING, Publication.Status.CANCELLED):
        raise ValueError(f"Publications are unqueued to waiting or cancelled, not {to}.")
    rows = list(
        Publication.objects.select_for_update(of=("self",))
        .filter(agency=post.agency_id, post=post)
        .order_by("pk")
    )
    now = timezone.now()
    for publication in rows:
        if publication.status == Publication.Status.QUEUED:
            publication.status = to
            publication.lease_owner, publication.lease_expires_at = "", None
            publication.next_attempt_at = None
            publication.updated_at = now
            publication.save()
    return [p for p in rows if p.status in (Publication.Status.SENDING, Publication.Status.UNKNOWN,
                                            Publication.Status.PUBLISHED)]  # fmt: skip


# --- Beat: claim and sweep ------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    agency_id: int
    publication_id: int
    lease_token: str


def claim_due_publications(*, now: datetime | None = None, limit: int | None = None) -> list[Claim]:
    """Beat's tick: lease due publications (queued, or unknown and waiting to be looked
    up), oldest due first. SKIP LOCKED: two beats (or a beat restarted mid-tick) never
    hand one row out twice, and a row a worker is updating is left for the next tick.

    At most `limit` are handed out and not yet started at any time: a burst (1,000 posts
    due at nine o'clock) waits in PostgreSQL rather than in the broker, where its leases
    would run out before a worker got to it and every tick would hand it out again."""
    now = now or timezone.now()
    limit = limit or settings.SMC_PUBLISHES_PER_TICK
    token = secrets.token_hex(8)
    waiting = (Publication.Status.QUEUED, Publication.Status.UNKNOWN)
    # The schedule is one queue for the whole installation: a post due now must go now
    # whichever agency it belongs to. Only ids leave this block; each publication is
    # then handled in its own agency's scope.
    with every_agency(), transaction.atomic():
        handed_out = Publication.objects.filter(
            status__in=waiting, lease_expires_at__gte=now
        ).count()
        if handed_out >= limit:
            return []
        due = list(
            Publication.objects.select_for_update(skip_locked=True)
            .filter(status__in=(Publication.Status.QUEUED, Publication.Status.UNKNOWN))
            .filter(due_at__lte=now)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
            .order_by("due_at", "pk")
            .values_list("pk", "agency_id")[: limit - handed_out]
        )
        Publication.objects.filter(pk__in=[pk for pk, _ in due]).update(
            lease_owner=token, lease_expires_at=now + timedelta(seconds=lease_seconds())
        )
    return [Claim(agency_id, pk, token) for pk, agency_id in due]


def sweep_expired_leases(*, now: datetime | None = None) -> int:
    """Beat: a SENDING row whose lease ran out lost its worker mid-attempt. The post may
    or may not be on the platform, so it becomes UNKNOWN (looked up before any resend),
    never QUEUED."""
    now = now or timezone.now()
    # Dead workers leave rows in any agency; the sweep must see them all. Each row is
    # then changed (and recorded) in its own agency's scope.
    with every_agency():
        expired = list(
            Publication.objects.filter(
                status=Publication.Status.SENDING, lease_expires_at__lt=now
            ).values_list("pk", "agency_id")[: settings.SMC_PUBLISHES_PER_TICK]
        )
    swept = 0
    for pk, agency_id in expired:
        with agency_scope(agency_id), transaction.atomic():
            publication = (
                Publication.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=pk, status=Publication.Status.SENDING, lease_expires_at__lt=now)
                .select_related("post", "channel", "agency")
                .first()
            )
            if publication is None:
                continue  # finished or taken meanwhile
            _to_unknown(
                publication, now=now,
                reason=_("The worker stopped during an attempt; SMC checks the platform "
                         "before trying again."),
            )  # fmt: skip
            swept += 1
    return swept


# --- The task's work: one attempt -----------------------------------------------------------


def publish_publication(*, publication_id: int, lease_token: str) -> str:
    """One attempt at one publication, holding the lease `lease_token` (the caller's
    agency scope is open). Returns the row's status afterwards (for logs and tests)."""
    crash_point("after_claim")
    publication = (
        Publication.objects.select_related("post", "channel", "agency")
        .filter(pk=publication_id)
        .first()
    )
    if publication is None or publication.lease_owner != lease_token:
        return "not ours"  # re-claimed after our lease ran out, or finished already
    if publication.status == Publication.Status.UNKNOWN:
        settled = _reconcile(publication, lease_token)
        if settled is not None:
            return settled
        if publication.attempts >= settings.SMC_PUBLISH_MAX_ATTEMPTS:
            # Looked: not there. Safe to stop; a person may retry later.
            return _finish(
                publication_id, lease_token, looked=True,
                failed=_("%(reason)s It is not on the platform after %(n)d attempts; SMC "
                         "stopped trying.") % {"reason": publication.last_error,
                                               "n": publication.attempts},
            )  # fmt: skip
    elif publication.status != Publication.Status.QUEUED:
        return publication.status

    publication = _begin_attempt(publication_id, lease_token)
    if publication is None:
        return "not ours"
    crash_point("after_sending_commit")
    try:
        outgoing = outgoing_post(publication)
    except OSError as error:
        return _finish(publication_id, lease_token, failed=_photo_unreadable(error))
    try:
        published = call_platform(
            publication.channel,
            lambda adapter: adapter.publish(outgoing),
            timeout=platform_timeout(),
        )
    except RetryLater as error:
        if error.ambiguous:
            return _finish(publication_id, lease_token, unknown=error.reason)
        return _finish(publication_id, lease_token, retry=error)
    except (Rejected, NeedsReconnect, CredentialUnreadable, ChannelError) as error:
        return _finish(publication_id, lease_token, failed=_reason(error))
    crash_point("after_platform_accepted")
    status = _finish(publication_id, lease_token, published=published)
    crash_point("before_ack")
    return status


def outgoing_post(publication: Publication) -> OutgoingPost:
    """What the platform gets: the post's text and its EXIF-free photos (P1), with the
    publication's idempotency key and first attempt time for reconcile (§0.3)."""
    post = publication.post
    images = []
    for photo in post.photos.filter(removed_at__isnull=True).order_by("position", "pk"):
        with photo.cleaned.open("rb") as file:
            images.append(
                Image(data=file.read(), mime_type=photo.content_type, alt=photo.alt_text,
                      width=photo.width or None, height=photo.height or None)
            )  # fmt: skip
    first = publication.first_attempt_at
    return OutgoingPost(
        text=post.text,
        images=tuple(images),
        attempt_key=publication.idempotency_key,
        first_attempt_at=first.timestamp() if first else None,
    )


def _reconcile(publication: Publication, lease_token: str) -> str | None:
    """§0.3: is an earlier attempt on the platform? Found: PUBLISHED, nothing sent.
    Not found: None, and the caller sends. The platform not answering: still UNKNOWN,
    looked up again later (never a resend without a look)."""
    try:
        outgoing = outgoing_post(publication)
    except OSError as error:
        return _finish(publication.pk, lease_token, failed=_photo_unreadable(error), looked=True)
    try:
        found = call_platform(
            publication.channel,
            lambda adapter: adapter.find_published(outgoing),
            timeout=platform_timeout(),
        )
    except RetryLater as error:
        return _finish(publication.pk, lease_token, unknown=error.reason, looked=True)
    except (Rejected, NeedsReconnect, CredentialUnreadable, ChannelError) as error:
        # Nobody can look: a person must decide (reconnect, then retry), so it fails with
        # the reason rather than risk a second post.
        return _finish(publication.pk, lease_token, failed=_reason(error), looked=True)
    if found is not None:
        return _finish(publication.pk, lease_token, published=found, looked=True)
    return None


@transaction.atomic
def _begin_attempt(publication_id: int, lease_token: str) -> Publication | None:
    """Commit SENDING before the platform hears of it; renew the lease for the call."""
    publication = (
        Publication.objects.select_for_update(of=("self",))
        .select_related("post", "channel", "agency")
        .filter(pk=publication_id, lease_owner=lease_token,
                status__in=(Publication.Status.QUEUED, Publication.Status.UNKNOWN))
        .first()
    )  # fmt: skip
    if publication is None:
        return None
    now = timezone.now()
    publication.status = Publication.Status.SENDING
    publication.attempts += 1
    publication.first_attempt_at = publication.first_attempt_at or now
    publication.last_attempt_at = now
    publication.lease_expires_at = now + timedelta(seconds=lease_seconds())
    publication.updated_at = now
    publication.save(update_fields=["status", "attempts", "first_attempt_at", "last_attempt_at",
                                    "lease_expires_at", "updated_at"])  # fmt: skip
    # Only the post's first attempt changes it (to PUBLISHING): while this row was waiting
    # the post could not have moved on, so the status read with the row is true enough.
    if publication.post.status != Post.Status.PUBLISHING:
        _follow_publications(publication.post_id)
    return publication


@transaction.atomic
def _finish(publication_id: int, lease_token: str, *, published: Published | None = None,
            failed: str = "", unknown: str = "", retry: RetryLater | None = None,
            looked: bool = False) -> str:  # fmt: skip
    """Record the attempt's outcome, only if the lease is still ours."""
    wanted = Publication.Status.UNKNOWN if looked else Publication.Status.SENDING
    publication = (
        Publication.objects.select_for_update(of=("self",))
        .select_related("post", "channel", "agency")
        .filter(pk=publication_id, lease_owner=lease_token, status=wanted)
        .first()
    )
    if publication is None:
        # The lease ran out meanwhile and the sweep made it UNKNOWN: the look-up that
        # follows will find what this attempt did.
        return "not ours"
    now = timezone.now()
    if published is not None:
        _to_published(publication, published, now=now)
    elif failed:
        _to_failed(publication, failed, now=now)
    elif unknown:
        _to_unknown(publication, reason=unknown, now=now, looked=looked)
    else:
        _to_retry(publication, retry, now=now)
    return publication.status


def _to_published(publication: Publication, published: Published, *, now) -> None:
    publication.status = Publication.Status.PUBLISHED
    publication.platform_post_id = published.platform_post_id
    publication.url = published.url[:500]
    publication.published_at = now
    publication.last_error = ""
    _release_lease(publication, now)
    record_event(actor=_clock_for(publication), action=Action.PUBLICATION_PUBLISHED,
                 subject=publication,
                 details={"post": publication.post_id, "channel": publication.channel_id,
                          "platform": publication.channel.platform,
                          "platform_post_id": published.platform_post_id,
                          "url": publication.url, "attempts": publication.attempts})  # fmt: skip
    _follow_publications(publication.post_id)


def _to_failed(publication: Publication, reason: str, *, now) -> None:
    publication.status = Publication.Status.FAILED
    publication.last_error = reason
    _release_lease(publication, now)
    record_event(actor=_clock_for(publication), action=Action.PUBLICATION_FAILED,
                 subject=publication, outcome=Outcome.FAILURE, reason=reason,
                 details={"post": publication.post_id, "channel": publication.channel_id,
                          "attempts": publication.attempts})  # fmt: skip
    _follow_publications(publication.post_id)


def _to_unknown(publication: Publication, *, reason: str, now, looked: bool = False) -> None:
    """Unknown: look on the platform first. The look waits a little, so a platform that
    is still processing the attempt has finished it; a failed look backs off."""
    first_time = publication.status != Publication.Status.UNKNOWN
    publication.status = Publication.Status.UNKNOWN
    publication.last_error = reason
    wait = backoff(publication.attempts) if looked else settings.SMC_PUBLISH_RECONCILE_DELAY_S
    publication.next_attempt_at = now + timedelta(seconds=wait)
    _release_lease(publication, now)
    if first_time:
        record_event(actor=_clock_for(publication), action=Action.PUBLICATION_UNKNOWN,
                     subject=publication, outcome=Outcome.FAILURE, reason=reason,
                     details={"post": publication.post_id, "channel": publication.channel_id,
                              "attempts": publication.attempts})  # fmt: skip


def _to_retry(publication: Publication, error: RetryLater, *, now) -> None:
    if publication.attempts >= settings.SMC_PUBLISH_MAX_ATTEMPTS:
        _to_failed(
            publication,
            _("%(reason)s SMC gave up after %(n)d attempts.")
            % {"reason": error.reason, "n": publication.attempts},
            now=now,
        )
        return
    wait = error.retry_after if error.retry_after is not None else backoff(publication.attempts)
    publication.status = Publication.Status.QUEUED
    publication.last_error = error.reason
    publication.next_attempt_at = now + timedelta(seconds=max(1.0, wait))
    _release_lease(publication, now)


def _release_lease(publication: Publication, now) -> None:
    publication.lease_owner, publication.lease_expires_at = "", None
    publication.updated_at = now
    publication.save()


def _follow_publications(post_id: int) -> None:
    """The post's status follows its publications: PUBLISHING once any attempt has
    started, then PUBLISHED when every channel has it, FAILED when any channel failed.
    The post is locked so two channels finishing together cannot both miss the last."""
    post = Post.objects.select_for_update().get(pk=post_id)
    if post.status not in (Post.Status.SCHEDULED, Post.Status.PUBLISHING,
                           Post.Status.PUBLISHED, Post.Status.FAILED):  # fmt: skip
        return
    statuses = list(post.publications.values_list("status", flat=True))
    wanted = post_status_for(statuses)
    if wanted != post.status:
        post.status, post.updated_at = wanted, timezone.now()
        post.save(update_fields=["status", "updated_at"])


def post_status_for(statuses: list[str]) -> str:
    S = Publication.Status  # noqa: N806 - reads like the enum it is
    if not statuses or all(s == S.QUEUED for s in statuses):
        return Post.Status.SCHEDULED
    if any(s in IN_FLIGHT for s in statuses):
        return Post.Status.PUBLISHING
    if any(s == S.FAILED for s in statuses):
        return Post.Status.FAILED
    return Post.Status.PUBLISHED


def _photo_unreadable(error: OSError) -> str:
    # A photo missing from storage (a restore without the media folder): trying again
    # cannot help, and a person must see it.
    log.error("A photo of a post could not be read: %s", error)
    return _("A photo of this post could not be read from storage, so nothing was sent. "
             "Restore the photos (SMC_MEDIA_ROOT), then try again.")  # fmt: skip


def _reason(error: Exception) -> str:
    if isinstance(error, PlatformError):
        return error.reason
    if isinstance(error, ChannelError):
        return error.message
    return str(error) or type(error).__name__


def _clock(agency_id: int, agency_label: str):
    return system_actor(agency_id=agency_id, agency_label=agency_label, label="publisher")


def _clock_for(publication: Publication):
    return _clock(publication.agency_id, publication.agency.name)


# --- What people do: retry and delete --------------------------------------------------------

# Retrying and deleting change what the public sees under the agency's name, so they
# belong to the people who control it (the PIO's one point of control), not to every
# author: supervisors and administrators. Authors see the status and the links.
MAY_MANAGE_PUBLICATIONS = (Role.SUPERVISOR, Role.ADMINISTRATOR)


def may_manage_publications(membership) -> bool:
    return membership.role in MAY_MANAGE_PUBLICATIONS and membership.is_active


def _check_may_manage(membership) -> None:
    from smc.errors import PermissionDenied

    if not may_manage_publications(membership):
        raise PermissionDenied(
            _("Only supervisors and administrators may retry or delete a published post.")
        )


@transaction.atomic
def retry_publication(*, member, publication: Publication) -> Publication:
    """A failed publication goes back to the queue, due now, with its attempts counted
    afresh. Its idempotency key stays: a platform that honours it still knows the post."""
    _check_may_manage(member)
    publication = Publication.objects.select_for_update().get(pk=publication.pk)
    if publication.status != Publication.Status.FAILED:
        raise PostingError(
            _("Only a failed publication can be retried; this one is %s.")
            % publication.get_status_display().lower(),
            code="not_failed",
        )
    now = timezone.now()
    before = publication.audit_snapshot()
    publication.status = Publication.Status.QUEUED
    publication.attempts = 0
    publication.due_at = now
    publication.next_attempt_at = None
    publication.lease_owner, publication.lease_expires_at = "", None
    publication.updated_at = now
    publication.save()
    record_event(actor=member, action=Action.PUBLICATION_RETRIED, subject=publication,
                 details={"before": before, "last_error": publication.last_error})  # fmt: skip
    _follow_publications(publication.post_id)
    return publication


def delete_publication(*, member, publication: Publication) -> Publication:
    """Take a published post down from its platform. The platform is asked first; the
    row says DELETED only once the platform agreed (a post already gone counts)."""
    _check_may_manage(member)
    if publication.status != Publication.Status.PUBLISHED:
        raise PostingError(
            _("Only a published post can be deleted from its platform; this one is %s.")
            % publication.get_status_display().lower(),
            code="not_published",
        )
    platform_post_id = publication.platform_post_id
    try:
        call_platform(
            publication.channel,
            lambda adapter: adapter.delete(platform_post_id),
            timeout=platform_timeout(),
        )
    except RetryLater as error:
        raise PostingError(
            _("%(platform)s did not delete it yet (%(reason)s). Nothing changed; try again "
              "in a moment.") % {"platform": publication.channel.get_platform_display(),
                                  "reason": error.reason},
            code="retry_later",
        ) from None  # fmt: skip
    except (Rejected, NeedsReconnect, CredentialUnreadable, ChannelError) as error:
        with transaction.atomic():
            record_event(actor=member, action=Action.PUBLICATION_DELETED, subject=publication,
                         outcome=Outcome.FAILURE, reason=_reason(error))  # fmt: skip
        raise PostingError(
            _("%(platform)s refused to delete it: %(reason)s")
            % {"platform": publication.channel.get_platform_display(), "reason": _reason(error)},
            code="refused",
        ) from None
    with transaction.atomic():
        publication = Publication.objects.select_for_update().get(pk=publication.pk)
        if publication.status != Publication.Status.PUBLISHED:
            return publication  # deleted by someone else meanwhile
        now = timezone.now()
        publication.status = Publication.Status.DELETED
        publication.deleted_at = now
        publication.updated_at = now
        publication.save()
        record_event(actor=member, action=Action.PUBLICATION_DELETED, subject=publication,
                     details={"platform_post_id": platform_post_id,
                              "platform": publication.channel.platform})  # fmt: skip
        _follow_publications(publication.post_id)
    return publication
