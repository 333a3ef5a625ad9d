"""Reading publications (P3, P4) for the post page's channel list."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import Role
from posting.models import Post, Publication
from smc.errors import NotFound


def _posts_visible_to(viewer):
    """An author sees their own posts; supervisors, administrators and auditors see the
    agency's (they approve, manage and audit them)."""
    posts = Post.objects.filter(agency=viewer.agency)
    if viewer.role == Role.USER:
        posts = posts.filter(author=viewer)
    return posts


def get_post_publications_for(viewer, post_id: int) -> Post:
    post = _posts_visible_to(viewer).select_related("agency").filter(pk=post_id).first()
    if post is None:
        raise NotFound(_("That post does not exist."))
    return post


def get_publication_for(viewer, publication_id: int) -> Publication:
    publication = (
        Publication.objects.filter(agency=viewer.agency, pk=publication_id,
                                   post__in=_posts_visible_to(viewer))
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
