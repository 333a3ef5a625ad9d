"""One adapter module per platform; get_adapter_class() finds it by platform name."""

from importlib import import_module

PLATFORMS = ("facebook", "x", "youtube", "mastodon", "bluesky")
_CLASSES = {
    "facebook": "FacebookAdapter",
    "x": "XAdapter",
    "youtube": "YouTubeAdapter",
    "mastodon": "MastodonAdapter",
    "bluesky": "BlueskyAdapter",
}


def get_adapter_class(platform: str):
    return getattr(import_module(f"platforms.adapters.{platform}"), _CLASSES[platform])


def get_connector_class(platform: str):
    return import_module(f"platforms.adapters.{platform}").Connector
