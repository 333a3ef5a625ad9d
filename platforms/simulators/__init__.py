"""Local stand-ins for the five platforms (platform-apis.md §7), for tests and the demo."""

from importlib import import_module

# In this order on consecutive ports from the base port (8101 by default).
PLATFORMS = ("facebook", "x", "youtube", "mastodon", "bluesky")
_CLASSES = {
    "facebook": "FacebookSimulator",
    "x": "XSimulator",
    "youtube": "YouTubeSimulator",
    "mastodon": "MastodonSimulator",
    "bluesky": "BlueskySimulator",
}


def get_simulator_class(platform: str):
    return getattr(import_module(f"platforms.simulators.{platform}"), _CLASSES[platform])
