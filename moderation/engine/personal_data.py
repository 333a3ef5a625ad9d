"""Personal data (M2): identifying or contact data of a private person.

Fires on private phones (any format, spelled-out digits included), personal emails (also
"at gmail dot com", ``[at]``), home addresses, SSN/SIN, driver's licences, dates of birth
and a plate tied to a named owner. Stays quiet on institutional contacts (M5: the public's
own government numbers must never be hidden): N11 numbers (911, 311, 211, 511, 811, 988)
are too short to match, toll-free hotlines are skipped, and a number or address introduced
as an office, line, hotline, department or public building is taken as institutional.
Emails at government domains or generic office mailboxes (pio@, clerk@) are too.

Regexes rather than the phonenumbers package: comments are free text with spelled-out and
oddly spaced numbers, the data is North American with a 555 exchange that phonenumbers
rightly calls invalid, and a compiled regex keeps the engine far above 5,000 comments/s.
"""

from __future__ import annotations

import re

from moderation.engine.hits import Hit
from moderation.engine.normalize import Normalized

_SEP = r"[\s.\-\u00b7]{0,3}"
PHONE = re.compile(
    rf"(?<![\w+])(?:\+?1{_SEP})?(?:\(\s*(\d{{3}})\s*\)|(\d{{3}})){_SEP}\d{{3}}{_SEP}\d{{4}}(?!\d)"
    rf"|\+\d{{2,3}}[\s.\-]?\d{{2,4}}[\s.\-]?\d{{3,4}}[\s.\-]?\d{{3,4}}(?!\d)"
)
TOLL_FREE = frozenset(["800", "888", "877", "866", "855", "844", "833"])
_DIGIT_WORDS = (
    "zero|oh|one|two|three|four|five|six|seven|eight|nine|cero|uno|dos|tres|cuatro|cinco|seis"
    "|siete|ocho|nueve|deux|trois|quatre|cinq|sept|huit|neuf"
)
SPELLED_PHONE = re.compile(rf"\b(?:{_DIGIT_WORDS})(?:[\s,.\-]+(?:{_DIGIT_WORDS})){{6,}}\b")
INSTITUTION = re.compile(
    r"\b(?:line|ligne|linea|hotline|helpline|lifeline|office|bureau|oficina|non-?emergency"
    r"|non urgente|urgences?|department|dept|services?|records|animal control|tips?|county"
    r"|city|station|centre|center|eoc|police|fire|sheriff'?s?|desk|dispatch|program|crisis"
    r"|control|clinic|hospital|courthouse|clerk|city hall|public works|permit|info\w*)\b"
)
PRIVATE = re.compile(
    r"\b(?:cell|cellphone|mobile|personal|home (?:phone|number)|(?:her|his|their|my) (?:number"
    r"|phone|cell)|call me|text me|text (?:her|him)|call (?:her|him)|celular|cellulaire"
    r"|son numero|su (?:telefono|numero|celular))\b"
)

EMAIL = re.compile(
    # Bounded parts starting at a token start keep this linear on hostile input.
    r"(?<![a-z0-9._%+\-])[a-z0-9][a-z0-9._%+\-]{0,63}@[a-z0-9\-]{1,63}(?:\.[a-z0-9\-]{1,63}){0,4}"
    r"\.[a-z]{2,}\b"
    r"|(?<![a-z0-9._\-])[a-z0-9][a-z0-9._\-]{0,63}"
    r"\s*(?:\[at\]|\(at\)|\{at\}| at | chez | arroba )\s*[a-z0-9\-]+"
    r"\s*(?:\[dot\]|\(dot\)|\{dot\}| dot | point | punto |\.)\s*"
    r"(?:com|net|org|ca|fr|es|mx|co|io|edu|gov|us|uk|info|me|qc\.ca)\b"
)
INSTITUTIONAL_EMAIL = re.compile(
    r"(?:\.gov|\.gouv|\.gc\.ca|\.mil|\.edu|\.gob)(?:\.[a-z]{2})?$"
    r"|^(?:pio|info|clerk|mayor|records|media|press|contact|admin|office|dispatch|support|help"
    r"|tips|council|chief|sheriff|communications|publicaffairs|noreply|webmaster|hr|jobs)\b"
)

