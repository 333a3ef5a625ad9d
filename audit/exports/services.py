"""Asking for, making, handing out and removing exports (R4).

An export is asked for by an auditor with the search they are looking at, checked
against the size limit there and then, and made in the background on the "exports"
queue (tasks.make_export), so a million entries never hold a web worker. Every step is
recorded in the chain: asked, refused, made (with the SHA-256 of the file and, for a
package, of its manifest), failed, downloaded, expired.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import Action, Outcome
from audit.actors import Actor, system_actor
from audit.exports import writing
from audit.forms import EventSearchForm
from audit.models import AuditEvent, ChainHead, Export
from audit.selectors import events
from audit.services import record_event
from audit.sources import RecordSource
from smc.errors import NotFound, SmcError
from smc.tenancy import every_agency

log = logging.getLogger(__name__)
PACKAGE_FORMAT = "smc-records-package"
PACKAGE_VERSION = 1
PROGRESS_EVERY = 10_000  # rows between progress reports


class ExportError(SmcError):
    pass


# --- Asking ------------------------------------------------------------------------------------


def _search(filters: dict) -> EventSearchForm:
    form = EventSearchForm(filters)
    if not form.is_valid():
        # Never export more than was asked: a search that cannot be read exports nothing.
        first = next(iter(form.errors.values()))[0]
        raise ExportError(_("This search cannot be exported: %(why)s") % {"why": first})
    return form


def _selected_events(agency_id: int, form: EventSearchForm):
    wanted = form.event_filters()
    if wanted is None:
        return AuditEvent.objects.none()
    return events(agency_id=agency_id, **wanted)


def request_export(*, auditor, filters: dict, format: str) -> Export:
    """An auditor asks for the entries their search shows (and the posts and comments it
    finds) in one format. Raises ExportError when it is over the administrator's limit
    (settings.SMC_EXPORT_MAX_RECORDS): refused and recorded, nothing made."""
    actor: Actor = auditor.audit_actor
    if format not in Export.Format.values:
        raise ExportError(_("Choose CSV, JSON Lines or a records-request package."))
    form = _search(filters)
    total = _selected_events(actor.agency_id, form).count()
    limit = settings.SMC_EXPORT_MAX_RECORDS
    if total > limit:
        record_event(
            actor=actor,
            action=Action.EXPORT_REFUSED,
            outcome=Outcome.DENIED,
            reason=f"{total} entries is over the limit of {limit}",
            details={"format": format, "filters": filters, "entries": total},
        )
        raise ExportError(
            _(
                "This search finds %(total)s entries, more than the %(limit)s one export may "
                "hold (a limit your administrator set). Narrow it, for example by date, and "
                "export each part."
            )
            % {"total": f"{total:,}", "limit": f"{limit:,}"}
        )
    from audit.tasks import make_export  # tasks import this module

    with transaction.atomic():
        export = Export.objects.create(
            agency_id=actor.agency_id,
            requested_by_id=auditor.pk,
            requested_by_label=actor.user_label,
            format=format,
            filters=filters,
            total=total,
        )
        record_event(
            actor=actor,
            action=Action.EXPORT_REQUESTED,
            subject=export,
            details={"format": format, "filters": filters, "entries": total},
        )
        transaction.on_commit(
            lambda: make_export.delay(agency_id=export.agency_id, export_id=export.pk)
        )
    return export


def request_package(*, auditor, records_request) -> Export:
    """An auditor asks for the package that answers a records request: made like any
    package (same queue, progress, download rules and verifier), from the request's
    scope with personal data redacted in the copy (audit.exports.request_packages).
    Raises ExportError when its log entries are over the administrator's limit."""
    from audit.exports.request_packages import selected_events
    from audit.tasks import make_export  # tasks import this module

    actor: Actor = auditor.audit_actor
    filters = {"records request": records_request.reference}
    total = selected_events(records_request).count()
    limit = settings.SMC_EXPORT_MAX_RECORDS
    if total > limit:
        record_event(
            actor=actor,
            action=Action.EXPORT_REFUSED,
            outcome=Outcome.DENIED,
            subject=records_request,
            reason=f"{total} entries is over the limit of {limit}",
            details={"format": Export.Format.PACKAGE, "filters": filters, "entries": total},
        )
        raise ExportError(
            _(
                "This request covers %(total)s log entries, more than the %(limit)s one "
                "export may hold (a limit your administrator set). Open one request per "
                "part of the dates and package each."
            )
            % {"total": f"{total:,}", "limit": f"{limit:,}"}
        )
    with transaction.atomic():
        export = Export.objects.create(
            agency_id=actor.agency_id,
            requested_by_id=auditor.pk,
            requested_by_label=actor.user_label,
            format=Export.Format.PACKAGE,
            filters=filters,
            records_request=records_request,
            total=total,
        )
        record_event(
            actor=actor,
            action=Action.EXPORT_REQUESTED,
            subject=records_request,
            details={
                "format": Export.Format.PACKAGE,
                "filters": filters,
                "export": export.pk,
                "entries": total,
            },
        )
        transaction.on_commit(
            lambda: make_export.delay(agency_id=export.agency_id, export_id=export.pk)
        )
    return export


