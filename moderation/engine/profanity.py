"""Profanity (M2): strong vulgar and sexual words in English, Spanish and French, including
Quebec sacres, in any disguise.

Words are written plainly in ``LEXICON``; ``letter_pattern`` turns each into a regex in
which every letter also accepts its leetspeak stand-ins (``$h!t``, ``a55hole``, ``bi+ch``),
a mask after the first letter (``f***``, ``sh*t``, ``f🦆ck`` once normalize.py has turned the
emoji into ``*``) and repetition (``shhhiiiittt``, ``fuuuuck``). Matching runs on the
``compact`` form (spaced and zero-width-split letters already joined), so one compiled
alternation covers every obfuscation in a single pass.

A compiled regex rather than an Aho-Corasick automaton (pyahocorasick): the disguises are
character classes and repetitions, which a literal-string automaton cannot express without
enumerating millions of spellings; grouping the alternation by first letter keeps one pass
fast enough (see _grouped).

Words match whole, with the inflections listed, never as a bare substring: that is what
keeps Scunthorpe, Cockeysville, Titusville, cocktail, shiitake and analysis clean (M5).
"""

from __future__ import annotations

import re

from moderation.engine.hits import Hit
from moderation.engine.normalize import Normalized

# Leetspeak stand-ins per letter. A mask (``*`` or ``#``) may stand for any letter but the first.
MASK = "*#"
# A stretched letter repeats at most this often: bounded so that a hostile run of one
# character costs linear time, not quadratic.
REPEAT = "{1,32}"
LEET = {
    "a": "a@4", "b": "b8", "e": "e3€", "g": "g9", "i": "i1!|", "l": "l1|", "o": "o0",
    "s": "s$5", "t": "t7+", "u": "uv", "c": "c(", "k": "kq",
}  # fmt: skip

# Common English inflections allowed after a word.
INFLECT = r"(?:s|es|ed|er|ers|ing|in|y|ies)?"

# word -> allowed suffix pattern. A leading "~" lets the word end a compound
# ("bullshit", "motherfucker"); a trailing "~" lets any letters follow ("fuckwits").
LEXICON: dict[str, str] = {
    # English
    "~fuck~": "", "fuk~": "", "fuq~": "", "phuck~": "", "phuk~": "", "fck": INFLECT,
    "fcking": "", "fckin": "", "fking": "", "fkin": "",
    "~shit": r"(?:s|ty|tier|tiest|e|head|heads|hole|holes|show|shows|ter|ters|ting|ted"
    r"|bag|bags|face|load|storm|stain|stains)?",
    "~asshole": "s?", "arsehole": "s?", "asshat": "s?", "asswipe": "s?", "assclown": "s?",
    "ass": "(?:es)?", "dumbass": "(?:es)?", "jackass": "(?:es)?", "smartass": "(?:es)?",
    "fatass": "(?:es)?", "badass": "(?:es)?", "arse": "s?",
    "~bitch": r"(?:es|y|ing|ass)?", "bastard": "s?", "cunt": "s?", "twat": "s?",
    "wank~": "", "prick": "s?", "dick": r"(?:s|head|heads|wad|wads|face|less)?",
    "cock": r"(?:s|sucker|suckers|sucking|head|heads)?", "pussy": "", "pussies": "",
    "tits": "", "titty": "", "titties": "", "dildo": "s?", "cum": r"(?:shot|shots)?",
    "slut": "s?", "whore": "s?", "blowjob": "s?", "handjob": "s?", "jizz": "",
    "douchebag": "s?", "bollocks": "", "nigger": "s?", "nigga": "s?", "faggot": "s?",
    "fag": "s?", "kike": "s?",
    # Spanish
    "mierda": "s?", "pendej": "(?:o|os|a|as)", "puta": "s?", "puto": "s?", "chinga~": "",
    "cabron": "(?:es|a|as)?", "pinche": "s?", "verga": "s?", "culero": "s?", "joder": "",
    "jodido": "s?", "gilipollas": "", "maricon": "(?:es)?", "cagar": "", "cago": "",
    # French
    "merde": "s?", "merdique": "s?", "putain": "s?", "pute": "s?", "encul": "(?:e|es|er|ee|ees)",
    "connard": "s?", "connasse": "s?", "salope": "s?", "chier": "", "niqu": "(?:e|er|ez)",
    # Quebec sacres
    "tabarnak": "s?", "tabarnac": "s?", "tabarnaque": "s?", "tabernak": "s?", "calisse": "s?",
    "caliss": "", "crisse": "s?", "ostie": "s?", "osti": "", "estie": "s?", "esti": "",
    "ciboire": "s?", "viarge": "s?", "sacrament": "s?",
}  # fmt: skip

# Words that are also names: "Dick's Sporting Goods", "Moby Dick", "Dildo, Newfoundland".
# Written capitalized and undisguised they are taken as a name, not as the insult.
NAMEABLE = frozenset(["dick", "cock", "dildo", "cum", "fag", "pute"])

