"""Submission (P2) — a MINIMAL stand-in written by the compose branch so its Submit button
and tests work. The approval branch owns this module; at merge its version replaces this
one whole (it decides who needs approval, routes to supervisors, notifies)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import Action
from audit.services import record_event
from posting import selectors
from posting.checks import failures
from posting.models import Post, PostRevision
from posting.services import PostingError
from posting.services.drafts import refresh_checks


@transaction.atomic
def submit_post(*, author, post: Post) -> Post:
    post = Post.objects.select_for_update().get(agency=post.agency, pk=post.pk)
    if post.author_id != author.pk or not post.is_editable_by_author:
        raise PostingError(_("Only the author can send this draft."), code="not_author")
    channels = selectors.post_channels(post)
    if not channels:
        raise PostingError(_("Choose at least one channel before sending."), code="no_channel")
    if not post.text.strip() and not selectors.active_photos(post).exists():
        raise PostingError(_("Write something or add a photo before sending."), code="empty")
    refresh_checks(post)
    post.approval_reasons = [r["message"] for r in failures(post.check_results)]
    post.status = Post.Status.AWAITING_APPROVAL
    post.submitted_at = post.awaiting_since = post.updated_at = timezone.now()
    post.save()
    PostRevision.objects.create(
        agency=post.agency, post=post, number=post.revision, kind=PostRevision.Kind.SUBMITTED,
        text=post.text, location=post.location, channel_ids=[c.pk for c in channels],
        photo_ids=list(selectors.active_photos(post).values_list("pk", flat=True)),
        edited_by=author,
    )  # fmt: skip
    record_event(actor=author, action=Action.POST_SUBMITTED, subject=post)
    return post
