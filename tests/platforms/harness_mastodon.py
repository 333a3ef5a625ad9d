"""How the contract suite drives Mastodon: one simulated instance, one seeded account."""

import re
import uuid

from platforms.adapters.base import ChannelCredentials, OutgoingPost, PlatformAdapter
from platforms.adapters.mastodon import MastodonAdapter
from platforms.simulators.mastodon import MastodonSimulator
from tests.platforms.contract import SEEDED_BIO, SEEDED_WEBSITE, Harness, SimClient


class MastodonHarness(Harness):
    platform = "mastodon"
    simulator_class = MastodonSimulator
    adapter_class = MastodonAdapter
    # Mastodon tokens live until revoked; there is nothing to refresh.
    refreshes = False
    has_rate_headers = True
    publish_call = ("POST", "/api/v1/statuses")
    profile_call = ("GET", "/api/v1/accounts/verify_credentials")
    length_examples = [
        # Every URL counts 23, however long: 8 + 23.
        ("Detour: https://city.example/detour/with/a/long/path?x=1", 31),
        # "e" + combining acute accent is one grapheme: "Café open".
        ("Cafe\u0301 open", 9),
        # A ZWJ emoji sequence (woman firefighter) is one grapheme.
        ("Stay safe \U0001f469\u200d\U0001f692", 11),
        ("\U0001f1fa\U0001f1f8", 1),  # a flag: two regional indicators, one grapheme
    ]

    def base_urls(self, sim_url: str) -> dict[str, str]:
        return {"instance": sim_url}

    def credentials(self, sim: SimClient, sim_url: str, **seed) -> ChannelCredentials:
        seeded = sim.seed_account(**{
            "handle": "metropolice", "display_name": "Metro Police", "bio": SEEDED_BIO,
            "website": SEEDED_WEBSITE, **seed,
        })  # fmt: skip
        return ChannelCredentials(
            platform="mastodon",
            account_id=seeded["platform_id"],
            handle=seed.get("handle", "metropolice"),
            base_urls=self.base_urls(sim_url),
            settings={"sim_account_id": seeded["account_id"], "max_characters": 500},
            secrets={"access_token": seeded["access_token"]},
        )

    def commentable_post(self, sim: SimClient, adapter: PlatformAdapter) -> str:
        post = OutgoingPost(
            text=f"Main St reopens at 6 pm [{uuid.uuid4().hex[:8]}]", attempt_key=str(uuid.uuid4())
        )
        return adapter.publish(post).platform_post_id

    def inject_comment(
        self, sim: SimClient, *, post_id: str, text: str, author: str, **extra
    ) -> dict:
        handle = re.sub(r"\W", "", author).lower() + "@example.social"
        payload = {
            "target": post_id,
            "author": {"name": author, "handle": handle},
            "text": text,
            **extra,
        }
        return sim.post("/_sim/inject", payload, expect=201)


HARNESS = MastodonHarness()
