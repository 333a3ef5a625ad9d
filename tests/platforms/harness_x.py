"""How the contract suite drives X and its simulator."""

import re
import uuid

from platforms.adapters.base import ChannelCredentials, OutgoingPost
from platforms.adapters.x import XAdapter
from platforms.simulators.core import SIM_CLIENT_ID
from platforms.simulators.x import XSimulator
from tests.platforms.contract import SEEDED_BIO, SEEDED_WEBSITE, Harness, SimClient


class XHarness(Harness):
    platform = "x"
    simulator_class = XSimulator
    adapter_class = XAdapter
    refreshes = True
    has_rate_headers = True
    publish_call = ("POST", "/2/tweets")
    profile_call = ("GET", "/2/users/me")
    length_examples = [
        ("Main St is closed", 17),
        # Every URL weighs 23, however long: 8 for "Detour: " and 23 for the link.
        ("Detour: https://city.example/detour/around/the/closed/section?lanes=2", 31),
        ("日", 2),
        ("道路封鎖", 8),
        # A family emoji is five code points but one sequence, weighing 2.
        ("👨\u200d👩\u200d👧", 2),
        # Composed by NFC into one é before counting.
        ("Cafe\u0301", 4),
        ("x" * 280, 280),
    ]

    def base_urls(self, sim_url: str) -> dict[str, str]:
        return {"api": sim_url, "www": sim_url}

    def credentials(self, sim: SimClient, sim_url: str) -> ChannelCredentials:
        seeded = sim.seed_account(
            handle="MetroPD", display_name="Metro Police", bio=SEEDED_BIO, website=SEEDED_WEBSITE
        )
        return ChannelCredentials(
            platform="x",
            account_id=seeded["platform_id"],
            handle="MetroPD",
            base_urls=self.base_urls(sim_url),
            settings={"sim_account_id": seeded["account_id"], "client_id": SIM_CLIENT_ID},
            secrets={
                "access_token": seeded["access_token"],
                "refresh_token": seeded["refresh_token"],
            },
        )

    def commentable_post(self, sim: SimClient, adapter: XAdapter) -> str:
        post = OutgoingPost(text=f"Main St is closed until 6 pm [{uuid.uuid4().hex[:8]}]")
        return adapter.publish(post).platform_post_id

    def inject_comment(self, sim: SimClient, *, post_id: str, text: str, author: str) -> None:
        handle = re.sub(r"\W", "", author).lower()
        reply = {"target": post_id, "text": text, "author": {"name": author, "handle": handle}}
        sim.post("/_sim/inject", reply, expect=201)


HARNESS = XHarness()
