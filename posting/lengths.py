"""How long a post is on each chosen channel, as that platform counts it (P1).

The counting rules live in platforms/length.py (the adapters use the same functions to
refuse an over-long post); this module only picks the rule and the limit for a channel
without touching its credentials, so the composer can show them on every keystroke.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from platforms import length
from platforms.models import Channel, Platform

# Mastodon's defaults when a channel was connected before its instance's limits were read
# (the adapter's own defaults, platforms/adapters/mastodon.py).
MASTODON_DEFAULT_LIMIT = 500
MASTODON_DEFAULT_PER_URL = 23


@dataclass(frozen=True)
class Measure:
    channel_id: int
    used: int
    limit: int
    unit: str  # what is counted, in the author's words
    extra_problem: str = ""  # a second limit the platform has (Bluesky's bytes)

    @property
    def fits(self) -> bool:
        return self.used <= self.limit and not self.extra_problem

    @property
    def left(self) -> int:
        return self.limit - self.used


def measure(text: str, channel: Channel) -> Measure:
    platform = channel.platform
    if platform == Platform.X:
        return Measure(channel.pk, length.x_weighted_length(text), length.X_LIMIT,
                       _("characters (links count 23, CJK and emoji 2)"))  # fmt: skip
    if platform == Platform.MASTODON:
        limit = int(channel.settings.get("max_characters") or MASTODON_DEFAULT_LIMIT)
        per_url = int(
            channel.settings.get("characters_reserved_per_url") or MASTODON_DEFAULT_PER_URL
        )
        return Measure(channel.pk, length.mastodon_length(text, per_url=per_url), limit,
                       _("characters on this server (links count %d)") % per_url)  # fmt: skip
    if platform == Platform.BLUESKY:
        extra = ""
        if len(text.encode()) > length.BLUESKY_BYTES:
            extra = _("Bluesky also allows at most %(bytes)s bytes; this text has %(used)s.") % {
                "bytes": f"{length.BLUESKY_BYTES:,}",
                "used": f"{len(text.encode()):,}",
            }
        return Measure(channel.pk, length.graphemes(text), length.BLUESKY_GRAPHEMES,
                       _("characters (as you see them)"), extra)  # fmt: skip
    return Measure(channel.pk, len(text), length.FACEBOOK_LIMIT, _("characters"))


def too_long_message(measure: Measure, channel: Channel) -> str:
    if measure.extra_problem:
        return measure.extra_problem
    message = _("Too long for %(channel)s: %(used)s of %(limit)s %(unit)s. Shorten it by %(over)s.")
    return message % {
        "channel": channel.name,
        "used": f"{measure.used:,}",
        "limit": f"{measure.limit:,}",
        "unit": measure.unit,
        "over": f"{-measure.left:,}",
    }
