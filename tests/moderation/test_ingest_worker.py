"""M1 under Celery: beat's tick polls every agency's channels through a real worker, and a
worker killed in the middle of a poll loses nothing."""

import os
import signal
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from moderation import ingest, selectors
from moderation.models import Comment
from moderation.tasks import poll_due_channels
from platforms.adapters.base import OutgoingPost
from platforms.demo import connect_through_simulator
from platforms.services import call_platform
from smc.tenancy import agency_scope
from tests.conftest import simulator_settings, wait_for
from tests.factories import make_agency, make_member
from tests.platforms.contract import SimClient


@pytest.fixture
def worker_environment(simulated_platforms):
    return {
        **simulator_settings(simulated_platforms),
        "SMC_FACEBOOK_CLIENT_ID": "sim-client",
        "SMC_FACEBOOK_CLIENT_SECRET": "sim-secret",
    }


def connect(agency, platform: str, sim_url: str, name: str):
    admin = make_member(agency, role=Role.ADMINISTRATOR)
    with agency_scope(agency):
        [channel], _ = connect_through_simulator(
            administrator=admin, platform=platform, sim_url=sim_url,
            display_name=name, handle=name.lower().replace(" ", ""),
        )  # fmt: skip
        post = OutgoingPost(
            text=f"Road update {uuid.uuid4().hex[:6]}", attempt_key=uuid.uuid4().hex
        )
        channel.post_id = call_platform(channel, lambda a: a.publish(post)).platform_post_id
    return channel


def comment_on(sim_url: str, post_id: str, text: str) -> dict:
    payload = {"target": post_id, "text": text,
               "author": {"name": "Pat Q", "handle": "patq@example.social"}}  # fmt: skip
    return SimClient(sim_url).post("/_sim/inject", payload, expect=201)


def archived_texts(channel) -> set[str]:
    with agency_scope(channel.agency_id):
        return set(selectors.channel_comments(channel=channel).values_list("text", flat=True))


def test_the_beat_tick_polls_every_channel_of_every_agency(simulated_platforms, celery_worker):
    metro = make_agency(name="Metro Police", slug="metro")
    riverside = make_agency(name="Riverside Fire", slug="riverside")
    channels = [
        connect(metro, "facebook", simulated_platforms["facebook"], "Metro Police"),
        connect(metro, "mastodon", simulated_platforms["mastodon"], "Metro PD"),
        connect(riverside, "facebook", simulated_platforms["facebook"], "Riverside Fire"),
    ]
    for channel in channels:
        comment_on(simulated_platforms[channel.platform], channel.post_id, f"Hi {channel.name}")

    poll_due_channels.delay()

    wait_for(
        lambda: all(archived_texts(c) == {f"Hi {c.name}"} for c in channels),
        what="every channel's comment to be archived",
        process=celery_worker,
    )


def test_a_worker_killed_mid_poll_loses_nothing(simulated_platforms, celery_worker):
    sim_url = simulated_platforms["facebook"]
    sim = SimClient(sim_url)
    agency = make_agency(name="Metro Police", slug="metro")
    channel = connect(agency, "facebook", sim_url, "Metro Police")
    for n in range(3):
        comment_on(sim_url, channel.post_id, f"comment {n}")
    sim.fault("GET", f"/{channel.post_id}/comments", mode="hang", seconds=15)

    poll_due_channels.delay()
    wait_for(
        lambda: any("/comments" in r["path"] for r in sim.requests(method="GET")),
        what="the worker to start reading the comments",
        process=celery_worker,
    )
    os.kill(celery_worker.pid, signal.SIGKILL)
    celery_worker.wait(10)

    with agency_scope(agency):
        assert not Comment.objects.exists()
        state = selectors.poll_state(channel=channel)
        assert state.cursor is None
        assert state.leased_until > timezone.now()  # the dead worker's lease
        # Once the lease runs out, the channel is the first handed out again.
        later = timezone.now() + timedelta(seconds=ingest.LEASE_S + 1)
        [claim] = ingest.claim_due_channels(now=later)
        assert claim.channel_id == channel.pk
        ingest.poll_channel(channel=channel, lease_token=claim.lease_token)
    assert archived_texts(channel) == {"comment 0", "comment 1", "comment 2"}
    with agency_scope(agency):
        assert selectors.poll_state(channel=channel).cursor is not None
