"""The package that answers a records request (issue 7, part 4).

Made by the export machinery (services.make_export, on the "exports" queue, with its
progress bar, download rules and verify.py); what differs is what goes in: the records
of the request's scope as audit.requests.records_request_records gives them, personal
data in public text redacted in this copy, and a list of every redaction.

Log entries are chained: their fields are exported exactly as hashed, or the package
could not prove them. Only an entry's `content` is outside its hash (the hash covers
content_sha256), so when a request redacts personal data and an entry's content holds
some (a comment's text in a moderation decision, say), the content is withheld from the
copy and the entry keeps content_sha256, which still proves what the content was. The
withholding is a redaction like the others: listed in the package, stored, recorded.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

from django.utils import timezone

from audit.exports import writing
from audit.exports.services import head_label, latest_checkpoint
from audit.models import AuditEvent, ChainHead, Export, RecordsRequest, Redaction
from audit.requests import records_request_records, redact, request_scope
from audit.retention import get_record_kind, request_events
from audit.services import CHAINED_FIELDS, canonical_time

EVENT_KIND = "audit.event"
WITHHELD = "content withheld: personal data"


def selected_events(request: RecordsRequest, head_seq: int | None = None):
    """The entries the package proves: the request's own (opened, packaged), always,
    so even a package without log entries is tied to the chain, and the entries in
    its scope when it asks for them."""
    about = AuditEvent.objects.filter(
        agency_id=request.agency_id,
        object_type=RecordsRequest._meta.label_lower,
        object_id=str(request.pk),
    )
    if EVENT_KIND in request.kinds:
        about = about | request_events(request_scope(request))
    if head_seq is not None:
        about = about.filter(seq__lte=head_seq)
    return about


def count_records(request: RecordsRequest) -> int:
    """How many records the package will hold (a first pass, for the progress bar)."""
    scope = request_scope(request)
    total = 0
    for name in request.kinds:
        kind = get_record_kind(name)
        if kind.records is not None and name != EVENT_KIND:
            total += sum(1 for _record in kind.records(scope))
    return total + selected_events(request).count()


def _event_lines(
    request: RecordsRequest, selected, withheld: list[dict], progress
) -> Iterator[str]:
    names = (*CHAINED_FIELDS, "hash", "content")
    rows = selected.order_by("seq").values_list("pk", *names).iterator(chunk_size=2000)
    now = timezone.now()
    stored = []
    for pk, *values in rows:
        entry = dict(zip(names, values, strict=True))
        entry["occurred_at"] = canonical_time(entry["occurred_at"])
        content = entry["content"]
        if request.redact_personal_data and content:
            _copy, spans = redact(content)
            if spans:
                rules = ", ".join(sorted({rule for _s, _e, rule in spans}))
                entry["content"] = ""
                entry["content_withheld"] = rules
                found = {
                    "kind": EVENT_KIND,
                    "record_id": pk,
                    "seq": entry["seq"],
                    "field": "content",
                    "start": 0,
                    "end": len(content),
                    "rule": WITHHELD,
                    "found": rules,
                    "original_sha256": entry["content_sha256"],
                }
                withheld.append(found)
                stored.append(
                    Redaction(
                        agency_id=request.agency_id,
                        request=request,
                        kind=EVENT_KIND,
                        record_id=str(pk),
                        field="content",
                        start=0,
                        end=len(content),
                        rule=WITHHELD[:60],
                        original_sha256=entry["content_sha256"],
                        redacted_at=now,
                    )
                )
        progress()
        yield json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
    # ignore_conflicts: a package made again stores each redaction once.
    Redaction.objects.bulk_create(stored, ignore_conflicts=True)


def _record_lines(records, redactions: list[dict], progress) -> Iterator[str]:
    for record in records:
        for found in record.redactions:
            redactions.append({"kind": record.kind, "record_id": record.record_id, **found})
        progress()
        yield from writing.jsonl_lines(
            [
                {
                    "kind": record.kind,
                    "record_id": record.record_id,
                    "occurred_at": record.occurred_at,
                    "label": record.label,
                    "fields": record.fields,
                    "redactions": record.redactions,
                }
            ]
        )


def make_request_package(export: Export, path: Path, head: ChainHead, report, links) -> str:
    """Write the request's package to `path`; the SHA-256 of its manifest.

    `report(n)` tells the progress bar; `links(selected, first_seq)` gives the hashes of
    the entries in between (services._links). Call inside the export's transaction."""
    request = RecordsRequest.objects.get(pk=export.records_request_id)
    package = writing.PackageWriter(path)
    written = [0]

    def progress():
        written[0] += 1
        if written[0] % 500 == 0:
            report(written[0])

    selected = selected_events(request, head.seq)
    redactions: list[dict] = []
    package.add_lines("records/events.jsonl", _event_lines(request, selected, redactions, progress))
    # Records come kind by kind; each kind is one file. The log's entries also come
    # through here (the request's summary event counts them) but are written above, from
    # the chain itself, so they are only counted.
    for kind, records in itertools.groupby(records_request_records(request), lambda r: r.kind):
        if kind == EVENT_KIND:
            for _record in records:
                pass
            continue
        package.add_lines(f"records/{kind}.jsonl", _record_lines(records, redactions, progress))
    package.add_lines("redactions.jsonl", writing.jsonl_lines(redactions))
    first_seq = selected.order_by("seq").values_list("seq", flat=True).first()
    if first_seq is not None:
        package.add_lines_from("chain/links.jsonl", links(selected, first_seq))
    package.add_bytes(
        "chain/head.json",
        json.dumps({"agency_id": export.agency_id, "seq": head.seq, "hash": head.hash}).encode(),
    )
    checkpoint = latest_checkpoint(export.agency_id, head.seq)
    if checkpoint is not None:
        package.add_bytes("chain/checkpoint.json", json.dumps(checkpoint).encode())
    package.add_bytes("verify.py", writing.VERIFIER.read_bytes())
    package.add_bytes("README.txt", _readme(export, request, head, len(redactions)).encode())
    export.written = written[0]
    report(written[0])
    return package.close(
        {
            "package": "smc-records-request-package",
            "version": 1,
            "agency": {"id": export.agency_id, "label": head_label(export)},
            "export": export.pk,
            "made_by": export.requested_by_label,
            "made_at": timezone.now().isoformat(),
            "records_request": {
                "reference": request.reference,
                "requester": request.requester,
                "received_on": request.received_on.isoformat(),
                "records_from": request.date_from.isoformat(),
                "records_to": request.date_to.isoformat(),
                "kinds": request.kinds,
                "channel": request.channel_label,
                "person": request.person,
                "redact_personal_data": request.redact_personal_data,
            },
            "redactions": len(redactions),
            "head": {"seq": head.seq, "hash": head.hash},
        }
    )


