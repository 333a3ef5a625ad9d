"""Publishing (P3, P4): from an approved post to one live post per channel, exactly once."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from posting.models import Post, Publication


@transaction.atomic
def release_for_publishing(*, post: Post) -> list[Publication]:
    """The post may go: its waiting publications are queued, due at its publish time
    (now when it has none). Called inside the approval's (or the trusted author's
    submission's) transaction, so an approval and its queueing never part."""
    due_at = post.publish_at or timezone.now()
    publications = list(
        Publication.objects.select_for_update()
        .filter(agency=post.agency, post=post, status=Publication.Status.WAITING)
        .order_by("pk")
    )
    for publication in publications:
        publication.status = Publication.Status.QUEUED
        publication.due_at = due_at
        publication.updated_at = timezone.now()
        publication.save(update_fields=["status", "due_at", "updated_at"])
    if publications:
        post.status = Post.Status.SCHEDULED
        post.updated_at = timezone.now()
        post.save(update_fields=["status", "updated_at"])
    return publications
