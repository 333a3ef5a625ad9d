"""Reading for approval (P2): the approval queue, and the posts an approver may open.

The queue is the desk's main screen and grows with the agency: one query fills a page
(channels and the photo count come as subqueries, not as a query per row), plus the
count for the pager. The page's posts are chosen first by id, on the queue's index, so
the subqueries run for the 25 shown and not for every post an OFFSET skips."""

from __future__ import annotations

from django.contrib.postgres.expressions import ArraySubquery
from django.core.paginator import Page, Paginator
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.authority import supervised_unit_ids
from accounts.models import Membership, Role
from posting.models import Post, PostPhoto, PostRevision, Publication
from posting.services.approval import may_approve
from smc.errors import NotFound

QUEUE_PAGE_SIZE = 25


def reads_every_approval(viewer: Membership) -> bool:
    """Administrators decide anything; auditors read everything and decide nothing."""
    return viewer.role in (Role.ADMINISTRATOR, Role.AUDITOR)


QUEUE_ORDER = ("awaiting_since", "pk")


def waiting_for(viewer: Membership) -> QuerySet[Post]:
    """Posts waiting for a decision this member may take (or, for an auditor, read),
    longest waiting first. A member's own posts never show: nobody approves their own."""
    waiting = Post.objects.filter(agency=viewer.agency, status=Post.Status.AWAITING_APPROVAL)
    if not reads_every_approval(viewer):
        waiting = waiting.filter(awaiting_unit_id__in=supervised_unit_ids(viewer))
    return waiting.exclude(author=viewer).order_by(*QUEUE_ORDER)


def approval_page(*, viewer: Membership, number, per_page: int = QUEUE_PAGE_SIZE) -> Page:
    """One page of the queue, its posts with everything a row shows."""
    page = Paginator(waiting_for(viewer).values("pk"), per_page).get_page(number)
    shown = Post.objects.filter(agency=viewer.agency, pk__in=page.object_list)
    page.object_list = list(_with_row_facts(shown).order_by(*QUEUE_ORDER))
    return page


def _with_row_facts(posts: QuerySet[Post]) -> QuerySet[Post]:
    channel_names = (
        Publication.objects.filter(post=OuterRef("pk"))
        .exclude(status=Publication.Status.CANCELLED)
        .order_by("channel__platform", "channel__name")
        .values("channel__name")
    )
    photos = (
        PostPhoto.objects.filter(post=OuterRef("pk"), removed_at=None)
        .order_by()
        .values("post")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return posts.select_related("author__user", "author__unit", "awaiting_unit").annotate(
        channel_labels=ArraySubquery(channel_names),
        photo_count=Coalesce(Subquery(photos, output_field=IntegerField()), 0),
    )


def with_clock(posts, agency) -> list[Post]:
    """Each post of a page, told when its approval moves up unless someone decides, and
    whether it has moved up already (it waits above its author's unit)."""
    from datetime import timedelta

    step = timedelta(minutes=agency.approval_escalation_minutes)
    posts = list(posts)
    for post in posts:
        waiting_at_unit = post.awaiting_since and post.awaiting_unit_id
        post.escalates_at = post.awaiting_since + step if waiting_at_unit else None
        post.was_escalated = post.awaiting_unit_id != post.author.unit_id
        post.failed_checks = [c for c in post.check_results or []
                              if isinstance(c, dict) and c.get("ok") is False]  # fmt: skip
    return posts


def get_post_for_approver(viewer: Membership, post_id: int) -> Post:
    """A post as an approver (or auditor) opens it. Posts they have no say over, and
    other agencies' posts, are NotFound alike."""
    post = (
        Post.objects.filter(agency=viewer.agency, pk=post_id)
        .select_related("author__user", "author__unit", "awaiting_unit", "approved_by__user")
        .first()
    )
    if post is None:
        raise NotFound(_("That post does not exist."))
    if reads_every_approval(viewer) or post.author_id == viewer.pk:
        return post
    if viewer.role == Role.SUPERVISOR and (
        may_approve(viewer, post) or post.author.unit_id in supervised_unit_ids(viewer)
    ):
        return post
    raise NotFound(_("That post does not exist."))


def revisions_of(post: Post) -> list[PostRevision]:
    return list(post.revisions.select_related("edited_by__user").order_by("number"))


def agency_ids_with_waiting_approvals() -> list[int]:
    """The approval clock's tick covers every agency: it only lists ids; each agency then
    escalates in its own scope."""
    from smc.tenancy import every_agency

    with every_agency():
        return sorted(
            set(
                Post.objects.filter(
                    status=Post.Status.AWAITING_APPROVAL, awaiting_unit__isnull=False
                ).values_list("agency_id", flat=True)
            )
        )
