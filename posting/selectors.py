"""Reading posts: who may see which post, and which channels an author may use."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import Role
from platforms.models import Channel, ChannelPermission, Platform
from posting.models import Post, PostPhoto, Publication
from smc.errors import NotFound

# Who reads every post of the agency: approvers (supervisors, administrators) and the
# auditors who answer records requests. Others read their own.
READS_ALL_POSTS = (Role.SUPERVISOR, Role.ADMINISTRATOR, Role.AUDITOR)


def usable_channels(membership) -> QuerySet[Channel]:
    """The channels an author may draft for: those an administrator gave them
    (platforms.draft_for_channel, per channel), whatever their role. Not all channels
    for administrators or PIOs: an officer's own official account is theirs alone, and a
    PIO who should speak on the agency's accounts is given them, which is recorded.
    Disconnected channels cannot take posts; YouTube takes no posts from SMC."""
    granted = ChannelPermission.objects.filter(
        agency=membership.agency,
        user_id=membership.user_id,
        permission__codename="draft_for_channel",
    ).values("content_object_id")
    return (
        Channel.objects.filter(agency=membership.agency, pk__in=granted)
        .exclude(status=Channel.Status.DISCONNECTED)
        .exclude(platform=Platform.YOUTUBE)
        .order_by("platform", "name", "pk")
    )


def visible_posts(membership) -> QuerySet[Post]:
    posts = Post.objects.filter(agency=membership.agency)
    if membership.role not in READS_ALL_POSTS:
        posts = posts.filter(author=membership)
    return posts


def get_post_for(membership, post_id: int) -> Post:
    post = visible_posts(membership).filter(pk=post_id).select_related("author__user").first()
    if post is None:
        raise NotFound(_("That post does not exist."))
    return post


def get_own_post_for(membership, post_id: int) -> Post:
    """A post its author may work on (edit, add photos, withdraw)."""
    post = Post.objects.filter(agency=membership.agency, author=membership, pk=post_id).first()
    if post is None:
        raise NotFound(_("That post does not exist."))
    return post


def post_by_client_key(membership, client_key) -> Post | None:
    return Post.objects.filter(
        agency=membership.agency, author=membership, client_key=client_key
    ).first()


def my_posts(membership, *, status: str = "") -> QuerySet[Post]:
    posts = Post.objects.filter(agency=membership.agency, author=membership)
    if status:
        posts = posts.filter(status=status)
    return posts.prefetch_related("publications__channel").order_by("-created_at", "-pk")


def active_photos(post: Post) -> QuerySet[PostPhoto]:
    return PostPhoto.objects.filter(agency=post.agency, post=post, removed_at__isnull=True)


def post_channels(post: Post) -> list[Channel]:
    return [
        publication.channel
        for publication in post.publications.select_related("channel").order_by("channel__pk")
    ]


def get_photo_for(membership, photo_id: int) -> PostPhoto:
    photo = (
        PostPhoto.objects.filter(agency=membership.agency, pk=photo_id)
        .select_related("post")
        .first()
    )
    if photo is None or not visible_posts(membership).filter(pk=photo.post_id).exists():
        raise NotFound(_("That photo does not exist."))
    return photo


def post_publications(post: Post) -> list[Publication]:
    """Where the post goes, one row per channel: the post page, the review page and the
    htmx refresh of the channel list all read it here."""
    return list(
        Publication.objects.filter(agency=post.agency_id, post=post)
        .select_related("channel")
        .order_by("channel__platform", "channel__name", "pk")
    )


def get_publication_for(viewer, publication_id: int) -> Publication:
    """One channel of a post the viewer may see (visible_posts: one rule for both)."""
    publication = (
        Publication.objects.filter(agency=viewer.agency, pk=publication_id,
                                   post__in=visible_posts(viewer))
        .select_related("post", "channel")
        .first()
    )  # fmt: skip
    if publication is None:
        raise NotFound(_("That publication does not exist."))
    return publication


def post_decisions(post: Post):
    return post.decisions.select_related("supervisor__user").order_by("created_at", "pk")
