"""The normalized forms the detectors match on, with a map back to the original offsets.

Two forms are built in one pass over the characters:

- ``plain``: compatibility-decomposed (NFKD, so fullwidth and math-alphabet letters become
  ASCII), diacritics dropped, casefolded, zero-width and bidi controls removed, Cyrillic and
  Greek look-alikes folded to Latin, typographic quotes made ASCII. Threat, personal-data and
  spam rules read this form.
- ``compact``: ``plain`` with single letters joined across separators ("f u c k",
  "s.h.i.t", "f-u-c-k") and an emoji or symbol standing inside a word turned into the mask
  ``*``. The profanity rules read this form; they handle leetspeak, masks and stretched
  letters in their own patterns (see profanity.py), so no information is lost here.

Each form keeps ``offsets[i]``: the index in the original text of its i-th character, so a
decision's span always points into what the person actually wrote (M5: explainable).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Zero-width, joiner, bidi and variation-selector characters: invisible, used to split words.
INVISIBLE = frozenset(
    [0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x2060, 0x2061, 0x2062]
    + [0x2063, 0x2064, 0xFEFF, 0x3164, 0xFFA0]
    + list(range(0x200B, 0x2010))  # ZWSP, ZWNJ, ZWJ, LRM, RLM
    + list(range(0x202A, 0x202F))  # LRE..RLO
    + list(range(0x2066, 0x206A))  # LRI..PDI
    + list(range(0xFE00, 0xFE10))  # variation selectors
)

# Look-alike letters (Unicode "confusables") from the scripts used to disguise Latin words.
# A hand-kept table rather than the confusable-homoglyphs package: we only need the few
# dozen Cyrillic/Greek letters that pass for Latin ones, as a dict lookup per character
# (the engine must handle >= 5,000 comments/s), and the package answers a different
# question (is this string mixed-script?) with a per-call scan of its whole data file.
CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "ё": "e", "һ": "h", "і": "i",
    "ї": "i", "ј": "j", "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p",
    "ԛ": "q", "г": "r", "ѕ": "s", "т": "t", "ц": "u", "џ": "u", "у": "y", "ѵ": "v",
    "ԝ": "w", "х": "x", "ү": "y", "з": "3", "ь": "b", "ъ": "b", "п": "n", "и": "u",
    # Greek
    "α": "a", "β": "b", "γ": "y", "δ": "d", "ε": "e", "η": "n", "ι": "i", "κ": "k",
    "ν": "v", "ο": "o", "ρ": "p", "σ": "o", "ς": "c", "τ": "t", "υ": "u", "χ": "x",
    "ω": "w", "μ": "u", "ϲ": "c", "ϳ": "j",
    # Latin look-alikes that NFKD keeps
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ɑ": "a",
    "ɡ": "g", "ʀ": "r", "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ɢ": "g",
    "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o",
    "ᴘ": "p", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y",
    "ᴢ": "z",
    # Typography
    "\u2018": "'", "\u2019": "'", "\u201b": "'", "\u02bc": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u2010": "-", "\u2011": "-", "\u2012": "-",
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00b7": "\u00b7", "\u2022": "\u00b7",
    "\u00a0": " ", "\u202f": " ", "\u3000": " ",
}  # fmt: skip


@lru_cache(maxsize=8192)
def fold_char(char: str) -> str:
    """The plain form of one character ("" when it is invisible)."""
    if ord(char) in INVISIBLE:
        return ""
    if char in CONFUSABLES:
        return CONFUSABLES[char]
    if char.isascii():
        return char.lower()
    out = []
    for part in unicodedata.normalize("NFKD", char):
        if unicodedata.combining(part):
            continue
        part = CONFUSABLES.get(part, part)
        lowered = part.casefold()
        out.append(CONFUSABLES.get(lowered, lowered))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Normalized:
    original: str
    plain: str
    plain_offsets: tuple[int, ...]
    compact: str
    compact_offsets: tuple[int, ...]

    def span(self, start: int, end: int, *, form: str = "plain") -> tuple[int, int]:
        """Map [start, end) in a normalized form back to the original text."""
        offsets = self.plain_offsets if form == "plain" else self.compact_offsets
        if not offsets:
            return 0, 0
        start = min(start, len(offsets) - 1)
        end = max(end, start + 1)
        last = offsets[min(end, len(offsets)) - 1]
        # A decomposed character ("ﬁ" -> "fi") ends where its original character ends.
        return offsets[start], last + 1


# Three or more single letters (or leet symbols) separated by spaces, dots, hyphens,
# underscores or middle dots: "f u c k", "s.h.i.t.", "F-U-C-K", "a  s  s  h  a  t".
_SPACED = re.compile(
    r"(?<![\w@$*])[\w@$*](?:[ .\-_\u00b7]{1,3}[\w@$*](?![\w@$*])){2,}(?:\.(?=\s|$))?"
)
_JOINERS = re.compile(r"[ .\-_\u00b7]+")
# An emoji or other symbol standing for a letter inside a word: "f🦆ck".
# At the end of a word too ("assh0l🦆"), but only after two letters.
_SYMBOL_IN_WORD = re.compile(
    r"(?<=[a-z*])[^\x00-\x7f\w\s](?=[a-z*])|(?<=[a-z][a-z])[^\x00-\x7f\w\s](?=[\s.,!?]|$)"
)


def normalize(text: str) -> Normalized:
    chars: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        folded = fold_char(char)
        for part in folded:
            chars.append(part)
            offsets.append(index)
    plain = "".join(chars)

    compact_chars = list(plain)
    compact_offsets = list(offsets)
    if _SYMBOL_IN_WORD.search(plain):
        for match in _SYMBOL_IN_WORD.finditer(plain):
            compact_chars[match.start()] = "*"
    keep = None
    for match in _SPACED.finditer(plain):
        if keep is None:
            keep = [True] * len(compact_chars)
        for sep in _JOINERS.finditer(plain, match.start(), match.end()):
            for i in range(sep.start(), sep.end()):
                keep[i] = False
    if keep is not None:
        compact_chars = [c for c, k in zip(compact_chars, keep, strict=True) if k]
        compact_offsets = [o for o, k in zip(compact_offsets, keep, strict=True) if k]
    return Normalized(
        original=text,
        plain=plain,
        plain_offsets=tuple(offsets),
        compact="".join(compact_chars),
        compact_offsets=tuple(compact_offsets),
    )