SSN = re.compile(
    r"\b\d{3}-\d{2}-\d{4}\b|\b(?:ssn|social security)\b\D{0,20}\d{3}\s?\d{2}\s?\d{4}\b"
)
SIN = re.compile(r"\b(?:sin|nas|social insurance)\b\D{0,20}\d{3}[\s\-]?\d{3}[\s\-]?\d{3}\b")
LICENCE = re.compile(
    r"\b(?:driver'?s? licen[cs]e|licen[cs]e (?:no|number|#)|dl|permis de conduire|licencia"
    r"(?: de conducir)?)\b(?:\s+(?:is|was|number|no\.?|#|es|est))*[\s:#]*"
    r"(?=[a-z0-9\-]*\d)[a-z0-9][a-z0-9\-]{5,}"
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|janv|fevr|avr|mai|juin|juil|aout|ene|abr|ago|dic)[a-z]*\.?"  # noqa: E501
DOB = re.compile(
    r"\b(?:dob|d\.o\.b\.?|born(?: on)?|date of birth|birth ?date|birthday|nee? le|fecha de"
    r" nacimiento|naci(?:o|do|da) el)\b[\s:,]*"
    rf"(?:\d{{1,2}}[/.\-]\d{{1,2}}[/.\-]\d{{2,4}}|{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}"
    rf"|\d{{1,2}} (?:de )?{_MONTH} (?:de )?\d{{4}})"
)

# Addresses read the original text: capitals tell a street name from ordinary words.
_STREET_TYPE = (
    r"(?:St|Street|Dr|Drive|Rd|Road|Ave|Avenue|Ln|Lane|Ct|Court|Blvd|Boulevard|Cir|Circle|Way"
    r"|Pl|Place|Ter|Terrace|Pkwy|Parkway|Hwy|Highway|Trl|Trail|Loop|Row|Sq|Square|Crescent"
    r"|Cres|Plaza|Path|Pike)"
)
ADDRESS = re.compile(
    rf"\b\d{{1,6}}[A-Za-z]?\s+(?:[A-Z][\w'\-]*\.?\s+){{1,3}}{_STREET_TYPE}\b\.?"
    r"|\b\d{1,6},?\s+(?:rue|avenue|av\.|boulevard|boul\.|chemin|rang|mont[ée]e)\s+"
    r"(?:(?:des|du|de la|de|d'|l')\s*)?[A-ZÉÈ][\w'\-]+"
    r"|\b(?:calle|avenida|av\.|privada)\s+[A-Z][\w]+(?:\s+[A-Z]\w+)?\s+\d{1,6}"
)
UNIT = re.compile(
    r"\s*,?\s*(?:Apt\.?|Apartment|apartment|apt\.?|Unit|unit|Suite|Ste\.?|#|Lot|app\.?|appartement"
    r"|depto\.?|departamento|apto\.?)\s*[\w\-]+"
)
RESIDENTIAL = re.compile(
    r"(?:\blives?\b|\bliving\b|\bhome\b|\bhouse\b|\baddress\b|\bhabite\b|\bdemeure\b|\bvive\b"
    r"|\breside|\bresides\b|\bdomicile\b)"
)
PUBLIC_PLACE = re.compile(
    r"(?:center|centre|office|lobby|courthouse|station|hall|hospital|school|library|church"
    r"|shelter|hq|headquarters|building|depot|store|mall|park|is hiring|open)\W{0,3}"
    r"(?:\w+\W+){0,3}$",
    re.IGNORECASE,
)
NAME_BEFORE = re.compile(r"[A-Z][a-z]+(?:-[A-Z][a-z]+)? [A-Z][a-z]+(?:-[A-Z][a-z]+)?,\s*$")
LIVES_ON = re.compile(
    rf"\b(?:lives|resides|is living) (?:on|at|in) (?:[A-Z][\w'\-]*\s+){{1,3}}{_STREET_TYPE}\b"
)

PLATE = re.compile(
    r"\b(?:[Pp]late|[Pp]laque|[Pp]laca|[Tt]ag)\s*(?:#|number|no\.?)?\s*:?\s*"
    r"(?=[A-Z0-9 \-]{0,9}\d)([A-Z0-9]{2,4}[ \-]?[A-Z0-9]{2,4})\b"
)
OWNER_AFTER = re.compile(
    r"^[^.!?]{0,60}?(?:registered to|belongs to|owned by|\bis [A-Z][a-z]+ [A-Z][a-z]+'s"
    r"|c'est (?:l'auto|le char|la voiture|le camion|le pick-up) de|es (?:de|el (?:carro|auto) de)"
    r" [A-Z]|\bde [A-Z][a-z]+ [A-Z][a-z]+)"
)
NAME_BEFORE_PLATE = re.compile(r"[A-Z][a-z]+ [A-Z][a-z]+,\s*(?:[A-Z]\w+\s+)?$")
PRONOUN_AFTER = re.compile(r"\b(?:[Ss]he|[Hh]e|[Hh]er|[Hh]is|[Ee]lle|[Ii]l|[Ee]lla|[Éé]l)\b")


