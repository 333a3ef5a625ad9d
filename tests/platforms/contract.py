"""The contract suite's parts: a client for a simulator's /_sim/ surface, and the
Harness each platform provides (tests/platforms/harness_<platform>.py)."""

from __future__ import annotations

from importlib import import_module

import requests

from platforms.adapters.base import ChannelCredentials, PlatformAdapter
from platforms.simulators.core import Simulator


class SimClient:
    """Talks to a running simulator's control surface over HTTP."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()

    def post(self, path: str, payload: dict | None = None, expect: int | None = None):
        response = self.http.post(self.base_url + path, json=payload or {}, timeout=10)
        if expect is not None:
            assert response.status_code == expect, (path, response.status_code, response.text)
        return response.json() if response.content else None

    def get(self, path: str, /, **params):
        response = self.http.get(self.base_url + path, params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self):
        self.post("/_sim/reset", {"seed": 1}, expect=204)

    def seed_account(self, **fields) -> dict:
        return self.post("/_sim/accounts", fields, expect=201)

    def fault(self, method: str, path: str, count: int = 1, **mode) -> str:
        payload = {"match": {"method": method, "path": path}, "count": count, **mode}
        return self.post("/_sim/faults", payload, expect=201)["fault_id"]

    def published(self) -> dict:
        return self.get("/_sim/published")

    def items_with_text(self, text: str) -> list[dict]:
        return [i for i in self.published()["items"] if text in i["text"] and not i["deleted"]]

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict]:
        params = {k: v for k, v in (("method", method), ("path", path)) if v}
        return self.get("/_sim/requests", **params)


class Harness:
    """How the contract suite drives one platform. Subclass per platform."""

    platform: str
    simulator_class: type[Simulator]
    adapter_class: type[PlatformAdapter]
    # The platform renews expired access tokens by itself (X, YouTube, Bluesky).
    refreshes: bool = True
    # The platform sends rate-limit headers, so limits are known before a 429.
    has_rate_headers: bool = True
    # (method, path) the adapter's publish call ends in (for faults).
    publish_call: tuple[str, str] = ("POST", "")
    # (method, path glob) of a read that read_profile() makes (for limits and faults).
    profile_call: tuple[str, str] = ("GET", "")
    # Lengths this platform must compute: [(text, expected length)].
    length_examples: list[tuple[str, int]] = []

    def base_urls(self, sim_url: str) -> dict[str, str]:
        raise NotImplementedError

    def credentials(self, sim: SimClient, sim_url: str) -> ChannelCredentials:
        """Seed an account (bio and website as given below) and return its credentials."""
        raise NotImplementedError

    def commentable_post(self, sim: SimClient, adapter: PlatformAdapter) -> str:
        """An agency post (YouTube: a video) the public can comment on; its platform id
        as the adapter's IncomingComment.platform_post_id will name it."""
        raise NotImplementedError

    def inject_comment(self, sim: SimClient, *, post_id: str, text: str, author: str) -> None:
        raise NotImplementedError

    def expected_rate_wait(self, reset_in_s: float) -> tuple[float, float]:
        """The range retry_after must fall in after a rate-limit fault of reset_in_s."""
        return (reset_in_s - 5, reset_in_s + 5)


SEEDED_BIO = "Official account of Metro Police. Not monitored 24/7 — in an emergency call 911."
SEEDED_WEBSITE = "https://police.metro.example"


def load_harness(platform: str) -> Harness:
    return import_module(f"tests.platforms.harness_{platform}").HARNESS
