"""Reading archived comments, polling state, and the review queue (M1–M5)."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from moderation.models import (
    ChannelPoll,
    Comment,
    CommentVersion,
    Hold,
    ModerationAction,
)
from platforms.models import Channel
from smc.errors import NotFound


def channel_for_ingest(channel_id: int) -> Channel | None:
    """Inside a task's agency scope: the channel, if it still exists there."""
    return Channel.objects.filter(pk=channel_id).select_related("agency").first()


def channel_comments(*, channel: Channel) -> QuerySet[Comment]:
    return Comment.objects.filter(agency=channel.agency_id, channel=channel).order_by(
        "-created_at", "pk"
    )


def comment_versions(*, comment: Comment) -> QuerySet[CommentVersion]:
    return CommentVersion.objects.filter(agency=comment.agency_id, comment=comment).order_by("seq")


def poll_state(*, channel: Channel) -> ChannelPoll | None:
    return ChannelPoll.objects.filter(agency=channel.agency_id, channel=channel).first()


def comments_for(viewer, *, channel: Channel | None = None) -> QuerySet[Comment]:
    """The viewer's agency's archived comments, newest first; one channel's if given."""
    found = Comment.objects.filter(agency=viewer.agency)
    if channel is not None:
        found = found.filter(channel=channel)
    # The decision on the newest version, for the list (one subquery, no per-row query).
    newest = CommentVersion.objects.filter(agency=viewer.agency, comment=OuterRef("pk")).order_by(
        "-seq"
    )
    return (
        found.select_related("channel")
        .annotate(
            decision_category=Subquery(newest.values("decision_category")[:1]),
            decision_rule=Subquery(newest.values("decision_rule")[:1]),
        )
        .order_by("-created_at", "pk")
    )


# --- Review queue, comment page, alerts (M3–M5) ---------------------------------------------


def held_comments(*, viewer) -> QuerySet[Hold]:
    """The review queue: comments waiting for a reviewer, oldest first (threats first)."""
    return (
        Hold.objects.filter(agency=viewer.agency, state=Hold.State.HELD)
        .select_related("comment__channel", "version")
        .order_by("-escalated", "created_at", "pk")
    )


def get_comment_for(viewer, comment_id: int) -> Comment:
    comment = (
        Comment.objects.filter(agency=viewer.agency, pk=comment_id)
        .select_related("channel")
        .first()
    )
    if comment is None:
        raise NotFound(_("That comment does not exist."))
    return comment


def comment_trail(*, comment: Comment) -> dict:
    """Everything done about a comment, for its page: the appeal trail (M5)."""
    return {
        "versions": list(comment_versions(comment=comment)),
        "holds": list(
            Hold.objects.filter(agency=comment.agency_id, comment=comment)
            .select_related("decided_by__user")
            .order_by("created_at", "pk")
        ),
        "actions": list(
            ModerationAction.objects.filter(agency=comment.agency_id, comment=comment)
            .select_related("requested_by__user")
            .order_by("requested_at", "pk")
        ),
    }


def recent_actions(*, viewer, limit: int = 50) -> list[ModerationAction]:
    """The newest hides and deletions, so a reviewer can open one and restore it (M5)."""
    return list(
        ModerationAction.objects.filter(agency=viewer.agency, kind__in=("hide", "delete"))
        .select_related("comment__channel")
        .order_by("-requested_at", "-pk")[:limit]
    )