# Standard allow list: real words and places that contain a listed word's letters across
# the boundaries the patterns use. Agencies add their own through Policy.allow_terms.
DEFAULT_ALLOW = (
    "scunthorpe", "middlesex", "cocktail", "cocktails", "analysis", "penistone", "cum laude",
    "magna cum laude", "summa cum laude", "pussy willow", "pussy willows", "cocker spaniel",
    "shiitake", "dick's", "hancock", "titusville", "assiniboine", "cunningham", "cockeysville",
    "sussex", "essex", "dickinson", "sacrament", "sacraments",
)  # fmt: skip
# "sacrament" is an English word first; the Quebec sacre is spelled "sacrament" too, so it
# stays in LEXICON for French text but is allowed by default. Agencies in Quebec can drop it.


def letter_pattern(word: str) -> str:
    parts = []
    for index, letter in enumerate(word):
        options = LEET.get(letter, letter)
        if index:
            options += MASK
        parts.append("[" + re.escape(options) + "]" + REPEAT)
    return "".join(parts)


def _suffix_pattern(suffix: str) -> str:
    """Let a suffix's letters be stretched, leet or masked too ("dickh34d$", "sh*ttyyyy")."""
    suffix = re.sub(r"([a-z])\?", r"(?:\1)?", suffix)
    return re.sub(
        r"[a-z]",
        lambda m: "[" + re.escape(LEET.get(m.group(), m.group()) + MASK) + "]" + REPEAT,
        suffix,
    )


def _entry_pattern(entry: str, suffix: str, *, first: bool = True) -> str:
    # Bounded: compounds put a short word in front ("mother", "bull"), and an unbounded
    # lazy prefix would make a long run of letters quadratic.
    prefix = "[a-z0-9@$!*#]{0,12}?" if entry.startswith("~") else ""
    word = entry.strip("~")
    tail = "[a-z0-9@$!+*#]*" if entry.endswith("~") else _suffix_pattern(suffix)
    body = letter_pattern(word)
    if not first:  # the first letter's class is shared by its group, see _grouped
        body = body[body.index("]" + REPEAT) + 1 + len(REPEAT) :]
    return f"(?P<w_{_name(word)}>{prefix}{body}{tail})"


def _grouped() -> str:
    """One branch per first letter, so the engine tries a handful of words at each word
    start instead of all of them (part of keeping >= 5,000 comments/s)."""
    branches = [_entry_pattern(e, s) for e, s in LEXICON.items() if e.startswith("~")]
    by_first: dict[str, list[str]] = {}
    for entry, suffix in LEXICON.items():
        if not entry.startswith("~"):
            by_first.setdefault(entry[0], []).append(_entry_pattern(entry, suffix, first=False))
    for letter, rests in by_first.items():
        head = "[" + re.escape(LEET.get(letter, letter)) + "]" + REPEAT
        branches.append(head + "(?:" + "|".join(rests) + ")")
    return "|".join(branches)


# Phrases: vulgar only as a whole.
PHRASES = (
    letter_pattern("blow")
    + r"\s+"
    + letter_pattern("me")
    + r"(?!\s+(?:away|down|off|up|over|out|a\s+kiss))",
)


def _name(word: str) -> str:
    return re.sub(r"[^a-z]", "_", word)


_PATTERN = re.compile(
    r"(?<![a-z0-9])(?:"
    + _grouped()
    + "|"
    + "|".join(f"(?P<p{i}>{p})" for i, p in enumerate(PHRASES))
    + r")(?![a-z])"
)


_ROOTS = {f"p{i}": "vulgar phrase" for i in range(len(PHRASES))}


def allow_spans(text: str, terms: tuple[str, ...]) -> list[tuple[int, int]]:
    spans = []
    for term in terms:
        start = text.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = text.find(term, start + 1)
    return spans


def find(norm: Normalized, allow_terms: tuple[str, ...] = DEFAULT_ALLOW) -> Hit | None:
    text = norm.compact
    allowed = None
    for match in _PATTERN.finditer(text):
        if allowed is None:
            allowed = allow_spans(text, allow_terms)
        start, end = match.span()
        # Digits alone are a number, not leetspeak ("555-310-4455" is no "ass").
        if match.group().isdigit():
            continue
        if any(a <= start and end <= b for a, b in allowed):
            continue
        root = (match.lastgroup or "").removeprefix("w_")
        o_start, o_end = norm.span(start, end, form="compact")
        shown = norm.original[o_start:o_end]
        if root in NAMEABLE and shown.isalpha() and shown.istitle():
            continue
        return Hit(
            rule="profanity.word",
            start=o_start,
            end=o_end,
            explanation=f"Profanity: “{shown}” is a listed vulgar word ({_ROOTS.get(root, root)}) "
            "once disguises are removed.",
        )
    return None
