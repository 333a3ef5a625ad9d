"""Pre-publish checks (P5): profanity, personal data, length per chosen channel, links.

One implementation with the comment engine: the words, phones, emails, addresses, dates
of birth and plates are found by moderation.engine's own detectors (posting may use them;
moderation never imports posting). What differs is the reading: a comment is hidden by
a hit, a post with a failed check goes to a supervisor, even from a trusted author.

Results are plain dicts, stored on post.check_results and read by approval:
    {"check": "profanity" | "personal_data" | "length" | "links",
     "ok": bool, "message": str, "span": [start, end] | None, "channel": id (length only)}
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from moderation.engine import personal_data, profanity, spam
from moderation.engine.normalize import normalize
from platforms import length as platform_length
from platforms.models import Channel
from posting.lengths import measure, too_long_message

# Government and public-safety sites outside .gov/.gc.ca/.gouv/.mil/.edu (those are
# always allowed): links an agency routinely shares. Everything else is "unknown" and
# goes past a supervisor; the agency's own website is always allowed.
KNOWN_PUBLIC_DOMAINS = (
    "canada.ca", "usa.gov", "redcross.org", "who.int", "noaa.gov", "ready.gov",
    "getprepared.ca", "quebec.ca", "ontario.ca", "alberta.ca", "gov.bc.ca", "gov.uk",
)  # fmt: skip


def failures(results: list[dict]) -> list[dict]:
    return [result for result in results if not result.get("ok")]


def run_checks(*, text: str, channels: list[Channel], agency,
               descriptions: list[str] = ()) -> list[dict]:  # fmt: skip
    """`descriptions`: the photos' alt texts, public too (no span: they are not the text)."""
    norm = normalize(text)
    results = [_profanity(norm), *_personal_data(norm)]
    results.extend(_length(text, channel) for channel in channels)
    results.extend(_links(text, norm, agency))
    for description in descriptions:
        results.extend(_description(description))
    return results


def _description(description: str) -> list[dict]:
    norm = normalize(description)
    hits = [
        ("profanity", profanity.find(norm)),
        ("personal_data", personal_data.find_contact(norm)),
        ("personal_data", personal_data.find_identity(norm)),
        ("personal_data", personal_data.find_plate(norm)),
    ]
    return [
        {"check": check, "ok": False, "span": None,
         "message": _("Photo description: %s") % hit.explanation}
        for check, hit in hits if hit is not None
    ]  # fmt: skip


def _result(check: str, hit=None, ok_message: str = "", **extra) -> dict:
    if hit is None:
        return {"check": check, "ok": True, "message": ok_message, "span": None, **extra}
    return {"check": check, "ok": False, "message": hit.explanation,
            "span": [hit.start, hit.end], **extra}  # fmt: skip


def _profanity(norm) -> dict:
    return _result("profanity", profanity.find(norm), _("No profanity found."))


def _personal_data(norm) -> list[dict]:
    hits, spans = [], set()
    for hit in (
        personal_data.find_contact(norm),
        personal_data.find_identity(norm),
        personal_data.find_plate(norm),  # an owned plate is found by both: once is enough
    ):
        if hit is not None and (hit.start, hit.end) not in spans:
            spans.add((hit.start, hit.end))
            hits.append(hit)
    if not hits:
        none_found = _("No phone numbers, emails, addresses, dates of birth or plates found.")
        return [_result("personal_data", None, none_found)]
    return [_result("personal_data", hit) for hit in hits]


def _length(text: str, channel: Channel) -> dict:
    found = measure(text, channel)
    if found.fits:
        message = _("%(channel)s: %(used)s of %(limit)s.") % {
            "channel": channel.name,
            "used": f"{found.used:,}",
            "limit": f"{found.limit:,}",
        }
        return {"check": "length", "ok": True, "message": message, "span": None,
                "channel": channel.pk}  # fmt: skip
    return {"check": "length", "ok": False, "message": too_long_message(found, channel),
            "span": None, "channel": channel.pk}  # fmt: skip


def _domain(url: str) -> str:
    if not url.lower().startswith(("http://", "https://")):
        url = "https://" + url
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _allowed(domain: str, own: str) -> bool:
    def within(base: str) -> bool:
        return bool(base) and (domain == base or domain.endswith("." + base))

    if within(own) or any(within(known) for known in KNOWN_PUBLIC_DOMAINS):
        return True
    return bool(spam.OFFICIAL.search(domain))


def _found_links(text: str, norm):
    """Links as the platforms make them clickable (a scheme or www.), then bare domains
    as the spam detector finds them ("bit.ly/abc"), each once."""
    spans = [match.span() for match in platform_length.URL.finditer(text)]
    for match in spam.LINK.finditer(norm.plain):
        start, end = norm.span(*match.span())
        if start and text[start - 1] == "@":
            continue  # the domain of an email address, which personal data looks at
        if not any(start < e and s < end for s, e in spans):
            spans.append((start, end))
    return sorted(spans)


def _links(text: str, norm, agency) -> list[dict]:
    own = _domain(agency.website) if agency.website else ""
    results = []
    for start, end in _found_links(text, norm):
        link = text[start:end]
        domain = _domain(link)
        span = [start, end]
        if domain in spam.SHORTENERS:
            message = _("“%(link)s” is a shortened link: people cannot see where it goes. "
                        "Use the full address.") % {"link": link}  # fmt: skip
        elif not _allowed(domain, own):
            message = _("“%(domain)s” is not the agency's website or a known government site: "
                        "a supervisor will check it.") % {"domain": domain}  # fmt: skip
        else:
            continue
        results.append({"check": "links", "ok": False, "message": message, "span": span})
    if not results:
        message = _("Links, if any, go to the agency's or government sites.")
        results.append({"check": "links", "ok": True, "message": message, "span": None})
    return results
