"""Reading publications (P3, P4) for the post page's channel list. Who sees a post is
posting.selectors.visible_posts: one rule for the post page and its channels."""

from __future__ import annotations

from django.utils.translation import gettext as _

from posting.models import Post, Publication
from posting.selectors import get_post_for, visible_posts
from smc.errors import NotFound


def get_post_publications_for(viewer, post_id: int) -> Post:
    return get_post_for(viewer, post_id)


def get_publication_for(viewer, publication_id: int) -> Publication:
    publication = (
        Publication.objects.filter(agency=viewer.agency, pk=publication_id,
                                   post__in=visible_posts(viewer))
        .select_related("post", "channel")
        .first()
    )  # fmt: skip
    if publication is None:
        raise NotFound(_("That publication does not exist."))
    return publication


def publications_of(post: Post) -> list[Publication]:
    return list(
        Publication.objects.filter(agency=post.agency_id, post=post)
        .select_related("channel")
        .order_by("channel__platform", "channel__name", "pk")
    )
