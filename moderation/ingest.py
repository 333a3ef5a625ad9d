"""Comment ingest (M1): every public comment is archived before anything is done about it.

- `archive_comments` stores a batch read from a platform: new comments, and a new
  version for each one whose text or visibility changed. Idempotent on (channel,
  platform comment id): a batch read twice changes nothing the second time.
- `poll_channel` reads a channel from its cursor and archives the batch; the cursor moves
  in the same transaction as the comments it covers, so a poll that fails, or a worker
  that dies before the commit, leaves the cursor where it was and the batch is read again.
- `claim_due_channels` is beat's fair share: the longest-overdue channels of every agency
  first, a bounded number per platform per tick, each leased so only one poller runs.
- `receive_facebook_webhook` checks a Facebook delivery and turns it into hints: a poll
  of the Page's channels soon, and a deletion version for each removed comment, queued
  for the workers after commit.

Nothing here decides what to do about a comment: `on_archived` is where the policy
engine (M2–M4) will start.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Least
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import Action, Outcome
from audit.actors import system_actor
from audit.services import record_event
from moderation.engine.policy import DEFAULT_POLICY, Policy, decide
from moderation.models import ChannelPoll, Comment, CommentVersion
from platforms.adapters.base import (
    CommentBatch,
    IncomingComment,
    NeedsReconnect,
    PlatformError,
    RetryLater,
    backoff,
)
from platforms.adapters.facebook import verify_webhook_signature
from platforms.crypto import CredentialUnreadable
from platforms.models import Channel, Platform
from platforms.services import ChannelError, call_platform, touch_sync
from smc.errors import SmcError
from smc.tenancy import agency_scope, every_agency

# A poller holds its channel this long at most: longer than a task may run (settings
# CELERY_TASK_TIME_LIMIT), so a live poll is never handed to a second worker.
LEASE_S = 360
# NUL and lone surrogates: not valid UTF-8, and PostgreSQL refuses to store them.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CUT_MARK = "…[cut by SMC]"
_IN_CHUNK = 2000


# --- Text as the archive keeps it ---------------------------------------------------------


@dataclass(frozen=True)
class ArchivedText:
    text: str
    length: int  # as the platform sent it
    sha256: str  # of what the platform sent, before repair or cut
    truncated: bool
    repaired: bool


def archived_text(text) -> ArchivedText:
    """The text as stored: unstorable characters replaced, absurd lengths cut (M1)."""
    text = text if isinstance(text, str) else ("" if text is None else str(text))
    sent = text.encode("utf-8", "surrogatepass")
    repaired, count = _UNSTORABLE.subn("\ufffd", text)
    limit = settings.SMC_COMMENT_MAX_CHARS
    return ArchivedText(
        text=repaired[:limit],
        length=len(text),
        sha256=hashlib.sha256(sent).hexdigest(),
        truncated=len(repaired) > limit,
        repaired=count > 0,
    )


def normalized(text: str) -> str:
    """For matching, not display. The policy engine's normalizer will replace this."""
    return unicodedata.normalize("NFKC", text).casefold()


def decision_fields(text: str, policy: Policy = DEFAULT_POLICY) -> dict:
    """The engine's decision on a text, as CommentVersion stores it (M2). The engine is
    pure and fast (thousands of comments a second), so every version is decided as it is
    archived and none waits for a later pass. Per-agency policies come with M3/M4."""
    decision = decide(text, policy)
    return {
        "policy_name": policy.name,
        "decision_action": decision.action,
        "decision_category": decision.category,
        "decision_rule": decision.rule,
        "decision_start": decision.start,
        "decision_end": decision.end,
        "decision_explanation": decision.explanation,
    }


