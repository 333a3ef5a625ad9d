"""Custom terms (M2): an agency's own block list, matched on the same normalized form and
with the same disguise handling as profanity, so "b.a.d w0rd" is caught like "bad word".
Allow-listed terms are handled in policy.py: they mask matches of the block list and of the
profanity list alike.
"""

from __future__ import annotations

import re
from functools import lru_cache

from moderation.engine.hits import Hit
from moderation.engine.normalize import Normalized, normalize
from moderation.engine.profanity import allow_spans, letter_pattern


def fold_term(term: str) -> str:
    return normalize(term.strip()).compact


@lru_cache(maxsize=256)
def compile_block(terms: tuple[str, ...]) -> re.Pattern | None:
    folded = sorted({fold_term(t) for t in terms if t.strip()}, key=len, reverse=True)
    if not folded:
        return None
    # Same disguise handling as profanity: leet, masks, stretched letters; spaces optional
    # because spaced letters are joined across words in the compact form.
    alternatives = (
        r"\s*".join(
            letter_pattern(word) if word.isalpha() and word.isascii() else re.escape(word)
            for word in term.split()
        )
        for term in folded
    )
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alternatives) + r")(?![a-z])")


def find(norm: Normalized, pattern: re.Pattern | None, allow: tuple[str, ...]) -> Hit | None:
    if pattern is None:
        return None
    text = norm.compact
    allowed = None
    for match in pattern.finditer(text):
        if allowed is None:
            allowed = allow_spans(text, allow)
        start, end = match.span()
        if any(a <= start and end <= b for a, b in allowed):
            continue
        o_start, o_end = norm.span(start, end, form="compact")
        shown = norm.original[o_start:o_end]
        return Hit(
            rule="custom.block",
            start=o_start,
            end=o_end,
            explanation=f"Custom term: “{shown}” is on this agency's block list.",
        )
    return None