# --- Reading -----------------------------------------------------------------------------------


def get_export_for(*, member, export_id: int) -> Export:
    """One export of the member's own. Anyone else's (even in the same agency) is not
    found: only the auditor who made an export may see or download it."""
    export = Export.objects.filter(
        agency_id=member.agency_id, requested_by_id=member.pk, pk=export_id
    ).first()
    if export is None:
        raise NotFound(_("That export does not exist."))
    return export


def exports_of(*, member):
    return Export.objects.filter(agency_id=member.agency_id, requested_by_id=member.pk)


def progress_key(export_id: int) -> str:
    return f"audit:export:{export_id}:written"


def written_so_far(export: Export) -> int:
    """Rows written: the worker reports them through the cache while it reads inside one
    transaction, whose own writes nobody else could see before it ends."""
    if export.is_finished:
        return export.written
    return int(cache.get(progress_key(export.pk)) or export.written)


def export_path(export: Export) -> Path:
    return Path(settings.SMC_EXPORT_DIR) / str(export.agency_id) / export.file_name


def download(*, member, export: Export) -> Path:
    """The file, for its maker only, until it expires. Recorded. Raises ExportError."""
    if export.status == Export.Status.EXPIRED or (
        export.expires_at and export.expires_at <= timezone.now()
    ):
        raise ExportError(
            _("This export expired at %(when)s and was removed. Make it again if you need it.")
            % {"when": timezone.localtime(export.expires_at).strftime("%Y-%m-%d %H:%M")}
        )
    if export.status != Export.Status.READY:
        raise ExportError(_("This export is not ready yet."))
    path = export_path(export)
    if not path.exists():
        raise ExportError(_("This export's file is gone. Make it again."))
    record_event(
        actor=member,
        action=Action.EXPORT_DOWNLOADED,
        subject=export,
        details={"sha256": export.sha256, "bytes": export.size},
    )
    return path


# --- Making ------------------------------------------------------------------------------------


def _claim(export_id: int) -> Export | None:
    """Start an export once: a redelivered task after a worker died starts it again from
    the beginning (the half-written file is replaced), a finished one is left alone."""
    claimed = Export.objects.filter(
        pk=export_id, status__in=[Export.Status.QUEUED, Export.Status.RUNNING]
    ).update(status=Export.Status.RUNNING, started_at=timezone.now(), written=0)
    return Export.objects.filter(pk=export_id).first() if claimed else None


def _report(export: Export, written: int) -> None:
    cache.set(progress_key(export.pk), written, timeout=24 * 3600)


def _counted(blocks: Iterator[bytes], export: Export, copied: writing.Copied) -> Iterator[bytes]:
    """Pass blocks on, reporting the lines so far (a CSV field with a line break may
    make the bar run slightly ahead); the exact count is COPY's, at the end."""
    lines, reported = 0, 0
    for block in blocks:
        yield block
        lines += block.count(b"\n")
        if lines - reported >= PROGRESS_EVERY:
            _report(export, lines)
            reported = lines
    export.written = copied.rows
    _report(export, copied.rows)


def _links(agency_id: int, selected, first_seq: int, head_seq: int) -> Iterator[bytes]:
    """Every entry from the first exported one to the head that is not exported, as its
    seq and hashes only: what ties the exported entries to the head without showing
    other entries' contents."""
    # NOT EXISTS, not NOT IN: PostgreSQL answers it with an anti-join however many
    # entries were selected (NOT IN over a million ids would compare row by row).
    others = AuditEvent.objects.filter(
        agency_id=agency_id, seq__gte=first_seq, seq__lte=head_seq
    ).filter(~Exists(selected.filter(pk=OuterRef("pk"))))
    return writing.link_lines(others)


