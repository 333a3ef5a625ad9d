"""How the contract suite drives Facebook Pages and its simulator."""

import uuid

from platforms.adapters.base import ChannelCredentials, OutgoingPost, PlatformAdapter
from platforms.adapters.facebook import FacebookAdapter
from platforms.simulators.facebook import FacebookSimulator
from tests.platforms.contract import SEEDED_BIO, SEEDED_WEBSITE, Harness, SimClient


class FacebookHarness(Harness):
    platform = "facebook"
    simulator_class = FacebookSimulator
    adapter_class = FacebookAdapter
    # Page tokens have no refresh: an expired one means reconnecting.
    refreshes = False
    has_rate_headers = True
    length_examples = [
        ("Main St is closed until 6 pm", 28),
        ("Détour par la rue Côté", 22),
        # Facebook counts code points: an emoji is one, a family of three is five.
        ("Road closed 🚧", 13),
        ("👩‍👩‍👧", 5),
        ("See https://police.metro.example/detours for the map", 52),
    ]

    def base_urls(self, sim_url: str) -> dict[str, str]:
        return {"www": sim_url, "graph": sim_url}

    def credentials(self, sim: SimClient, sim_url: str) -> ChannelCredentials:
        seeded = sim.seed_account(
            handle="metropolice",
            display_name="Metro Police",
            bio=SEEDED_BIO,
            website=SEEDED_WEBSITE,
        )
        page_id = seeded["platform_id"]
        # The paths name the Page, known only once it is seeded. "/{page-id}" is also the
        # simulator's rate bucket for every call made with the Page's token.
        self.publish_call = ("POST", f"/{page_id}/feed")
        self.profile_call = ("GET", f"/{page_id}")
        return ChannelCredentials(
            platform="facebook",
            account_id=page_id,
            handle="Metro Police",
            base_urls=self.base_urls(sim_url),
            settings={"sim_account_id": seeded["account_id"]},
            secrets={"access_token": seeded["access_token"]},
        )

    def commentable_post(self, sim: SimClient, adapter: PlatformAdapter) -> str:
        post = OutgoingPost(text=f"Main St reopens at 6 pm [{uuid.uuid4().hex[:8]}]")
        return adapter.publish(post).platform_post_id

    def inject_comment(self, sim: SimClient, *, post_id: str, text: str, author: str) -> None:
        sim.post(
            "/_sim/inject",
            {"target": post_id, "text": text, "author": {"name": author, "handle": author.lower()}},
            expect=201,
        )

    def expected_rate_wait(self, reset_in_s: float) -> tuple[float, float]:
        # Facebook gives the wait in whole minutes: 120 s is "2" minutes.
        return (115, 125)


HARNESS = FacebookHarness()
