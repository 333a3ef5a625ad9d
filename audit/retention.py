"""Retention and legal hold (R5).

Each app registers the kinds of record it keeps (`register_record_kind`, from its
AppConfig.ready), saying how to find its expired records and how to purge them; audit
registers its own events here. The daily sweep (`purge_expired_records`, beat) purges
what is past its retention period, never a record under legal hold, and writes what it
did into the agency's chain.

Holds and purges of one agency take the same advisory lock, so a hold placed while a
purge runs is seen by the purge's next batch and never lost between its check and its
delete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import Action, Outcome
from audit.actors import system_actor
from audit.models import AuditEvent, LegalHold, RetentionRule
from audit.services import record_event
from smc.errors import NotFound, SmcError
from smc.tenancy import active_agency_id

PURGE_BATCH = 500


class RetentionError(SmcError):
    pass


class RecordsHeld(RetentionError):
    """A purge named records under legal hold: nothing was purged."""


@dataclass(frozen=True)
class Candidate:
    """One record as retention and holds see it."""

    record_id: int
    occurred_at: datetime  # the date retention counts from (its last action)
    channel_id: int | None = None
    people: tuple[str, ...] = ()  # usernames, handles, names: what a hold on a person names
    # Every channel, for a record on several (a post): a hold on any of them holds it.
    channel_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class RequestScope:
    """What a records request covers, as a kind's `records` function receives it."""

    since: datetime
    until: datetime  # exclusive
    channel_id: int | None = None
    person: str = ""


@dataclass
class RequestedRecord:
    """One record for a records request's package.

    `fields` is JSON-serialisable; `redactable` names the fields holding public text in
    which personal data may be redacted (in this copy only)."""

    kind: str
    record_id: int
    occurred_at: datetime
    label: str
    fields: dict
    redactable: tuple[str, ...] = ()
    redactions: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class RecordKind:
    name: str  # "app.thing", e.g. "moderation.comment.quiet"
    label: str
    # Called in the agency's scope: at most `limit` expired records with id > after_id,
    # in id order, dated before `cutoff`.
    expired: Callable[[datetime, int, int], list[Candidate]]
    # Called in the agency's scope and a transaction: purge these ids; returns how many.
    purge: Callable[[list[int]], int]
    # The same view of named records, for a purge asked for by hand.
    describe: Callable[[list[int]], list[Candidate]]
    default_days: int | None = None  # None: SMC_RETENTION_DEFAULT_DAYS
    minimum_days: int = 1
    # Records for a records request, in the agency's scope; None if the kind has none.
    records: Callable[[RequestScope], Iterable[RequestedRecord]] | None = None


_KINDS: dict[str, RecordKind] = {}


def register_record_kind(kind: RecordKind) -> None:
    _KINDS[kind.name] = kind


def record_kinds() -> list[RecordKind]:
    return sorted(_KINDS.values(), key=lambda k: k.name)


def get_record_kind(name: str) -> RecordKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise NotFound(_("There is no kind of record called “%s”.") % name) from None


# --- Retention periods -------------------------------------------------------------------------


def default_days(kind: RecordKind) -> int:
    configured = settings.SMC_RETENTION_DAYS.get(kind.name)
    if configured is not None:
        return max(configured, kind.minimum_days)
    if kind.default_days is not None:
        return kind.default_days
    return settings.SMC_RETENTION_DEFAULT_DAYS


def retention_days(kind: RecordKind) -> int:
    """The period in force for the open agency: its own rule, else the default."""
    rule = RetentionRule.objects.filter(kind=kind.name).first()
    return rule.days if rule is not None else default_days(kind)


def retention_table() -> list[dict]:
    rules = {r.kind: r for r in RetentionRule.objects.all()}
    return [
        {
            "kind": kind,
            "days": rules[kind.name].days if kind.name in rules else default_days(kind),
            "default_days": default_days(kind),
            "rule": rules.get(kind.name),
        }
        for kind in record_kinds()
    ]