def latest_checkpoint(agency_id: int, head_seq: int) -> dict | None:
    """The newest signed checkpoint of the agency's chain at or before the exported head,
    as it is put in chain/checkpoint.json (verify.py checks its Ed25519 signature and
    that the chain passes through it).

    Anchoring writes one file per checkpoint, `<SMC_AUDIT_CHECKPOINT_DIR>/agency-<id>/
    <seq, 12 digits>.json`; read here by that layout, so exports need nothing else of it.
    With no checkpoint folder (anchoring not set up), there is none: the package is then
    tied to the head at export, whose hash the "Export made" entry keeps."""
    folder = getattr(settings, "SMC_AUDIT_CHECKPOINT_DIR", "")
    if not folder:
        return None
    candidates = [
        path
        for path in (Path(folder) / f"agency-{agency_id}").glob("*.json")
        if path.stem.isdigit() and int(path.stem) <= head_seq
    ]
    if not candidates:
        return None
    newest = max(candidates, key=lambda path: int(path.stem))
    return json.loads(newest.read_text())


def _source_rows(source: RecordSource, agency_id: int, form) -> Iterator[dict]:
    yield from source.export_rows(agency_id, form.terms())


def _make_package(export: Export, path: Path, form, selected, head: ChainHead) -> str:
    package = writing.PackageWriter(path)
    first_seq = selected.order_by("seq").values_list("seq", flat=True).first()
    copied = writing.Copied()
    package.add_lines_from(
        "records/events.jsonl",
        _counted(writing.event_json_lines(selected, copied), export, copied),
    )
    for source in form.wanted_sources():
        media: list = []
        rows = _source_rows(source, export.agency_id, form)
        package.add_lines(
            f"records/{source.key}.jsonl", writing.jsonl_lines(_collect_media(rows, media))
        )
        for name, opener in media:
            package.add_file(f"media/{source.key}/{name}", opener)
    if first_seq is not None:
        package.add_lines_from(
            "chain/links.jsonl", _links(export.agency_id, selected, first_seq, head.seq)
        )
    package.add_bytes(
        "chain/head.json",
        json.dumps({"agency_id": export.agency_id, "seq": head.seq, "hash": head.hash}).encode(),
    )
    checkpoint = latest_checkpoint(export.agency_id, head.seq)
    if checkpoint is not None:
        package.add_bytes("chain/checkpoint.json", json.dumps(checkpoint).encode())
    package.add_bytes("verify.py", writing.VERIFIER.read_bytes())
    package.add_bytes("README.txt", _readme(export, head).encode())
    return package.close(
        {
            "package": PACKAGE_FORMAT,
            "version": PACKAGE_VERSION,
            "agency": {"id": export.agency_id, "label": head_label(export)},
            "export": export.pk,
            "made_by": export.requested_by_label,
            "made_at": timezone.now().isoformat(),
            "search": export.filters,
            "head": {"seq": head.seq, "hash": head.hash},
        }
    )


def _collect_media(rows: Iterator[dict], media: list) -> Iterator[dict]:
    """Source rows may name files ("_media": [(name, opener)]); they follow the rows.
    Only the names are held, never the files."""
    for row in rows:
        media.extend(row.pop("_media", ()))
        yield row


def head_label(export: Export) -> str:
    first = AuditEvent.objects.filter(agency_id=export.agency_id).order_by("-seq").first()
    return first.agency_label if first else ""


def _readme(export: Export, head: ChainHead) -> str:
    return (
        f"SMC records-request package (export {export.pk})\n\n"
        f"Made for {export.requested_by_label}; the agency's chain head at the time was "
        f"entry {head.seq}, hash {head.hash}.\n\n"
        "records/events.jsonl  the log entries found, each with every field its hash covers\n"
        "records/*.jsonl       posts and comments found, every version\n"
        "media/                their photos and videos, if any\n"
        "chain/links.jsonl     the hashes of the entries in between, which tie the\n"
        "                      exported entries to the head without showing them\n"
        "chain/head.json       the chain head at export; chain/checkpoint.json the latest\n"
        "                      signed checkpoint, if any\n"
        "manifest.json         the SHA-256 of every file\n\n"
        "To check nothing was altered, with Python 3 and nothing else:\n\n"
        "    python verify.py package.zip      (or, unpacked: python verify.py)\n"
    )


