"""C1–C3 around the adapters: a dead credential marks the channel and tells the
administrators, a rate limit shows on the channel, tokens are refreshed before they
expire, and profiles are checked for the agency's rules. Against the simulators."""

from datetime import timedelta

import pytest
import requests
from django.core import mail
from django.test import TestCase
from django.utils import timezone

from accounts.models import Role
from audit.actions import Action
from audit.models import AuditEvent
from platforms import selectors, services
from platforms.adapters.base import NeedsReconnect, RetryLater
from platforms.credentials import read_secrets
from platforms.demo import connect_through_simulator
from platforms.models import Channel
from tests.factories import make_member

STATEMENT = "Not monitored 24/7 — in an emergency call 911"


@pytest.fixture
def officer_channel(agency, simulated_platforms):
    agency.website = "https://police.metro.example"
    agency.save()
    admin = make_member(agency, role=Role.ADMINISTRATOR, username="alex",
                        email="alex@metro.example")  # fmt: skip
    [channel], sim_account = connect_through_simulator(
        administrator=admin, platform="x", sim_url=simulated_platforms["x"],
        display_name="Officer Kim", handle="OfficerKim",
        bio="Traffic updates from Officer Kim.", website="https://kim.example",
    )  # fmt: skip
    channel.sim_account = sim_account
    return channel


def test_a_profile_that_falls_short_is_explained(officer_channel):
    channel = services.check_compliance(channel=officer_channel)
    assert channel.compliance_checked_at is not None
    assert channel.compliance_problems == [
        "It does not name the agency (“Metro Police”).",
        f"It does not say “{STATEMENT}”.",
        "It does not link to the agency's website (https://police.metro.example).",
    ]


def test_a_compliant_profile_has_no_problems(agency, simulated_platforms):
    agency.website = "https://police.metro.example"
    agency.save()
    admin = make_member(agency, role=Role.ADMINISTRATOR)
    [channel], _ = connect_through_simulator(
        administrator=admin, platform="mastodon", sim_url=simulated_platforms["mastodon"],
        display_name="Metro Police", handle="metropd",
        bio=f"Official account of Metro Police. {STATEMENT}.",
        website="https://police.metro.example",
    )  # fmt: skip
    assert services.check_compliance(channel=channel).compliance_problems == []


def test_a_revoked_credential_marks_the_channel_and_tells_the_administrators(
    officer_channel, simulated_platforms
):
    requests.post(f"{simulated_platforms['x']}/_sim/tokens",
                  json={"account_id": officer_channel.sim_account, "action": "revoke"},
                  timeout=5).raise_for_status()  # fmt: skip
    with TestCase.captureOnCommitCallbacks(execute=True), pytest.raises(NeedsReconnect):
        services.call_platform(officer_channel, lambda adapter: adapter.read_profile())
    officer_channel.refresh_from_db()
    assert officer_channel.status == Channel.Status.NEEDS_RECONNECT
    [message] = mail.outbox
    assert message.to == ["alex@metro.example"]
    assert "needs to be reconnected" in message.subject
    assert AuditEvent.objects.filter(action=Action.CHANNEL_NEEDS_RECONNECT).count() == 1
    # Nothing more is sent to the platform until an administrator reconnects it.
    with pytest.raises(services.ChannelError, match="is not connected"):
        services.call_platform(officer_channel, lambda adapter: adapter.read_profile())


def test_a_rate_limit_shows_on_the_channel(officer_channel, simulated_platforms):
    fault = {"match": {"method": "GET", "path": "/2/users/me"}, "mode": "rate_limit",
             "reset_in_s": 600}  # fmt: skip
    requests.post(f"{simulated_platforms['x']}/_sim/faults", json=fault, timeout=5)
    with pytest.raises(RetryLater):
        services.call_platform(officer_channel, lambda adapter: adapter.read_profile())
    officer_channel.refresh_from_db()
    assert officer_channel.is_rate_limited
    left = officer_channel.rate_limited_until - timezone.now()
    assert timedelta(minutes=9) < left <= timedelta(minutes=10, seconds=5)


def test_tokens_are_refreshed_before_they_expire(officer_channel):
    before = read_secrets(officer_channel)
    Channel.objects.filter(pk=officer_channel.pk).update(
        secrets_changed_at=timezone.now() - timedelta(minutes=45)
    )
    assert (officer_channel.agency_id, officer_channel.pk) in (
        selectors.channels_to_refresh_everywhere()
    )
    services.refresh_credential(channel=officer_channel)
    after = read_secrets(officer_channel)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]  # X rotates refresh tokens
    assert (officer_channel.agency_id, officer_channel.pk) not in (
        selectors.channels_to_refresh_everywhere()
    )
    assert (
        "Officer Kim"
        in services.call_platform(
            officer_channel, lambda adapter: adapter.read_profile()
        ).display_name
    )