def set_retention(*, administrator, kind_name: str, days: int) -> RetentionRule:
    kind = get_record_kind(kind_name)
    if days < kind.minimum_days:
        raise RetentionError(
            _("%(kind)s must be kept at least %(n)d days.")
            % {"kind": kind.label, "n": kind.minimum_days}
        )
    actor = administrator.audit_actor
    with transaction.atomic():
        rule = RetentionRule.objects.select_for_update().filter(kind=kind.name).first()
        before = rule.days if rule is not None else default_days(kind)
        if rule is None:
            rule = RetentionRule(agency_id=actor.agency_id, kind=kind.name, days=days)
        rule.days, rule.changed_at, rule.changed_by_label = days, timezone.now(), actor.user_label
        rule.save()
        record_event(
            actor=administrator,
            action=Action.RETENTION_RULE_CHANGED,
            reason=f"{kind.label}: {before} → {days} days",
            details={"kind": kind.name, "from_days": before, "to_days": days},
        )
    return rule


# --- Legal holds -------------------------------------------------------------------------------


def _lock_holds() -> None:
    """Serialise holds and purges of the open agency (transaction-scoped)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext('smc.legal_hold'), %s)", [active_agency_id()]
        )


def place_hold(
    *,
    member,
    reason: str,
    kind: str = "",
    record_id: str = "",
    channel_id: int | None = None,
    channel_label: str = "",
    person: str = "",
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> LegalHold:
    if kind:
        get_record_kind(kind)
    if record_id and not kind:
        raise RetentionError(_("Say which kind of record the record id belongs to."))
    if not (kind or channel_id or person.strip() or starts_on or ends_on):
        raise RetentionError(
            _("A hold must name a record, a kind of record, a channel, a person or dates.")
        )
    if starts_on and ends_on and starts_on > ends_on:
        raise RetentionError(_("The end date is before the start date."))
    if not reason.strip():
        raise RetentionError(_("Say why the records are held (the matter or case)."))
    actor = member.audit_actor
    with transaction.atomic():
        _lock_holds()
        hold = LegalHold.objects.create(
            agency_id=actor.agency_id,
            kind=kind,
            record_id=record_id.strip(),
            channel_id=channel_id,
            channel_label=channel_label,
            person=person.strip(),
            starts_on=starts_on,
            ends_on=ends_on,
            reason=reason.strip(),
            placed_at=timezone.now(),
            placed_by_id=actor.user_id,
            placed_by_label=actor.user_label,
        )
        record_event(
            actor=member,
            action=Action.LEGAL_HOLD_PLACED,
            subject=hold,
            reason=hold.reason,
            details={"hold": hold.pk, "covers": hold.describe()},
        )
    return hold


def release_hold(*, member, hold: LegalHold, reason: str) -> LegalHold:
    if not reason.strip():
        raise RetentionError(_("Say why the hold is released."))
    actor = member.audit_actor
    with transaction.atomic():
        _lock_holds()
        hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if not hold.is_active:
            raise RetentionError(_("This hold was already released."))
        hold.released_at, hold.released_by_label = timezone.now(), actor.user_label
        hold.release_reason = reason.strip()
        hold.save(update_fields=["released_at", "released_by_label", "release_reason"])
        record_event(
            actor=member,
            action=Action.LEGAL_HOLD_RELEASED,
            subject=hold,
            reason=hold.release_reason,
            details={"hold": hold.pk, "covered": hold.describe()},
        )
    return hold


def holding(hold: LegalHold, kind: str, candidate: Candidate) -> bool:
    """Whether the hold covers the record: it matches everything the hold names."""
    if hold.kind and hold.kind != kind:
        return False
    if hold.record_id and hold.record_id != str(candidate.record_id):
        return False
    if hold.channel_id and hold.channel_id not in {candidate.channel_id, *candidate.channel_ids}:
        return False
    if hold.person and hold.person.casefold() not in {p.casefold() for p in candidate.people}:
        return False
    day = candidate.occurred_at.date()
    if hold.starts_on and day < hold.starts_on:
        return False
    return not (hold.ends_on and day > hold.ends_on)


def _holds_on(kind: str, candidates: list[Candidate], holds: list[LegalHold]) -> dict[int, list]:
    held: dict[int, list] = {}
    for candidate in candidates:
        ids = [h.pk for h in holds if holding(h, kind, candidate)]
        if ids:
            held[candidate.record_id] = ids
    return held


# --- Purges ------------------------------------------------------------------------------------


@dataclass
class PurgeReport:
    kind: str
    cutoff: datetime
    purged: int = 0
    held: dict[int, list] = field(default_factory=dict)


def _refuse(actor, kind: RecordKind, held: dict[int, list], *, asked: int) -> str:
    holds = sorted({h for ids in held.values() for h in ids})
    message = _(
        "%(n)d of the %(asked)d %(kind)s records are under legal hold (hold %(holds)s) "
        "and were not purged."
    ) % {
        "n": len(held),
        "asked": asked,
        "kind": kind.label,
        "holds": ", ".join(f"#{h}" for h in holds),
    }
    record_event(
        actor=actor,
        action=Action.PURGE_REFUSED,
        outcome=Outcome.DENIED,
        reason=message,
        details={"kind": kind.name, "records": sorted(held)[:200], "holds": holds},
    )
    return message


def purge_expired_records(
    *, agency_id: int, agency_label: str | None = None, now=None
) -> list[PurgeReport]:
    """The daily sweep for the open agency: every kind, in batches, held records kept."""
    now = now or timezone.now()
    if agency_label is None:
        # The record names agencies by label; its newest event has the current one.
        agency_label = (
            AuditEvent.objects.filter(agency_id=agency_id)
            .order_by("-seq")
            .values_list("agency_label", flat=True)
            .first()
        ) or ""
    actor = system_actor(agency_id=agency_id, agency_label=agency_label, label="retention")
    reports = []
    for kind in record_kinds():
        cutoff = now - timedelta(days=retention_days(kind))
        report = PurgeReport(kind=kind.name, cutoff=cutoff)
        after = 0
        while True:
            with transaction.atomic():
                _lock_holds()
                batch = kind.expired(cutoff, after, PURGE_BATCH)
                if not batch:
                    break
                after = batch[-1].record_id
                holds = list(LegalHold.objects.filter(released_at__isnull=True))
                held = _holds_on(kind.name, batch, holds)
                free = [c.record_id for c in batch if c.record_id not in held]
                if free:
                    report.purged += kind.purge(free)
                report.held.update(held)
        if report.held:
            _refuse(actor, kind, report.held, asked=report.purged + len(report.held))
        if report.purged:
            record_event(
                actor=actor,
                action=Action.RECORDS_PURGED,
                reason=f"{report.purged} {kind.label} records older than {cutoff:%Y-%m-%d}",
                details={
                    "kind": kind.name,
                    "purged": report.purged,
                    "cutoff": cutoff.isoformat(),
                    "kept_under_hold": len(report.held),
                },
            )
        reports.append(report)
    return reports


def purge_records(*, actor, kind_name: str, record_ids: list[int], now=None) -> int:
    """Purge named records now (an operator's command). All or nothing: a record under
    hold, or one still within its retention period, refuses the whole purge, and a
    refusal for a hold is recorded."""
    kind = get_record_kind(kind_name)
    now = now or timezone.now()
    cutoff = now - timedelta(days=retention_days(kind))
    with transaction.atomic():
        _lock_holds()
        found = kind.describe(list(record_ids))
        missing = sorted(set(record_ids) - {c.record_id for c in found})
        if missing:
            raise NotFound(
                _("No %(kind)s record with id %(ids)s.")
                % {"kind": kind.label, "ids": ", ".join(map(str, missing))}
            )
        holds = list(LegalHold.objects.filter(released_at__isnull=True))
        held = _holds_on(kind.name, found, holds)
        young = sorted(c.record_id for c in found if c.occurred_at >= cutoff)
        if not held and young:
            raise RetentionError(
                _("Records %(ids)s are still within their retention period; nothing was purged.")
                % {"ids": ", ".join(map(str, young))}
            )
        if not held:
            purged = kind.purge([c.record_id for c in found])
            record_event(
                actor=actor,
                action=Action.RECORDS_PURGED,
                reason=f"{purged} {kind.label} records purged by hand",
                details={"kind": kind.name, "purged": purged, "records": sorted(record_ids)},
            )
            return purged
    # Recorded outside the refused transaction, so the refusal itself is kept.
    raise RecordsHeld(_refuse(actor, kind, held, asked=len(found)))


# --- The record's own events -----------------------------------------------------------------


def _event_candidates(rows: Iterator[tuple]) -> list[Candidate]:
    return [
        Candidate(
            record_id=pk,
            occurred_at=occurred_at,
            channel_id=on_behalf_of_id,
            people=tuple(p for p in (actor_label, str(actor_id or "")) if p),
        )
        for pk, occurred_at, on_behalf_of_id, actor_label, actor_id in rows
    ]


_EVENT_VIEW = ("pk", "occurred_at", "on_behalf_of_id", "actor_label", "actor_id")


def _expired_events(cutoff: datetime, after_id: int, limit: int) -> list[Candidate]:
    rows = (
        AuditEvent.objects.filter(
            agency_id=active_agency_id(), occurred_at__lt=cutoff, pk__gt=after_id
        )
        .exclude(content="")
        .order_by("pk")
        .values_list(*_EVENT_VIEW)[:limit]
    )
    return _event_candidates(rows)


def _describe_events(ids: list[int]) -> list[Candidate]:
    rows = AuditEvent.objects.filter(agency_id=active_agency_id(), pk__in=ids).values_list(
        *_EVENT_VIEW
    )
    return _event_candidates(rows)


def purge_event_content(ids: list[int]) -> int:
    """Drop the content of these events, keeping content_sha256 and the skeleton.

    Only the database function audit_purge_content (migration 0004, run as the table's
    owner) may do it, and the trigger lets through nothing but content → '' with
    purged_at set, so the chain still verifies."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_purge_content(%s::bigint[])", [list(ids)])
        return cursor.fetchone()[0]