def make_export(*, export_id: int) -> Export | None:
    """Write the file (in the worker, in the export's agency scope). Never raises for a
    bad export: it ends FAILED with the reason, recorded."""
    export = _claim(export_id)
    if export is None:
        return None
    actor = system_actor(
        agency_id=export.agency_id, agency_label=head_label(export), label="export worker"
    )
    head = ChainHead.objects.filter(agency_id=export.agency_id).first()
    if head is None:
        head = ChainHead(agency_id=export.agency_id, seq=0, hash="")
    extension = {"csv": "csv", "jsonl": "jsonl", "package": "zip"}[export.format]
    export.file_name = f"smc-record-{export.agency_id}-{export.pk}.{extension}"
    export.head_seq = head.seq
    path = export_path(export)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    manifest_sha256 = ""
    try:
        if export.records_request_id is not None:
            _count_request_records(export)
        else:
            form = _search(export.filters)
            selected = _selected_events(export.agency_id, form).filter(seq__lte=head.seq)
        # One transaction: the server-side cursor lives in it (outside one, PostgreSQL
        # would copy the whole result aside before the first row).
        with transaction.atomic():
            if export.records_request_id is not None:
                manifest_sha256 = _make_request_package(export, partial, head)
            elif export.format == Export.Format.PACKAGE:
                manifest_sha256 = _make_package(export, partial, form, selected, head)
            else:
                copied = writing.Copied()
                write = (
                    writing.event_csv
                    if export.format == Export.Format.CSV
                    else writing.event_json_lines
                )
                writing.write_blocks(partial, _counted(write(selected, copied), export, copied))
        size, sha256 = _file_digest(partial)
        os.replace(partial, path)
    except ExportError as error:
        partial.unlink(missing_ok=True)
        return _fail(export, actor, error.message)
    except Exception:
        partial.unlink(missing_ok=True)
        _fail(export, actor, _("The export could not be written; the operator has the details."))
        raise
    now = timezone.now()
    export.status, export.size, export.sha256 = Export.Status.READY, size, sha256
    export.finished_at = now
    export.expires_at = now + timedelta(hours=settings.SMC_EXPORT_HOURS)
    with transaction.atomic():
        export.save()
        record_event(
            actor=actor,
            action=Action.EXPORT_MADE,
            subject=export,
            details={
                "format": export.format,
                "entries": export.written,
                "bytes": size,
                "sha256": sha256,
                "manifest_sha256": manifest_sha256,
                "head_seq": head.seq,
                "head_hash": head.hash,
                "for": export.requested_by_label,
            },
        )
    return export


def _count_request_records(export: Export) -> None:
    """A request's records are counted before they are written, so the progress bar
    has its end (the count asked with the request was of log entries only)."""
    from audit.exports.request_packages import count_records

    with transaction.atomic():
        export.total = count_records(export.records_request)
    Export.objects.filter(pk=export.pk).update(total=export.total)


def _make_request_package(export: Export, path: Path, head: ChainHead) -> str:
    from audit.exports.request_packages import make_request_package

    return make_request_package(
        export,
        path,
        head,
        report=lambda written: _report(export, written),
        links=lambda selected, first_seq: _links(export.agency_id, selected, first_seq, head.seq),
    )


def _file_digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _fail(export: Export, actor: Actor, message: str) -> Export:
    export.status, export.error, export.finished_at = Export.Status.FAILED, message, timezone.now()
    with transaction.atomic():
        export.save()
        record_event(
            actor=actor, action=Action.EXPORT_FAILED, outcome=Outcome.FAILURE, subject=export,
            reason=message,
        )  # fmt: skip
    return export


def agencies_with_expired_exports() -> list[int]:
    # The clock's sweep looks across agencies for due files, then works in each one's scope.
    with every_agency():
        return sorted(
            set(
                Export.objects.filter(
                    status=Export.Status.READY, expires_at__lte=timezone.now()
                ).values_list("agency_id", flat=True)
            )
        )


def remove_expired_exports(*, agency_id: int) -> int:
    """Beat: delete the files of the agency's expired exports; recorded per export."""
    removed = 0
    due = Export.objects.filter(
        agency_id=agency_id, status=Export.Status.READY, expires_at__lte=timezone.now()
    )
    for export in due:
        export_path(export).unlink(missing_ok=True)
        export.status = Export.Status.EXPIRED
        actor = system_actor(agency_id=agency_id, agency_label=head_label(export), label="clock")
        with transaction.atomic():
            export.save(update_fields=["status"])
            record_event(actor=actor, action=Action.EXPORT_EXPIRED, subject=export)
        removed += 1
    return removed
