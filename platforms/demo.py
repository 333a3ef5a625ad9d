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
                              website: str = "") -> list[Channel]:  # fmt: skip
    """Seed an account on the simulator and connect it as `administrator` would."""
    fields = {"handle": handle, "display_name": display_name, "bio": bio, "website": website}
    if platform == Platform.BLUESKY:
        app_password = "demo-app-pass-word"  # noqa: S105 - a simulator account's, not a secret
        seed_account(sim_url, **fields, app_password=app_password)
        return [connect.connect_bluesky(administrator=administrator, identifier=handle,
                                        app_password=app_password)]  # fmt: skip
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
    return connect.finish_connect(
        administrator=administrator,
        pending=pending,
        platform=platform,
        callback_url=consent.headers["Location"],
    )