def _sentence_before(text: str, start: int, width: int = 60) -> str:
    before = text[max(0, start - width) : start]
    cut = max(before.rfind(". "), before.rfind("! "), before.rfind("? "), before.rfind("\n"))
    return before[cut + 1 :] if cut >= 0 else before


def _phone_is_institutional(plain: str, match: re.Match) -> bool:
    area = match.group(1) or match.group(2)
    if area in TOLL_FREE:
        return True
    before = _sentence_before(plain, match.start())
    if PRIVATE.search(before):
        return False
    return bool(INSTITUTION.search(before))


def _hit(norm: Normalized, rule: str, start: int, end: int, what: str, *, plain=True) -> Hit:
    if plain:
        start, end = norm.span(start, end)
    shown = norm.original[start:end]
    return Hit(rule=rule, start=start, end=end, explanation=f"Personal data: “{shown}” {what}.")


def find_contact(norm: Normalized) -> Hit | None:
    """A private phone or email: the part a spam verdict can override (a scammer's number)."""
    plain = norm.plain
    for match in PHONE.finditer(plain):
        if not _phone_is_institutional(plain, match):
            return _hit(norm, "personal_data.phone", *match.span(), "looks like a private phone")
    match = SPELLED_PHONE.search(plain)
    if match:
        return _hit(norm, "personal_data.phone", *match.span(), "spells out a phone number")
    for match in EMAIL.finditer(plain):
        address = re.sub(r"\s*(?:\[at\]|\(at\)|\{at\}| at | chez | arroba )\s*", "@", match.group())
        local, _, domain = address.partition("@")
        domain = re.sub(r"\s*(?:\[dot\]|\(dot\)|\{dot\}| dot | point | punto )\s*", ".", domain)
        if INSTITUTIONAL_EMAIL.search(domain) or INSTITUTIONAL_EMAIL.search(local):
            continue
        return _hit(norm, "personal_data.email", *match.span(), "looks like a personal email")
    return None


def find_identity(norm: Normalized) -> Hit | None:
    """Addresses, ID numbers, dates of birth and owned plates: personal whatever the context."""
    plain, text = norm.plain, norm.original
    for pattern, rule, what in (
        (SSN, "personal_data.ssn", "is a social security number"),
        (SIN, "personal_data.sin", "is a social insurance number"),
        (LICENCE, "personal_data.licence", "is a driver's licence number"),
        (DOB, "personal_data.dob", "is a date of birth"),
    ):
        match = pattern.search(plain)
        if match:
            return _hit(norm, rule, *match.span(), what)
    for match in ADDRESS.finditer(text):
        before = _sentence_before(text, match.start())
        unit = UNIT.match(text, match.end())
        end = unit.end() if unit else match.end()
        if PUBLIC_PLACE.search(before) and not RESIDENTIAL.search(before):
            continue
        if unit or RESIDENTIAL.search(before.lower()) or NAME_BEFORE.search(before):
            return _hit(norm, "personal_data.address", match.start(), end, "is a home address",
                        plain=False)  # fmt: skip
    match = LIVES_ON.search(text)
    if match:
        return _hit(norm, "personal_data.address", *match.span(), "locates a person's home",
                    plain=False)  # fmt: skip
    for match in PLATE.finditer(text):
        after = text[match.end() :]
        named_after = OWNER_AFTER.search(after)
        before = _sentence_before(text, match.start())
        if named_after or (NAME_BEFORE_PLATE.search(before) and PRONOUN_AFTER.search(after[:80])):
            return _hit(norm, "personal_data.plate", *match.span(), "ties a plate to its owner",
                        plain=False)  # fmt: skip
    return None


def find_plate(norm: Normalized) -> Hit | None:
    """Any licence plate, owner named or not. Not used on comments (a plate alone in a
    comment is usually the poster's own report); the pre-publish check (P5) uses it,
    because a plate in the agency's own post is a decision a supervisor should see."""
    match = PLATE.search(norm.original)
    if match:
        return _hit(norm, "personal_data.plate", *match.span(), "is a licence plate",
                    plain=False)  # fmt: skip
    return None