def request_events(scope: RequestScope):
    """The events a records request covers, as a queryset (a package's chain proof
    needs them as one, to find the entries in between)."""
    found = AuditEvent.objects.filter(
        agency_id=active_agency_id(), occurred_at__gte=scope.since, occurred_at__lt=scope.until
    )
    if scope.channel_id:
        found = found.filter(on_behalf_of_id=scope.channel_id)
    if scope.person:
        found = found.filter(actor_label__iexact=scope.person)
    return found


def _event_records(scope: RequestScope) -> Iterator[RequestedRecord]:
    """Events for a records request: every chained field, the hash and the content (or
    its absence after a purge), so a package can prove them against the chain."""
    from audit.services import CHAINED_FIELDS

    found = request_events(scope)
    names = (*CHAINED_FIELDS, "hash", "content", "purged_at")
    for pk, *values in found.order_by("seq").values_list("pk", *names).iterator(chunk_size=2000):
        fields = dict(zip(names, values, strict=True))
        yield RequestedRecord(
            kind="audit.event",
            record_id=pk,
            occurred_at=fields["occurred_at"],
            label=f"#{fields['seq']} {fields['action']}",
            fields=fields,
        )


register_record_kind(
    RecordKind(
        name="audit.event",
        label="Record entry content",
        expired=_expired_events,
        purge=purge_event_content,
        describe=_describe_events,
        minimum_days=365,
        records=_event_records,
    )
)
