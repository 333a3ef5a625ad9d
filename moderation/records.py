"""Comments as public records (R3, R4): every archived version, searchable and exported by
the auditor. Registered with the record from ModerationConfig.ready(); audit knows
nothing of these tables (audit.sources)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.contrib.postgres.search import SearchVector
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import SEARCH_CONFIG
from audit.search import text_condition
from audit.selectors import start_of
from audit.sources import Hit, Record, RecordSource, Terms, Version, register_source
from moderation.models import Comment, CommentVersion
from smc.errors import NotFound

EXCERPT_CHARS = 200


def _matching_versions(agency_id: int, terms: Terms) -> QuerySet[CommentVersion]:
    found = CommentVersion.objects.filter(agency=agency_id)
    if terms.person:
        found = found.filter(comment__author_name__iexact=terms.person) | found.filter(
            comment__author_handle__iexact=terms.person
        )
    if terms.channel:
        found = found.filter(comment__channel__name__iexact=terms.channel)
    if terms.since:
        found = found.filter(seen_at__gte=start_of(terms.since))
    if terms.until:
        found = found.filter(seen_at__lt=start_of(terms.until + timedelta(days=1)))
    if terms.query:
        # Versions are far fewer than log entries; the vector is computed per query.
        found = found.annotate(
            words=SearchVector("text", "comment__author_name", config=SEARCH_CONFIG)
        ).filter(text_condition(terms.query, vector="words", document="text"))
    return found


def search_comment_versions(agency_id: int, terms: Terms, limit: int) -> list[Hit]:
    found = (
        _matching_versions(agency_id, terms)
        .select_related("comment__channel")
        .order_by("-seen_at", "-pk")[:limit]
    )
    return [
        Hit(
            record_id=str(version.pk),
            when=version.seen_at,
            title=_("Comment by %(author)s, version %(seq)d (%(kind)s)")
            % {
                "author": version.comment.author_name or version.comment.author_handle or "?",
                "seq": version.seq,
                "kind": version.get_kind_display(),
            },
            excerpt=version.text[:EXCERPT_CHARS],
            person=version.comment.author_name,
            channel=version.comment.channel.name,
        )
        for version in found
    ]


def get_comment_version(agency_id: int, record_id: str) -> Record:
    if not record_id.isdigit():
        raise NotFound(_("That comment does not exist."))
    version = (
        CommentVersion.objects.filter(agency=agency_id, pk=int(record_id))
        .select_related("comment__channel")
        .first()
    )
    if version is None:
        raise NotFound(_("That comment does not exist."))
    comment: Comment = version.comment
    versions = CommentVersion.objects.filter(agency=agency_id, comment=comment).order_by("seq")
    return Record(
        record_id=record_id,
        title=_("Comment %(id)s on %(channel)s, version %(seq)d")
        % {"id": comment.platform_comment_id, "channel": comment.channel.name, "seq": version.seq},
        facts=[
            (_("Channel"), comment.channel.name),
            (_("Written by"), f"{comment.author_name} {comment.author_handle}".strip()),
            (_("Written at"), comment.created_at.isoformat()),
            (_("Platform's comment id"), comment.platform_comment_id),
            (_("This version"), f"{version.seq} ({version.get_kind_display()})"),
            (_("Seen at"), version.seen_at.isoformat()),
            (_("Decision"), version.decision_explanation or version.decision_action or "—"),
        ],
        versions=[
            Version(
                seq=v.seq,
                kind=v.get_kind_display(),
                when=v.seen_at,
                text=v.text,
                sha256=v.text_sha256,
            )
            for v in versions
        ],  # fmt: skip
        object_type=Comment._meta.label_lower,
        object_id=str(comment.pk),
    )


def export_comment_versions(agency_id: int, terms: Terms) -> Iterator[dict]:
    rows = (
        _matching_versions(agency_id, terms)
        .order_by("pk")
        .values(
            "pk",
            "seq",
            "kind",
            "seen_at",
            "text",
            "text_length",
            "text_sha256",
            "text_truncated",
            "is_hidden",
            "decision_action",
            "decision_rule",
            "decision_explanation",
            "comment__platform_comment_id",
            "comment__channel__name",
            "comment__author_name",
            "comment__author_handle",
            "comment__created_at",
        )  # fmt: skip
    )
    for row in rows.iterator(chunk_size=2000):
        yield {key.replace("comment__", "comment_"): value for key, value in row.items()}


def register_comment_versions() -> None:
    register_source(
        RecordSource(
            key="comments",
            label=gettext_lazy("Comments (every version)"),
            search=search_comment_versions,
            get=get_comment_version,
            export_rows=export_comment_versions,
        )
    )
