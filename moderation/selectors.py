"""Reading archived comments and polling state (M1)."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from moderation.models import ChannelPoll, Comment, CommentVersion
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


def get_comment_for(viewer, comment_id: int) -> Comment:
    comment = (
        Comment.objects.filter(agency=viewer.agency, pk=comment_id)
        .select_related("channel")
        .first()
    )
    if comment is None:
        raise NotFound(_("That comment does not exist."))
    return comment
