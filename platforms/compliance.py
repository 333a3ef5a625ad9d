"""C3: does a channel's public profile say what the agency's policy requires?

Three things, each explained when missing: the agency's affiliation, the agency's
"not monitored 24/7" statement, and a link to the agency's website.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from platforms.adapters.base import Profile


def _plain(text: str) -> str:
    """Compare like a person reads: case, dashes, quotes and spacing do not matter."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    text = re.sub(r"[\u2010-\u2015\u2212\-]+", "-", text)
    text = re.sub(r"[\u2018\u2019\u201c\u201d'\"`]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _site(url: str) -> str:
    parts = urlsplit(url if "//" in url else f"//{url}")
    host = (parts.hostname or "").removeprefix("www.")
    return host + parts.path.rstrip("/")


def profile_problems(
    profile: Profile, *, agency_name: str, statement: str, website: str
) -> list[str]:
    """What the profile lacks, in words an administrator can act on. Empty: compliant."""
    problems = []
    text = _plain(f"{profile.display_name} {profile.bio}")
    if _plain(agency_name) not in text:
        problems.append(_("It does not name the agency (“%s”).") % agency_name)
    if _plain(statement) not in _plain(profile.bio):
        problems.append(_("It does not say “%s”.") % statement)
    if website:
        wanted = _site(website)
        where = f"{profile.website} {profile.bio}"
        found = [
            _site(u) for u in re.findall(r"(?:https?://)?[\w.-]+\.[a-z]{2,}[^\s]*", where, re.I)
        ]
        if not any(f == wanted or f.startswith(wanted + "/") for f in found):
            problems.append(_("It does not link to the agency's website (%s).") % website)
    else:
        problems.append(_("The agency has no website set, so the link cannot be checked."))
    return problems
