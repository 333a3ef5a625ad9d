"""Connecting channels to the local simulators through the real flows (demo, tests).

Nothing here bypasses SMC: an account is seeded on the simulator, then the connect
service runs exactly as for an administrator's browser: start, the platform's consent
page (which the simulator approves at once), the callback, the stored channel.
"""

from __future__ import annotations

import requests

from platforms import connect
from platforms.models import Channel, Platform


def seed_account(sim_url: str, **fields) -> dict:
    response = requests.post(f"{sim_url}/_sim/accounts", json=fields, timeout=10)
    response.raise_for_status()
    return response.json()


def connect_through_simulator(*, administrator, platform: str, sim_url: str,
                              display_name: str, handle: str, bio: str = "",
                              website: str = "") -> tuple[list[Channel], str]:  # fmt: skip
    """Seed an account on the simulator and connect it as `administrator` would.
    Returns the channels and the simulator's id of the seeded account."""
    fields = {"handle": handle, "display_name": display_name, "bio": bio, "website": website}
    if platform == Platform.BLUESKY:
        app_password = "demo-app-pass-word"  # noqa: S105 - a simulator account's, not a secret
        seeded = seed_account(sim_url, **fields, app_password=app_password)
        channel = connect.connect_bluesky(administrator=administrator, identifier=handle,
                                          app_password=app_password)  # fmt: skip
        return [channel], seeded["account_id"]
    seeded = seed_account(sim_url, **fields)
    requests.post(f"{sim_url}/_sim/oauth/next", json={"account_id": seeded["account_id"]},
                  timeout=10).raise_for_status()  # fmt: skip
    authorize_url, pending = connect.start_connect(
        administrator=administrator,
        platform=platform,
        instance_url=sim_url if platform == Platform.MASTODON else "",
    )
    consent = requests.get(authorize_url, allow_redirects=False, timeout=10)
    if consent.status_code not in (301, 302, 303, 307):
        raise RuntimeError(f"{platform} simulator did not redirect: {consent.status_code}")
    channels = connect.finish_connect(
        administrator=administrator,
        pending=pending,
        platform=platform,
        callback_url=consent.headers["Location"],
    )
    return channels, seeded["account_id"]


DEMO_CHANNELS = {
    # agency slug: [(platform, display name, handle)]
    "metro": [
        ("facebook", "Metro City Police", "metrocitypolice"),
        ("x", "Metro City Police", "MetroCityPD"),
        ("youtube", "Metro City Police", "metrocitypolice"),
        ("mastodon", "Metro City Police", "metropd"),
        ("bluesky", "Metro City Police", "metropd.bsky.example"),
        ("x", "Officer Olive (Metro City Police)", "OfficerOlive"),
    ],
    "riverside-fire": [
        ("facebook", "Riverside County Fire", "riversidefire"),
        ("x", "Riverside County Fire", "RiversideFire"),
    ],
}


def connect_demo_channels(sim_urls: dict[str, str]) -> list[Channel]:
    """The demo's channels, connected afresh at every start (the simulators keep their
    state in memory), each with a first post for the public to comment on."""
    import uuid

    from accounts.models import Agency, Membership, Role
    from platforms.adapters.base import OutgoingPost
    from platforms.credentials import get_adapter
    from platforms.models import PlatformApp
    from smc.tenancy import agency_scope

    # The simulators forget SMC's Mastodon app registration when they restart; the
    # installation's record of it must go too, or the instance would not know our client.
    # Instance registrations are installation-wide, not agency data.
    PlatformApp.objects.filter(origin=sim_urls[Platform.MASTODON]).delete()
    connected = []
    for slug, channels in DEMO_CHANNELS.items():
        agency = Agency.objects.get(slug=slug)
        with agency_scope(agency):
            administrator = Membership.objects.filter(
                agency=agency, role=Role.ADMINISTRATOR, is_active=True
            ).first()
            for platform, name, handle in channels:
                bio = (f"Official account of {agency.name}. Not monitored 24/7 — in an "
                       f"emergency call 911.")  # fmt: skip
                [channel], sim_account = connect_through_simulator(
                    administrator=administrator, platform=platform, sim_url=sim_urls[platform],
                    display_name=name, handle=handle, bio=bio, website=agency.website,
                )  # fmt: skip
                connected.append(channel)
                if name.startswith("Officer Olive"):
                    # An officer's own official account is theirs alone.
                    from platforms.services import set_channel_people

                    olive = Membership.objects.get(agency=agency, user__username="officer")
                    set_channel_people(administrator=administrator, channel=channel,
                                       memberships=[olive])  # fmt: skip
                elif platform != Platform.YOUTUBE:
                    # The agency's own accounts: its PIO and the patrol officer draft posts
                    # for them (P1); who may use a channel is always given, never assumed.
                    from platforms.services import set_channel_people

                    voices = Membership.objects.filter(
                        agency=agency, user__username__in=["pio", "officer"], is_active=True
                    )
                    set_channel_people(administrator=administrator, channel=channel,
                                       memberships=list(voices))  # fmt: skip
                if platform == Platform.YOUTUBE:
                    # YouTube takes no posts from SMC: the video arrives out of band.
                    requests.post(f"{sim_urls[platform]}/_sim/accounts/{sim_account}/content",
                                  json={"kind": "video", "title": f"{agency.name} briefing"},
                                  timeout=10).raise_for_status()  # fmt: skip
                    continue
                get_adapter(channel).publish(OutgoingPost(
                    text=f"Welcome to {agency.name} on {channel.get_platform_display()}. "
                         "Not monitored 24/7: in an emergency call 911.",
                    attempt_key=str(uuid.uuid4()),
                ))  # fmt: skip
    return connected
