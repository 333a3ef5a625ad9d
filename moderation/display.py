"""Public comments shown to the agency's people: untrusted text, always escaped.

- `marked_text` escapes a comment and makes every invisible character visible as a
  marked ⟦U+200B⟧ token, so a reviewer sees the zero-width spaces and bidi controls that
  may be hiding a word or reversing what the screen shows; an optional span (a decision's
  match) is wrapped in <mark>.
- `sanitized_html` is the one way platform HTML (Mastodon's status content) is shown: nh3
  (Python binding of the Rust Ammonia sanitizer, parsed with html5ever like a browser, so
  mutation-XSS tricks that fool regex or stdlib cleaners do not survive) keeps a few text
  tags and http(s) links, nothing else. The raw HTML stays archived as it came.
"""

from __future__ import annotations

import unicodedata

import nh3
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Characters that render as nothing or as blank look-alikes: format characters (Cf:
# zero-width, bidi controls, BOM, soft hyphen), controls other than line breaks and tabs,
# unusual spaces, and the fillers that spammers use as invisible letters.
_FILLERS = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x180E}
_VISIBLE_CONTROLS = {"\n", "\t"}


def is_invisible(char: str) -> bool:
    if char in _VISIBLE_CONTROLS or char == " ":
        return False
    category = unicodedata.category(char)
    return (
        category in ("Cf", "Cc", "Co", "Cn", "Zl", "Zp")
        or (category == "Zs")
        or ord(char) in _FILLERS
        or 0xFE00 <= ord(char) <= 0xFE0F  # variation selectors that change nothing visible
        or 0xE0000 <= ord(char) <= 0xE007F  # tag characters ("ASCII smuggling")
    )


def _token(char: str) -> SafeString:
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "unnamed character").title()
    return format_html(
        '<span class="invisible-char" title="{} ({})" data-codepoint="{}">⟦{}⟧</span>',
        name, code, code, code,
    )  # fmt: skip


def _pieces(text: str):
    """Escaped runs of ordinary text and a token for each invisible character."""
    plain_from = 0
    for index, char in enumerate(text):
        if is_invisible(char):
            yield text[plain_from:index]
            yield _token(char)
            plain_from = index + 1
    yield text[plain_from:]


def marked_text(text: str | None, start: int | None = None, end: int | None = None) -> SafeString:
    """The text escaped with invisible characters shown; text[start:end] in <mark>.
    Built with format_html only: every run of the comment goes through escaping."""
    text = text or ""
    if start is None or end is None or not 0 <= start < end <= len(text):
        return format_html_join("", "{}", ((piece,) for piece in _pieces(text)))
    return format_html(
        '{}<mark class="decision-span">{}</mark>{}',
        marked_text(text[:start]),
        marked_text(text[start:end]),
        marked_text(text[end:]),
    )


_ALLOWED_TAGS = {"p", "br", "a", "span"}
_ALLOWED_ATTRIBUTES = {"a": {"href"}}


def sanitized_html(html: str | None) -> SafeString:
    """Platform HTML reduced to paragraphs, line breaks and http(s) links."""
    cleaned = nh3.clean(
        html or "",
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow ugc",
        strip_comments=True,
    )
    # The one string shown as HTML that did not come from our templates: nh3's output,
    # which holds only the tags and attributes allowed above. Nothing else may do this.
    return SafeString(cleaned)


def platform_html(version) -> str | None:
    """The HTML a platform sent with this version, where it sends HTML (Mastodon)."""
    raw = version.raw if isinstance(version.raw, dict) else {}
    status = raw.get("status")
    if isinstance(status, dict) and isinstance(status.get("content"), str):
        return status["content"]
    return None