def storable(value):
    """A platform payload as JSONB accepts it: repaired strings, long ones cut, no NaN.

    Almost every payload is storable as it came; one C-speed dump and scan of the whole
    payload proves it and spares walking it string by string (the walk was a sixth of
    the archiving time of a busy channel)."""
    try:
        dumped = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return _storable(value)
    # A lone surrogate stays in the dump as it is; NUL is always written as \u0000 (a
    # comment that spells "\u0000" out only takes the slow path). No string can be
    # longer than the whole dump.
    if (
        len(dumped) <= settings.SMC_COMMENT_MAX_CHARS
        and "\\u0000" not in dumped
        and not _UNSTORABLE.search(dumped)
    ):
        return value
    return _storable(value)


def _storable(value):
    limit = settings.SMC_COMMENT_MAX_CHARS
    if isinstance(value, str):
        value = _UNSTORABLE.sub("\ufffd", value)
        return value if len(value) <= limit else value[:limit] + _CUT_MARK
    if isinstance(value, dict):
        return {str(_storable(str(k))): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return _storable(str(value))


def _clean(value, limit: int = 1000) -> str:
    return _UNSTORABLE.sub("\ufffd", value or "")[:limit]


# --- Archiving ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveOutcome:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    version_ids: tuple[int, ...] = ()


def _ingest_actor(channel: Channel, label: str = "comment ingest"):
    return system_actor(agency_id=channel.agency_id, agency_label=channel.agency.name, label=label)


def _lock_poll_state(channel: Channel) -> ChannelPoll:
    """The channel's polling row, locked: every archive write of one channel queues here,
    so a poll and a webhook never number versions of the same comment twice."""
    ChannelPoll.objects.bulk_create(
        [ChannelPoll(agency_id=channel.agency_id, channel=channel,
                     interval_s=settings.SMC_COMMENT_POLL_SECONDS)],
        ignore_conflicts=True,
    )  # fmt: skip
    return ChannelPoll.objects.select_for_update().get(channel=channel)


def _version_kind(comment: Comment, text: ArchivedText, is_hidden: bool) -> str | None:
    """What changed since the newest version; None when nothing did. Only the text and
    its visibility make a version: a re-read of the same comment is no news."""
    if text.text != comment.text or comment.is_deleted:
        return CommentVersion.Kind.EDITED
    if is_hidden != comment.is_hidden:
        return CommentVersion.Kind.HIDDEN if is_hidden else CommentVersion.Kind.UNHIDDEN
    return None


@transaction.atomic
def archive_comments(*, channel: Channel, batch: CommentBatch) -> ArchiveOutcome:
    """M1: archive a batch read from the platform, then move the channel's cursor to the
    batch's, in this one transaction. Oversized and invalid text is stored repaired and
    recorded; it never stops its neighbours from being archived."""
    state = _lock_poll_state(channel)
    now = timezone.now()
    incoming: dict[str, IncomingComment] = {}
    for comment in batch.comments:
        incoming[_clean(comment.platform_comment_id, 2000)] = comment
    existing: dict[str, Comment] = {}
    ids = list(incoming)
    for start in range(0, len(ids), _IN_CHUNK):
        for comment in Comment.objects.select_for_update().filter(
            channel=channel, platform_comment_id__in=ids[start : start + _IN_CHUNK]
        ):
            existing[comment.platform_comment_id] = comment

    created, changed, pending, problems = [], [], [], []
    unchanged = 0
    for platform_id, seen in incoming.items():
        text = archived_text(seen.text)
        comment = existing.get(platform_id)
        if comment is None:
            kind = CommentVersion.Kind.CREATED
            comment = Comment(
                agency_id=channel.agency_id,
                channel=channel,
                platform_comment_id=platform_id,
                platform_post_id=_clean(seen.platform_post_id, 2000),
                parent_id=_clean(seen.parent_id, 2000),
                author_id=_clean(seen.author_id),
                author_name=_clean(seen.author_name),
                author_handle=_clean(seen.author_handle),
                created_at=seen.created_at or now,
                first_seen_at=now,
                version_count=0,
            )
            created.append(comment)
        else:
            kind = _version_kind(comment, text, seen.is_hidden)
            if kind is None:
                unchanged += 1
                continue
            changed.append(comment)
        comment.text, comment.is_hidden, comment.is_deleted = text.text, seen.is_hidden, False
        comment.version_count += 1
        comment.changed_at = now
        version = CommentVersion(
            agency_id=channel.agency_id,
            seq=comment.version_count,
            kind=kind,
            seen_at=now,
            text=text.text,
            normalized_text=normalized(text.text),
            text_length=text.length,
            text_sha256=text.sha256,
            text_truncated=text.truncated,
            text_repaired=text.repaired,
            is_hidden=seen.is_hidden,
            raw=storable(seen.raw),
            **decision_fields(text.text),
        )
        pending.append((comment, version))
        if text.truncated or text.repaired:
            problems.append((comment, text))

    Comment.objects.bulk_create(created, batch_size=1000)
    Comment.objects.bulk_update(
        changed, ["text", "is_hidden", "is_deleted", "version_count", "changed_at"],
        batch_size=1000,
    )  # fmt: skip
    for comment, version in pending:
        version.comment = comment
    versions = CommentVersion.objects.bulk_create(
        [version for _comment, version in pending], batch_size=1000
    )
    for comment, text in problems:
        _record_text_problem(channel, comment, text)

    # Only now, with the comments written in this transaction, does the cursor move: if
    # the commit never happens the next poll starts from the old cursor (M1).
    if batch.cursor is not None and batch.cursor != state.cursor:
        state.cursor = batch.cursor
        state.save(update_fields=["cursor"])
    version_ids = tuple(v.pk for v in versions)
    if version_ids:
        transaction.on_commit(lambda: on_archived(channel_id=channel.pk, version_ids=version_ids))
    return ArchiveOutcome(len(created), len(changed), unchanged, version_ids)


def _record_text_problem(channel: Channel, comment: Comment, text: ArchivedText) -> None:
    details = {
        "length": text.length,
        "sha256": text.sha256,
        "kept": len(text.text),
        "platform_comment_id": comment.platform_comment_id,
    }
    if text.truncated:
        record_event(actor=_ingest_actor(channel), action=Action.COMMENT_TRUNCATED,
                     subject=comment, as_channel=channel, details=details,
                     reason=f"The comment has {text.length} characters; the archive keeps "
                            f"{settings.SMC_COMMENT_MAX_CHARS}.")  # fmt: skip
    if text.repaired:
        record_event(actor=_ingest_actor(channel), action=Action.COMMENT_REPAIRED,
                     subject=comment, as_channel=channel, details=details,
                     reason="The text held characters that are not valid UTF-8; each was "
                            "replaced with U+FFFD.")  # fmt: skip


def on_archived(*, channel_id: int, version_ids: tuple[int, ...]) -> None:
    """Called after a batch of versions commits: the hook where decisions (M2–M4) will
    start. It does nothing yet; when it does, it must queue tasks with these ids rather
    than act here, so archiving never waits on a decision."""


@transaction.atomic
def archive_removal(*, channel: Channel, platform_comment_id: str, raw: dict) -> Comment | None:
    """M1: the platform says a comment was deleted: a new version says so; the archived
    versions stay. A comment SMC never saw is not invented from a notification."""
    _lock_poll_state(channel)
    comment = (
        Comment.objects.select_for_update()
        .filter(channel=channel, platform_comment_id=platform_comment_id)
        .first()
    )
    if comment is None or comment.is_deleted:
        return comment
    now = timezone.now()
    comment.version_count += 1
    comment.is_deleted, comment.changed_at = True, now
    comment.save(update_fields=["version_count", "is_deleted", "changed_at"])
    version = CommentVersion.objects.create(
        agency_id=channel.agency_id, comment=comment, seq=comment.version_count,
        kind=CommentVersion.Kind.DELETED, seen_at=now, text=comment.text,
        normalized_text=normalized(comment.text), text_length=len(comment.text),
        text_sha256=hashlib.sha256(comment.text.encode()).hexdigest(),
        is_hidden=comment.is_hidden, raw=storable(raw),
    )  # fmt: skip
    transaction.on_commit(lambda: on_archived(channel_id=channel.pk, version_ids=(version.pk,)))
    return comment


# --- Polling ------------------------------------------------------------------------------

POLL_INTERVAL_BOUNDS_S = (10, 86400)


class IngestError(SmcError):
    pass


@transaction.atomic
def set_poll_interval(*, administrator, channel: Channel, seconds: int) -> ChannelPoll:
    """M1: an administrator sets how often a channel's comments are read (within the
    platform's limits, a busy Page more often, a quiet account less). Raises IngestError."""
    low, high = POLL_INTERVAL_BOUNDS_S
    if not administrator.is_administrator:
        raise IngestError(_("Only an administrator can change how often comments are read."))
    if not low <= seconds <= high:
        raise IngestError(
            _("Choose between %(low)s seconds and %(high)s seconds.") % {"low": low, "high": high}
        )
    state = _lock_poll_state(channel)
    before = state.interval_s
    state.interval_s = seconds
    state.next_poll_at = min(state.next_poll_at, timezone.now() + timedelta(seconds=seconds))
    state.save(update_fields=["interval_s", "next_poll_at"])
    record_event(actor=administrator, action=Action.POLL_INTERVAL_CHANGED, subject=channel,
                 details={"from_s": before, "to_s": seconds})  # fmt: skip
    return state


@dataclass(frozen=True)
class PollOutcome:
    archived: ArchiveOutcome | None = None
    error: str = ""
    skipped: bool = False


def poll_channel(*, channel: Channel, lease_token: str = "") -> PollOutcome:
    """M1: read the channel's new comments from its cursor and archive them.

    A platform failure archives nothing, keeps the cursor and backs the channel off
    (the platform's wait when it gives one); other channels are not held up. With a
    `lease_token`, the poll runs only if that lease still holds the channel."""
    state = ChannelPoll.objects.filter(channel=channel).first()
    if state is None:
        with transaction.atomic():
            state = _lock_poll_state(channel)
    if lease_token and state.lease_token != lease_token:
        return PollOutcome(skipped=True)
    started = timezone.now()
    # Facebook reads from a time watermark, so a changed old comment is found only by
    # reading the whole watched window again.
    full_read = state.full_read_requested and channel.platform == Platform.FACEBOOK
    since = None if full_read else state.cursor
    try:
        batch = call_platform(channel, lambda adapter: adapter.fetch_comments(since=since))
    except (PlatformError, ChannelError, CredentialUnreadable) as error:
        _poll_failed(channel, error)
        return PollOutcome(error=getattr(error, "reason", None) or str(error))
    except Exception as error:
        # An answer the adapter could not make sense of: back off like any failure, so
        # the channel is retried later, and let the error reach the log.
        _poll_failed(channel, error)
        raise
    try:
        with transaction.atomic():
            archived = archive_comments(channel=channel, batch=batch)
            _poll_succeeded(channel, started=started, full_read=full_read, lease_token=lease_token)
    except Exception as error:
        # Nothing of the batch was stored and the cursor did not move: back off, then
        # read the same batch again. The error itself goes on to the log.
        _poll_failed(channel, error)
        raise
    touch_sync(channel=channel)  # the channel page shows when comments were last read
    return PollOutcome(archived=archived)


def _poll_succeeded(
    channel: Channel, *, started: datetime, full_read: bool, lease_token: str
) -> None:
    state = ChannelPoll.objects.select_for_update().get(channel=channel)
    now = timezone.now()
    # A webhook hint that came while this poll ran may be news this poll did not read.
    hinted = state.hinted_at is not None and state.hinted_at > started
    state.next_poll_at = now if hinted else now + timedelta(seconds=state.interval_s)
    if full_read and not hinted:
        state.full_read_requested = False
    state.last_polled_at = state.last_success_at = now
    state.last_error, state.consecutive_failures = "", 0
    # A poll that outlived its lease must not end the lease of the poll that took over.
    if not lease_token or state.lease_token in ("", lease_token):
        state.leased_until, state.lease_token = None, ""
    state.save()


@transaction.atomic
def _poll_failed(channel: Channel, error: Exception) -> None:
    state = _lock_poll_state(channel)
    now = timezone.now()
    state.consecutive_failures += 1
    wait = backoff(state.consecutive_failures)
    if isinstance(error, RetryLater) and error.retry_after:
        wait = max(wait, error.retry_after)
    if isinstance(error, NeedsReconnect | ChannelError | CredentialUnreadable):
        # The channel is marked; it is polled again once an administrator reconnects it.
        wait = max(wait, state.interval_s)
    state.next_poll_at = now + timedelta(seconds=wait)
    state.last_polled_at = now
    state.last_error = (getattr(error, "reason", None) or str(error) or type(error).__name__)[:2000]
    state.leased_until, state.lease_token = None, ""
    state.save()


@dataclass(frozen=True)
class Claim:
    agency_id: int
    channel_id: int
    lease_token: str


def claim_due_channels(
    *, now: datetime | None = None, per_platform: int | None = None
) -> list[Claim]:
    """M1 scale: beat's share of polls, fair across every channel of every agency.

    Per platform, the channels longest overdue come first, whoever owns them, at most
    `per_platform` a tick (SKIP LOCKED: two beats never hand out one channel twice).
    Every poll moves its channel's next_poll_at forward, so every channel reaches the
    front in turn: none starves. A rate-limited channel waits out its limit alone."""
    now = now or timezone.now()
    limit = per_platform or settings.SMC_COMMENT_POLLS_PER_TICK
    token = secrets.token_hex(8)
    claims: list[Claim] = []
    # Beat schedules every agency's channels in one fair queue: fairness across agencies
    # needs to see them all. Only ids leave this block; each poll runs in its agency scope.
    with every_agency():
        _add_missing_poll_states(now)
        for platform in Platform.values:
            with transaction.atomic():
                due = list(
                    ChannelPoll.objects.select_for_update(skip_locked=True, of=("self",))
                    .filter(
                        channel__platform=platform,
                        channel__status=Channel.Status.CONNECTED,
                        next_poll_at__lte=now,
                    )
                    .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
                    .exclude(channel__rate_limited_until__gt=now)
                    .order_by("next_poll_at", "pk")
                    .values_list("pk", "agency_id", "channel_id")[:limit]
                )
                ChannelPoll.objects.filter(pk__in=[row[0] for row in due]).update(
                    leased_until=now + timedelta(seconds=LEASE_S), leased_at=now, lease_token=token
                )
            claims += [Claim(agency_id, channel_id, token) for _, agency_id, channel_id in due]
    return claims


def _add_missing_poll_states(now: datetime) -> None:
    """A newly connected channel gets its polling row, due at once."""
    missing = Channel.objects.filter(
        status=Channel.Status.CONNECTED, poll__isnull=True
    ).values_list("agency_id", "pk")
    ChannelPoll.objects.bulk_create(
        [ChannelPoll(agency_id=agency_id, channel_id=channel_id, next_poll_at=now,
                     interval_s=settings.SMC_COMMENT_POLL_SECONDS)
         for agency_id, channel_id in missing],
        ignore_conflicts=True,
    )  # fmt: skip


def hint_channel(*, channel: Channel, full_read: bool = False) -> str:
    """A webhook says the channel has news: poll it now, or right after the running poll
    (M1: the webhook is the fast path, polling the backstop). Returns a lease token when
    this call claimed the channel, so the caller queues the poll; "" when a poll is
    already under way, which then polls again as soon as it ends. `full_read`: a known
    comment changed, so the next poll re-reads the whole watched window."""
    now = timezone.now()
    token = secrets.token_hex(8)
    with transaction.atomic():
        _lock_poll_state(channel)
        changes = {"full_read_requested": True} if full_read else {}
        ChannelPoll.objects.filter(channel=channel).update(
            hinted_at=now, next_poll_at=Least("next_poll_at", now), **changes
        )
        claimed = (
            ChannelPoll.objects.filter(channel=channel)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .update(leased_until=now + timedelta(seconds=LEASE_S), leased_at=now,
                    lease_token=token)
        )  # fmt: skip
    return token if claimed else ""


# --- Facebook webhooks (§1.4) -------------------------------------------------------------


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    # (agency_id, channel_id, lease_token) to poll; (agency_id, channel_id, comment_id,
    # post_id, time) removed. Ids only: tasks re-read what they need.
    polls: tuple[tuple[int, int, str], ...] = ()
    removals: tuple[tuple[int, int, str, str, int], ...] = ()
    # (agency_id, channel_id, comment_id, post_id) of changed comments to read one by one.
    reads: tuple[tuple[int, int, str, str], ...] = ()


# A change to a comment SMC may have archived long ago (an edit, a hide) is read by id from
# Facebook: one call instead of re-reading the whole watched window. Bounded per channel
# and delivery, so a flood of edit notices cannot become a flood of reads; past the bound
# the channel's next poll re-reads the window once instead.
READS_PER_DELIVERY = 20
_CHANGE_VERBS = frozenset({"edited", "edit", "hide", "unhide"})


def _installation_actor():
    return system_actor(agency_id=None, agency_label="", label="facebook webhook")


def _refuse(action: str, reason: str, body: bytes) -> None:
    record_event(actor=_installation_actor(), action=action, outcome=Outcome.DENIED,
                 reason=reason, details={"bytes": len(body),
                                         "sha256": hashlib.sha256(body).hexdigest()})  # fmt: skip


def refuse_oversized_webhook(*, size: int) -> WebhookAnswer:
    """A delivery larger than the site accepts (DATA_UPLOAD_MAX_MEMORY_SIZE) is refused
    unread, and recorded."""
    record_event(
        actor=_installation_actor(),
        action=Action.WEBHOOK_MALFORMED,
        outcome=Outcome.DENIED,
        details={"bytes": size},
        reason="The notification is larger than SMC accepts; it was not read.",
    )
    return WebhookAnswer(status=413)


def _feed_changes(event) -> list[tuple[str, dict]]:
    """(page id, change value) of each comment change; ValueError if the shape is wrong."""
    if not isinstance(event, dict) or event.get("object") != "page":
        raise ValueError("not a Page event")
    entries = event.get("entry")
    if not isinstance(entries, list):
        raise ValueError("no entry list")
    found = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes", []), list):
            raise ValueError("an entry is not an object with a change list")
        page_id = str(entry.get("id") or "")
        for change in entry.get("changes", []):
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                raise ValueError("a change has no value")
            value = change["value"]
            if change.get("field") == "feed" and value.get("item") == "comment" and page_id:
                found.append((page_id, value))
    return found


def receive_facebook_webhook(*, body: bytes, signature: str | None) -> WebhookAnswer:
    """§1.4: a Facebook feed delivery. The signature is checked before the body is read;
    a bad signature (403) or an unreadable body (400) is refused and recorded. A good
    one becomes hints: each Page's channels are polled soon (the webhook is a hint; the
    comment is re-read from Facebook), and each removed comment gets a deletion version."""
    app_secret = settings.SMC_OAUTH_CLIENTS["facebook"][1]
    if not app_secret or not verify_webhook_signature(app_secret, body, signature):
        reason = "The X-Hub-Signature-256 header is missing or does not match the body."
        _refuse(Action.WEBHOOK_SIGNATURE_REFUSED, reason, body)
        return WebhookAnswer(status=403)
    try:
        changes = _feed_changes(json.loads(body))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        _refuse(Action.WEBHOOK_MALFORMED, f"The notification could not be read: {error}", body)
        return WebhookAnswer(status=400)
    pages = sorted({page_id for page_id, _value in changes})
    # A delivery names a Facebook Page, not an agency: find every agency channel of those
    # Pages. Only ids leave this block; the work runs in each channel's agency scope.
    with every_agency():
        channels = list(
            Channel.objects.filter(
                platform=Platform.FACEBOOK,
                platform_account_id__in=pages,
                status=Channel.Status.CONNECTED,
            )
        )
    polls, removals, reads = [], [], []
    for channel in channels:
        mine = [v for page_id, v in changes if page_id == channel.platform_account_id]
        verbs = {v.get("verb") for v in mine}
        changed = [v for v in mine if v.get("verb") in _CHANGE_VERBS and v.get("comment_id")]
        # An edit, hide or unhide changes a comment that may be older than the cursor: it
        # is read by id; a window re-read only for what cannot be (too many, unknown verb).
        full_read = len(changed) > READS_PER_DELIVERY or bool(
            verbs - {"add", "remove"} - _CHANGE_VERBS
        )
        if len(changed) <= READS_PER_DELIVERY:
            reads += [(channel.agency_id, channel.pk, str(v["comment_id"]),
                       str(v.get("post_id") or "")) for v in changed]  # fmt: skip
        with agency_scope(channel.agency_id):
            token = hint_channel(channel=channel, full_read=full_read)
        if token:
            polls.append((channel.agency_id, channel.pk, token))
        for page_id, value in changes:
            if page_id == channel.platform_account_id and value.get("verb") == "remove":
                removals.append((channel.agency_id, channel.pk, str(value.get("comment_id", "")),
                                 str(value.get("post_id", "")),
                                 _unix(value.get("created_time"))))  # fmt: skip
    answer = WebhookAnswer(
        status=200, polls=tuple(polls), removals=tuple(removals), reads=tuple(reads)
    )
    transaction.on_commit(lambda: _queue_webhook_work(answer))
    return answer


def _queue_webhook_work(answer: WebhookAnswer) -> None:
    """The delivery is answered at once; workers poll and archive, given ids only."""
    from moderation.tasks import archive_hinted_comment, archive_removal
    from moderation.tasks import poll_channel as poll_task

    for agency_id, channel_id, token in answer.polls:
        poll_task.delay(agency_id=agency_id, channel_id=channel_id, lease_token=token)
    for agency_id, channel_id, comment_id, post_id in answer.reads:
        archive_hinted_comment.delay(agency_id=agency_id, channel_id=channel_id,
                                     platform_comment_id=comment_id, post_id=post_id)  # fmt: skip
    for agency_id, channel_id, comment_id, post_id, time in answer.removals:
        archive_removal.delay(
            agency_id=agency_id,
            channel_id=channel_id,
            platform_comment_id=comment_id,
            post_id=post_id,
            time=time,
        )


def archive_hinted_comment(
    *, channel: Channel, platform_comment_id: str, post_id: str = ""
) -> ArchiveOutcome | None:
    """§1.4: a notification named a changed comment; archive Facebook's own copy of it,
    never the notification's text. The cursor does not move (cursor None). When
    Facebook cannot be asked now, the channel's next poll re-reads its whole watched
    window instead, so the change is not missed. None when nothing was archived."""
    try:
        seen = call_platform(
            channel, lambda adapter: adapter.read_comment(platform_comment_id, post_id=post_id)
        )
    except (PlatformError, ChannelError, CredentialUnreadable):
        token = hint_channel(channel=channel, full_read=True)
        if token:
            from moderation.tasks import poll_channel as poll_task

            transaction.on_commit(lambda: poll_task.delay(
                agency_id=channel.agency_id, channel_id=channel.pk, lease_token=token))  # fmt: skip
        return None
    if seen is None:  # gone: the removal notice (or the next poll) records that
        return None
    return archive_comments(channel=channel, batch=CommentBatch(comments=[seen], cursor=None))


def _unix(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return int(datetime.now(UTC).timestamp())
