"""How the contract suite drives YouTube: a channel with a video the public comments on.

YouTube takes no posts from SMC, so publish_call names the one write SMC makes (a reply)
and the publish cases check that publish is refused. A rate-limit fault is Google's
quotaExceeded, whose wait runs to the next midnight Pacific Time.
"""

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from platforms.adapters.base import ChannelCredentials, PlatformAdapter
from platforms.adapters.youtube import YouTubeAdapter
from platforms.simulators.core import SIM_CLIENT_ID, SIM_CLIENT_SECRET
from platforms.simulators.youtube import YouTubeSimulator
from tests.platforms.contract import SEEDED_BIO, SEEDED_WEBSITE, Harness, SimClient


def seconds_to_pacific_midnight() -> float:
    """Worked out here, not with the adapter's helper, so that a mistake there shows."""
    pacific = ZoneInfo("America/Los_Angeles")
    now = datetime.now(pacific)
    # zoneinfo works out the offset from the wall time, so a DST change in between is right.
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.timestamp() - time.time()


class YouTubeHarness(Harness):
    platform = "youtube"
    simulator_class = YouTubeSimulator
    adapter_class = YouTubeAdapter
    refreshes = True
    has_rate_headers = False
    publish_call = ("POST", "/youtube/v3/comments")
    profile_call = ("GET", "/youtube/v3/channels")
    # Characters as Python counts them (code points); URLs count in full.
    length_examples = [
        ("Main St is closed until 6 pm", 28),
        ("Detour map: https://police.metro.example/detours", 48),
        ("Café ☕", 6),
        ("👮🏽\u200d♀️", 5),
    ]

    def base_urls(self, sim_url: str) -> dict[str, str]:
        return {"accounts": sim_url, "oauth": sim_url, "api": sim_url}

    def credentials(self, sim: SimClient, sim_url: str, **seed) -> ChannelCredentials:
        # YouTube has no website field (§3.7): the agency puts its address in the description.
        fields = {
            "handle": "metropolice",
            "display_name": "Metro Police",
            "bio": f"{SEEDED_BIO} {SEEDED_WEBSITE}",
            "website": SEEDED_WEBSITE,
            **seed,
        }
        seeded = sim.seed_account(**fields)
        return ChannelCredentials(
            platform="youtube",
            account_id=seeded["platform_id"],
            handle=fields["display_name"],
            base_urls=self.base_urls(sim_url),
            # A refresh needs SMC's OAuth client; the connector stores it the same way.
            settings={"sim_account_id": seeded["account_id"], "client_id": SIM_CLIENT_ID},
            secrets={
                "access_token": seeded["access_token"],
                "refresh_token": seeded["refresh_token"],
                "client_secret": SIM_CLIENT_SECRET,
            },
        )

    def commentable_post(self, sim: SimClient, adapter: PlatformAdapter) -> str:
        account_id = adapter.credentials.settings["sim_account_id"]
        video = sim.post(
            f"/_sim/accounts/{account_id}/content",
            {"kind": "video", "title": "Road closure briefing"},
            expect=201,
        )
        return video["video_id"]

    def inject_comment(
        self, sim: SimClient, *, post_id: str, text: str, author: str, **fields
    ) -> dict:
        handle = re.sub(r"\W", "", author.lower())
        payload = {
            "target": post_id,
            "author": {"name": author, "handle": handle},
            "text": text,
            **fields,
        }
        return sim.post("/_sim/inject", payload, expect=201)

    def expected_rate_wait(self, reset_in_s: float) -> tuple[float, float]:
        wait = seconds_to_pacific_midnight()
        return (wait - 5, wait + 5)


HARNESS = YouTubeHarness()
