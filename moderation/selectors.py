"""Reading archived comments and polling state (M1)."""

from __future__ import annotations

from django.db.models import QuerySet

from moderation.models import ChannelPoll, Comment, CommentVersion
from platforms.models import Channel


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
