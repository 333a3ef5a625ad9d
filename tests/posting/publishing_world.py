"""Channels connected to the simulators through the real flows, and posts released for
publishing, for the publishing tests (in-process, under a worker, and the chaos test)."""

from __future__ import annotations

import uuid

from accounts.models import Role
from platforms.demo import connect_through_simulator
from posting.models import Publication
from posting.services.publishing import release_for_publishing
from smc.tenancy import agency_scope
from tests.factories import make_member, make_post
from tests.platforms.contract import SimClient

# The platforms SMC posts to (YouTube takes no posts from SMC) and the path of the call
# that creates the post, for faults and request counts.
PUBLISH_PATHS = {
    "facebook": "/*/feed",
    "x": "/2/tweets",
    "mastodon": "/api/v1/statuses",
    "bluesky": "/xrpc/com.atproto.repo.createRecord",
}


def connect_channels(agency, urls, platforms=tuple(PUBLISH_PATHS), administrator=None):
    administrator = administrator or make_member(agency, role=Role.ADMINISTRATOR)
    channels = []
    with agency_scope(agency):
        for platform in platforms:
            name = f"{agency.name} {platform} {uuid.uuid4().hex[:4]}"
            [channel], _ = connect_through_simulator(
                administrator=administrator, platform=platform, sim_url=urls[platform],
                display_name=name, handle=name.lower().replace(" ", ""),
            )  # fmt: skip
            channels.append(channel)
    return channels


def released_post(author, channels, *, text=None, **fields):
    """A post approved (or trusted) and released: one QUEUED publication per channel."""
    post = make_post(author, channels=channels, text=text or f"Road update {uuid.uuid4().hex}",
                     **fields)  # fmt: skip
    with agency_scope(author.agency):
        release_for_publishing(post=post)
        post.refresh_from_db()
    return post


def publications(post) -> list[Publication]:
    with agency_scope(post.agency_id):
        return list(Publication.objects.filter(post=post).select_related("channel"))


def remote_copies(urls, text: str) -> dict[str, int]:
    """platform → how many live items on its simulator carry exactly this text."""
    counts = {}
    for platform in PUBLISH_PATHS:
        items = SimClient(urls[platform]).published()["items"]
        counts[platform] = sum(1 for i in items if i["text"] == text and not i["deleted"])
    return counts