def _readme(export: Export, request: RecordsRequest, head: ChainHead, redactions: int) -> str:
    redacting = (
        f"Personal data in public text was redacted in this copy ({redactions} redactions); "
        "the agency keeps the originals unchanged.\n"
        if request.redact_personal_data
        else "Nothing was redacted in this copy.\n"
    )
    return (
        f"SMC records-request package: request {request.reference} from {request.requester}\n"
        f"Records dated {request.date_from} to {request.date_to}; made for "
        f"{export.requested_by_label} (export {export.pk}). The agency's chain head at the "
        f"time was entry {head.seq}, hash {head.hash}.\n\n" + redacting + "\n"
        "records/events.jsonl  log entries: those in the request's scope, if it asked for\n"
        "                      them, and the entries about this request itself\n"
        "records/<kind>.jsonl  the other records, one kind per file (comments, posts, ...),\n"
        "                      each with the redactions made in it\n"
        "redactions.jsonl      every redaction: record, field, characters (start-end in\n"
        "                      the original), rule, and the SHA-256 of the original field\n"
        "chain/links.jsonl     the hashes of the entries in between, which tie the\n"
        "                      exported entries to the head without showing them\n"
        "chain/head.json       the chain head at export; chain/checkpoint.json the latest\n"
        "                      signed checkpoint, if any\n"
        "manifest.json         the SHA-256 of every file\n\n"
        "Redacted text reads [redacted: rule]. Log entries cannot be redacted and still be\n"
        "proved: each is exported exactly as it was hashed. An entry's content is the only\n"
        "part outside its hash (the hash covers the content's SHA-256), so when the content\n"
        "holds personal data it is left out of this copy: the entry has content empty and\n"
        "content_withheld naming what was found, and its content_sha256, which the hash\n"
        "proves, still identifies the original. The entry's other fields (who, what, when,\n"
        "the reason typed) are exported as recorded.\n\n"
        "To check nothing was altered, with Python 3 and nothing else:\n\n"
        "    python verify.py package.zip      (or, unpacked: python verify.py)\n"
    )
