"""Reading channels."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from platforms.models import Channel
from smc.errors import NotFound
from smc.tenancy import every_agency


def channels(*, viewer, search: str = "", platform: str = "", status: str = "",
             compliance: str = "") -> QuerySet[Channel]:  # fmt: skip
    found = Channel.objects.filter(agency=viewer.agency)
    if search:
        found = found.filter(Q(name__icontains=search) | Q(handle__icontains=search))
    if platform:
        found = found.filter(platform=platform)
    if status == "rate_limited":
        from django.utils import timezone

        found = found.filter(rate_limited_until__gt=timezone.now())
    elif status:
        found = found.filter(status=status)
    if compliance == "short":
        found = found.exclude(compliance_problems=[])
    elif compliance == "ok":
        found = found.filter(compliance_problems=[], compliance_checked_at__isnull=False)
    return found.select_related("connected_by__user").order_by("platform", "name", "pk")


def get_channel_for(viewer, channel_id: int) -> Channel:
    channel = Channel.objects.filter(agency=viewer.agency, pk=channel_id).first()
    if channel is None:
        raise NotFound(_("That channel does not exist."))
    return channel


def channel_by_id(channel_id: int) -> Channel | None:
    """Inside a task's agency scope: the channel, if it still exists there."""
    return Channel.objects.filter(pk=channel_id).select_related("agency").first()


def connected_channel_ids_everywhere() -> list[tuple[int, int]]:
    """The daily compliance sweep covers every agency: it only lists ids."""
    with every_agency():
        return list(
            Channel.objects.filter(status=Channel.Status.CONNECTED).values_list("agency_id", "pk")
        )


# Platforms whose access tokens expire and are renewed with a refresh credential.
REFRESHING = ("x", "youtube", "bluesky")


def channels_to_refresh_everywhere(*, older_than_minutes: int = 30) -> list[tuple[int, int]]:
    """The refresh sweep covers every agency: it only lists ids."""
    from datetime import timedelta

    from django.db.models import Q
    from django.utils import timezone

    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    # The sweep lists ids across agencies; each refresh then runs in its agency's scope.
    with every_agency():
        return list(
            Channel.objects.filter(status=Channel.Status.CONNECTED, platform__in=REFRESHING)
            .filter(Q(secrets_changed_at__lt=cutoff) | Q(secrets_changed_at__isnull=True))
            .values_list("agency_id", "pk")
        )


def channel_people(channel: Channel) -> list:
    """The members who may use (draft for) the channel."""
    from accounts.models import Membership
    from platforms.models import ChannelPermission

    user_ids = ChannelPermission.objects.filter(
        content_object=channel, permission__codename="draft_for_channel"
    ).values_list("user_id", flat=True)
    return list(
        Membership.objects.filter(agency_id=channel.agency_id, user_id__in=user_ids)
        .select_related("user")
        .order_by("user__username")
    )


def channel_publishers(channel: Channel) -> list:
    """The members who may publish to the channel without approval (A4)."""
    from accounts.models import Membership
    from platforms.models import ChannelPermission

    user_ids = ChannelPermission.objects.filter(
        content_object=channel, permission__codename="publish_to_channel"
    ).values_list("user_id", flat=True)
    return list(
        Membership.objects.filter(agency_id=channel.agency_id, user_id__in=user_ids)
        .select_related("user")
        .order_by("user__username")
    )


def agency_ids_with_publishers() -> list[int]:
    """The daily training sweep covers every agency where someone publishes without
    approval: it only lists ids."""
    from platforms.models import ChannelPermission

    with every_agency():
        return sorted(
            set(
                ChannelPermission.objects.filter(
                    permission__codename="publish_to_channel"
                ).values_list("agency_id", flat=True)
            )
        )


def people_by_channel(channels) -> dict[int, list[str]]:
    """For a page of channels, the names of who may use each (one query)."""
    from platforms.models import ChannelPermission

    names: dict[int, list[str]] = {}
    rows = (
        ChannelPermission.objects.filter(
            content_object__in=list(channels), permission__codename="draft_for_channel"
        )
        .select_related("user")
        .order_by("user__username")
    )
    for row in rows:
        names.setdefault(row.content_object_id, []).append(str(row.user))
    return names
