"""Records kept by other apps that the auditor searches and exports with the log (R3, R4).

Posts (every revision) and comments (every version) are public records, but they live in
posting and moderation, and audit imports no app. So each of those apps registers a
`RecordSource` from its AppConfig.ready(): audit calls it with the auditor's terms and
shows, opens and exports what it returns, without knowing its tables.

    # moderation/apps.py
    def ready(self):
        from moderation.records import register_comment_versions
        register_comment_versions()

A source answers in its own agency scope (the caller's): it uses its scoped managers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from audit.search import ParsedQuery


@dataclass(frozen=True)
class Terms:
    """What the auditor asked for, in the shape every source reads."""

    query: ParsedQuery = ParsedQuery()
    since: date | None = None
    until: date | None = None
    person: str = ""
    channel: str = ""


@dataclass(frozen=True)
class Hit:
    """One search result from a source."""

    record_id: str
    when: datetime
    title: str
    excerpt: str = ""
    person: str = ""
    channel: str = ""


@dataclass(frozen=True)
class Version:
    """One version of a record, oldest first: what it said and the SHA-256 of that."""

    seq: int
    kind: str
    when: datetime
    text: str
    sha256: str


@dataclass(frozen=True)
class Record:
    """The full record behind a hit, for its page and its export line."""

    record_id: str
    title: str
    facts: list[tuple[str, str]]
    versions: list[Version]
    # How the record names this object in the log, so its page lists the chain entries
    # about it (object_type and object_id of AuditEvent).
    object_type: str = ""
    object_id: str = ""
    # Files (photos, video) that belong to the record: (name in the package, opener).
    media: list[tuple[str, Callable]] = field(default_factory=list)


@dataclass(frozen=True)
class RecordSource:
    key: str  # in URLs and package file names: "comments"
    label: str  # what the auditor reads: "Comments (every version)"
    # (agency_id, terms, limit) -> newest hits first
    search: Callable[[int, Terms, int], list[Hit]]
    # (agency_id, record_id) -> Record; raises smc.errors.NotFound
    get: Callable[[int, str], Record]
    # (agency_id, terms) -> JSON-ready dicts, one per version, in a stable order
    export_rows: Callable[[int, Terms], Iterator[dict]]


_SOURCES: dict[str, RecordSource] = {}


def register_source(source: RecordSource) -> None:
    """Called once per source from its app's ready(); a second call replaces the first
    (Django may call ready() twice in tests)."""
    _SOURCES[source.key] = source


def record_sources() -> list[RecordSource]:
    return sorted(_SOURCES.values(), key=lambda s: s.key)


def get_source(key: str) -> RecordSource | None:
    return _SOURCES.get(key)
