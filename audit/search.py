"""What an auditor types into the search box (R3), read into PostgreSQL full-text search.

The language is small on purpose, so that a mistake can be named rather than guessed at:

    flood warning        entries with both words (any form: "warnings", "flooded")
    "road closed"        the exact phrase, character for character (case aside)
    -test                entries without the word
    flood OR fire        either word

Words go through the same text-search configuration as the indexed column
(models.SEARCH_CONFIG), so the GIN index answers them; an exact phrase is also checked
against the text itself, because full-text search alone would match "roads closing".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery
from django.db.models import Q
from django.utils.translation import gettext as _

from audit.models import SEARCH_CONFIG
from smc.errors import SmcError

MAX_QUERY_CHARS = 200
MAX_TERMS = 12
_TOKEN = re.compile(r'"[^"]*"|\S+')
# Characters that carry meaning in PostgreSQL's tsquery syntax; a word made only of them
# would search for nothing.
_WORD = re.compile(r"\w", re.UNICODE)


class SearchError(SmcError):
    """A query the auditor must fix; .message says how."""


@dataclass(frozen=True)
class ParsedQuery:
    # Each group is a list of alternatives (joined by OR); groups are all required.
    groups: tuple[tuple[tuple[str, bool], ...], ...] = ()  # (text, is_phrase)
    excluded: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.groups)


def parse_query(text: str) -> ParsedQuery:
    """Read the search box. Raises SearchError naming what is wrong."""
    text = (text or "").strip()
    if not text:
        return ParsedQuery()
    if len(text) > MAX_QUERY_CHARS:
        raise SearchError(
            _("The search is too long: keep it under %(n)d characters.") % {"n": MAX_QUERY_CHARS}
        )
    if text.count('"') % 2:
        raise SearchError(
            _('A quotation mark is not closed. Put the exact phrase between two " marks.')
        )
    groups: list[list[tuple[str, bool]]] = []
    excluded: list[str] = []
    pending_or = False
    for token in _TOKEN.findall(text):
        if token == "OR":
            if not groups or pending_or:
                raise SearchError(_("OR must stand between two words, as in: flood OR fire."))
            pending_or = True
            continue
        negated = token.startswith("-") and len(token) > 1
        if negated:
            token = token[1:]
        is_phrase = token.startswith('"')
        term = token.strip('"').strip()
        if is_phrase and not term:
            raise SearchError(_('An exact phrase is empty: write words between the " marks.'))
        if not _WORD.search(term):
            raise SearchError(
                _("“%(term)s” has no letters or digits to search for.") % {"term": token}
            )
        if negated:
            if pending_or:
                raise SearchError(_("OR cannot join a word that is left out (-word)."))
            excluded.append(term)
            continue
        if pending_or:
            groups[-1].append((term, is_phrase))
            pending_or = False
        else:
            groups.append([(term, is_phrase)])
    if pending_or:
        raise SearchError(_("OR must stand between two words, as in: flood OR fire."))
    if not groups:
        raise SearchError(
            _("Say what to look for, not only what to leave out (a word without a minus).")
        )
    if sum(len(g) for g in groups) + len(excluded) > MAX_TERMS:
        raise SearchError(_("Use at most %(n)d words and phrases.") % {"n": MAX_TERMS})
    return ParsedQuery(groups=tuple(tuple(g) for g in groups), excluded=tuple(excluded))


def _term_query(term: str, is_phrase: bool) -> SearchQuery:
    # plainto/phraseto_tsquery never fail on what a person types (no tsquery syntax).
    return SearchQuery(term, search_type="phrase" if is_phrase else "plain", config=SEARCH_CONFIG)


def text_condition(parsed: ParsedQuery, *, vector: str, document: str | None = None) -> Q:
    """The filter for a parsed query over a tsvector field (`vector`) and, for exact
    phrases, the plain text it was made from (`document`, an alias the caller adds)."""
    condition = Q()
    for group in parsed.groups:
        alternatives = Q()
        for term, is_phrase in group:
            alternatives |= Q(**{vector: _term_query(term, is_phrase)})
        condition &= alternatives
    for term in parsed.excluded:
        condition &= ~Q(**{vector: _term_query(term, False)})
    if document:
        # A phrase alone inside an OR group is not required; only phrases that stand as
        # their own group must appear verbatim.
        for group in parsed.groups:
            if len(group) == 1 and group[0][1]:
                condition &= Q(**{f"{document}__icontains": group[0][0]})
    return condition
