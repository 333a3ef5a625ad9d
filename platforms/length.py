"""How long a text is, as each platform counts it (C2, P1).

- X: twitter-text v3 weighting: NFC, then each code point weighs 1 in the Latin and
  punctuation ranges and 2 elsewhere; an emoji sequence weighs 2 in all; every URL 23.
- Mastodon: graphemes, every URL the instance's characters_reserved_per_url (23).
- Bluesky: graphemes (URLs in full) and at most 3,000 UTF-8 bytes.
- Facebook: characters; YouTube takes no posts.
"""

import unicodedata

import regex

# A URL as the platforms' own tokenisers find one: a scheme, or www., then no spaces.
URL = regex.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"]+[^\s<>\"'.,;:!?)\]]")
_EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}")
_X_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))

X_LIMIT = 280
BLUESKY_GRAPHEMES = 300
BLUESKY_BYTES = 3000
FACEBOOK_LIMIT = 63206


def graphemes(text: str) -> int:
    return len(regex.findall(r"\X", text))


def urls(text: str) -> list[str]:
    return URL.findall(text)


def _x_weight(cluster: str) -> int:
    if _EMOJI.search(cluster):
        return 2
    weight = 0
    for char in cluster:
        point = ord(char)
        weight += 1 if any(low <= point <= high for low, high in _X_LIGHT) else 2
    return weight


def x_weighted_length(text: str) -> int:
    text = unicodedata.normalize("NFC", text)
    length, position = 0, 0
    for match in URL.finditer(text):
        length += sum(_x_weight(c) for c in regex.findall(r"\X", text[position : match.start()]))
        length += 23
        position = match.end()
    return length + sum(_x_weight(c) for c in regex.findall(r"\X", text[position:]))


def mastodon_length(text: str, *, per_url: int = 23) -> int:
    found = urls(text)
    return graphemes(URL.sub("", text)) + per_url * len(found)


def bluesky_fits(text: str) -> bool:
    return graphemes(text) <= BLUESKY_GRAPHEMES and len(text.encode()) <= BLUESKY_BYTES
