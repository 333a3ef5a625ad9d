"""How the contract suite drives Bluesky: one simulator plays the service (login) and the
PDS, so both base URLs point at it."""

import uuid

from platforms.adapters.base import ChannelCredentials, OutgoingPost, PlatformAdapter
from platforms.adapters.bluesky import BlueskyAdapter
from platforms.simulators.bluesky import BlueskySimulator
from tests.platforms.contract import SEEDED_BIO, SEEDED_WEBSITE, Harness, SimClient

HANDLE = "metropolice.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"


class BlueskyHarness(Harness):
    platform = "bluesky"
    simulator_class = BlueskySimulator
    adapter_class = BlueskyAdapter
    refreshes = True
    has_rate_headers = True
    publish_call = ("POST", "/xrpc/com.atproto.repo.createRecord")
    profile_call = ("GET", "/xrpc/app.bsky.actor.getProfile")
    length_examples = [
        # URLs count in full (no shortening as on X or Mastodon).
        ("Detour: https://city.example/detour/for-trucks-only", 8 + 43),
        # A ZWJ sequence (police officer, ZWJ, female sign, VS16) is one grapheme.
        ("\U0001f46e\u200d\u2640\ufe0f on duty", 9),
        # A letter with combining accents is one grapheme.
        ("Cafe\u0301 re\u0301ouvert", 13),
        ("e\u0301\u0302", 1),
    ]

    def base_urls(self, sim_url: str) -> dict[str, str]:
        return {"service": sim_url, "pds": sim_url}

    def credentials(self, sim: SimClient, sim_url: str) -> ChannelCredentials:
        seeded = sim.seed_account(
            handle=HANDLE,
            display_name="Metro Police",
            bio=SEEDED_BIO,
            website=SEEDED_WEBSITE,
            app_password=APP_PASSWORD,
        )
        return ChannelCredentials(
            platform="bluesky",
            account_id=seeded["platform_id"],
            handle=seeded["handle"],
            base_urls=self.base_urls(sim_url),
            settings={"sim_account_id": seeded["account_id"]},
            secrets={
                "access_jwt": seeded["access_token"],
                "refresh_jwt": seeded["refresh_token"],
                "app_password": seeded["app_password"],
            },
        )

    def commentable_post(self, sim: SimClient, adapter: PlatformAdapter) -> str:
        post = OutgoingPost(
            text=f"Main St is closed until 6 pm [{uuid.uuid4().hex[:8]}]",
            attempt_key=str(uuid.uuid4()),
        )
        return adapter.publish(post).platform_post_id

    def inject_comment(self, sim: SimClient, *, post_id: str, text: str, author: str) -> None:
        sim.post(
            "/_sim/inject",
            {"target": post_id, "author": {"name": author}, "text": text},
            expect=201,
        )


HARNESS = BlueskyHarness()
