"""Comments as records (R5, records requests): registered with audit from apps.py.

Two kinds, because the law treats them differently: a comment that needed no action
(every version allowed by the policy, never hidden or deleted) goes 90 days after its
last change by default; one that was acted on is kept like a moderation decision
(SMC_RETENTION_DEFAULT_DAYS, at least a year). Purging a comment removes its versions
and the comment; the record keeps what was done about it.

Also gives audit the policy engine's personal-data detector, for redacting the copies
of comments that go out in answer to a records request.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q

from audit.requests import register_personal_data_finder
from audit.retention import Candidate, RecordKind, RequestedRecord, register_record_kind
from moderation.engine import personal_data
from moderation.engine.normalize import normalize
from moderation.models import Comment, CommentVersion, Hold, ModerationAction


def _comments(acted_on: bool):
    # Built per call: the scoped manager needs the agency scope the caller opened.
    acted = CommentVersion.objects.filter(comment=OuterRef("pk")).exclude(
        decision_action__in=("", "allow")
    )
    found = Comment.objects.annotate(acted_on=Exists(acted))
    quiet = Q(acted_on=False, is_hidden=False, is_deleted=False)
    return found.exclude(quiet) if acted_on else found.filter(quiet)


def _candidate(comment: Comment) -> Candidate:
    return Candidate(
        record_id=comment.pk,
        occurred_at=comment.changed_at,
        channel_id=comment.channel_id,
        people=tuple(
            p for p in (comment.author_handle, comment.author_name, comment.author_id) if p
        ),
    )


def _expired(acted_on: bool):
    def expired(cutoff, after_id: int, limit: int) -> list[Candidate]:
        found = _comments(acted_on).filter(changed_at__lt=cutoff, pk__gt=after_id)
        return [_candidate(c) for c in found.order_by("pk")[:limit]]

    return expired


def _describe(acted_on: bool):
    def describe(ids: list[int]) -> list[Candidate]:
        return [_candidate(c) for c in _comments(acted_on).filter(pk__in=ids)]

    return describe


@transaction.atomic
def _purge(ids: list[int]) -> int:
    """A comment past its period goes whole: what SMC did about it, its versions, itself.
    Versions are append-only for everyone (migration 0005); the one way to remove them is
    the database function made for a purge (0006)."""
    ModerationAction.objects.filter(comment_id__in=ids).delete()
    Hold.objects.filter(comment_id__in=ids).delete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT moderation_purge_comment_versions(%s::bigint[])", [list(ids)])
    deleted, _ = Comment.objects.filter(pk__in=ids).delete()
    return deleted


def _records(acted_on: bool):
    def records(scope):
        found = _comments(acted_on).filter(changed_at__gte=scope.since, created_at__lt=scope.until)
        if scope.channel_id:
            found = found.filter(channel_id=scope.channel_id)
        if scope.person:
            found = found.filter(
                Q(author_handle__iexact=scope.person) | Q(author_name__iexact=scope.person)
            )
        for comment in (
            found.order_by("created_at", "pk").prefetch_related("versions").iterator(chunk_size=500)
        ):
            versions = [
                {
                    "seq": v.seq,
                    "kind": v.kind,
                    "seen_at": v.seen_at.isoformat(),
                    "text": v.text,
                    "text_sha256": v.text_sha256,
                    "is_hidden": v.is_hidden,
                    "decision": v.decision_action,
                    "rule": v.decision_rule,
                }
                for v in comment.versions.all()
            ]
            yield RequestedRecord(
                kind=f"moderation.comment.{'acted' if acted_on else 'quiet'}",
                record_id=comment.pk,
                occurred_at=comment.created_at,
                label=f"Comment {comment.platform_comment_id}",
                fields={
                    "channel_id": comment.channel_id,
                    "platform_comment_id": comment.platform_comment_id,
                    "platform_post_id": comment.platform_post_id,
                    "author_name": comment.author_name,
                    "author_handle": comment.author_handle,
                    "created_at": comment.created_at.isoformat(),
                    "text": comment.text,
                    "is_hidden": comment.is_hidden,
                    "is_deleted": comment.is_deleted,
                    "versions": versions,
                },
                redactable=("text", *(f"versions.{i}.text" for i in range(len(versions)))),
            )

    return records


def personal_data_spans(text: str) -> list[tuple[int, int, str]]:
    """Every span of personal data the engine finds, not just the first: each found span
    is blanked and the text searched again (spans stay offsets into the original)."""
    spans, work = [], text
    for _ in range(100):
        norm = normalize(work)
        hit = personal_data.find_identity(norm) or personal_data.find_contact(norm)
        if hit is None or hit.end <= hit.start:
            break
        spans.append((hit.start, hit.end, hit.rule))
        work = work[: hit.start] + " " * (hit.end - hit.start) + work[hit.end :]
    return spans


def register() -> None:
    for acted_on, name, label, default_days, minimum in (
        (False, "moderation.comment.quiet", "Public comments that needed no action", 90, 1),
        (True, "moderation.comment.acted", "Public comments acted on", None, 365),
    ):
        register_record_kind(
            RecordKind(
                name=name,
                label=label,
                expired=_expired(acted_on),
                purge=_purge,
                describe=_describe(acted_on),
                default_days=default_days,
                minimum_days=minimum,
                records=_records(acted_on),
            )
        )
    register_personal_data_finder(personal_data_spans)
