"""R4: exports in three formats, only for their maker and only for a while, every step
recorded; the package's standalone verifier passes an intact package and names exactly
the file or entry altered in a copy."""

import csv
import io
import json
import subprocess
import sys
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit import services as audit_services
from audit.actions import Action, Outcome
from audit.actors import system_actor
from audit.exports import services as exports
from audit.exports import verify
from audit.models import AuditEvent, Export
from audit.services import record_event
from moderation import ingest
from platforms.adapters.base import CommentBatch, IncomingComment
from tests.factories import make_channel, make_member


@pytest.fixture
def auditor(agency):
    return make_member(agency, role=Role.AUDITOR, username="aude")


@pytest.fixture
def export_dir(settings, tmp_path):
    settings.SMC_EXPORT_DIR = str(tmp_path / "exports")
    return tmp_path


def note(agency, reason, **details):
    actor = system_actor(agency_id=agency.pk, agency_label=agency.name, label="dispatch")
    return record_event(actor=actor, action=Action.LOGIN_FAILED, reason=reason, details=details)


def made(auditor, filters, format):
    export = exports.request_export(auditor=auditor, filters=filters, format=format)
    return exports.make_export(export_id=export.pk)


def run_verifier(where) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-I", str(verify.__file__), str(where)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_verifier_hashes_exactly_as_the_record_does():
    assert verify.CHAINED_FIELDS == audit_services.CHAINED_FIELDS
    assert verify.GENESIS == audit_services.GENESIS


def test_csv_and_jsonl_hold_what_the_search_finds(agency, auditor, export_dir):
    note(agency, "flood at the bridge", depth=3)
    note(agency, "fire downtown")
    for format in ("csv", "jsonl"):
        export = made(auditor, {"text": "flood"}, format)
        assert export.status == Export.Status.READY and export.written == 1
        body = exports.export_path(export).read_text()
        if format == "csv":
            rows = list(csv.DictReader(io.StringIO(body)))
        else:
            rows = [json.loads(line) for line in body.splitlines()]
        assert [r["reason"] for r in rows] == ["flood at the bridge"]
        event = AuditEvent.objects.get(reason="flood at the bridge")
        assert rows[0]["hash"] == event.hash
    made_events = AuditEvent.objects.filter(action=Action.EXPORT_MADE)
    assert made_events.count() == 2
    assert {e.details["sha256"] for e in made_events} == set(
        Export.objects.values_list("sha256", flat=True)
    )


def archive(channel, comment_id, text):
    comment = IncomingComment(
        platform_comment_id=comment_id, platform_post_id="p1", parent_id=None, author_id="a1",
        author_name="Pat Q", author_handle="patq", text=text, created_at=timezone.now(),
    )  # fmt: skip
    ingest.archive_comments(channel=channel, batch=CommentBatch(comments=[comment], cursor=None))


@pytest.fixture
def package(agency, auditor, export_dir):
    channel = make_channel(agency, name="Metro X")
    archive(channel, "c1", "The bridge is flooded")
    note(agency, "bridge closed", where="north")
    note(agency, "unrelated")
    note(agency, "bridge open again")
    note(agency, "after the last one")
    export = made(auditor, {"text": "bridge"}, "package")
    assert export.status == Export.Status.READY
    return export


def unpack(export, into):
    with zipfile.ZipFile(exports.export_path(export)) as archive_file:
        archive_file.extractall(into)
    return into


def test_a_package_holds_records_comments_links_and_the_head_and_verifies(package, tmp_path):
    folder = unpack(package, tmp_path / "unpacked")
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"manifest.json", "verify.py", "README.txt", "records/events.jsonl",
            "records/comments.jsonl", "chain/links.jsonl", "chain/head.json"} <= names  # fmt: skip
    reasons = [json.loads(x)["reason"] for x in (folder / "records/events.jsonl").open()]
    assert reasons == ["bridge closed", "bridge open again"]
    comments = [json.loads(x) for x in (folder / "records/comments.jsonl").open()]
    assert [c["text"] for c in comments] == ["The bridge is flooded"]
    links = [json.loads(x)["seq"] for x in (folder / "chain/links.jsonl").open()]
    exported = [json.loads(x)["seq"] for x in (folder / "records/events.jsonl").open()]
    head = json.loads((folder / "chain/head.json").read_text())
    assert sorted(links + exported) == list(range(exported[0], head["seq"] + 1))
    for where in (exports.export_path(package), folder):
        result = run_verifier(where)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "OK:" in result.stdout
    made_event = AuditEvent.objects.get(action=Action.EXPORT_MADE)
    manifest_sha = made_event.details["manifest_sha256"]
    assert f"manifest.json SHA-256: {manifest_sha}" in result.stdout


def rewrite_line(path, seq, change):
    lines = path.read_text().splitlines(keepends=True)
    for index, line in enumerate(lines):
        entry = json.loads(line)
        if entry["seq"] == seq:
            change(entry)
            lines[index] = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
    path.write_text("".join(lines))


def test_an_altered_entry_is_named_by_its_seq(package, tmp_path):
    folder = unpack(package, tmp_path / "copy")
    events_file = folder / "records/events.jsonl"
    seq = json.loads(events_file.open().readline())["seq"]
    rewrite_line(events_file, seq, lambda e: e.update(reason="bridge was never closed"))
    result = run_verifier(folder)
    assert result.returncode == 1
    assert "ALTERED: file records/events.jsonl was changed" in result.stdout
    assert f"ALTERED: event seq {seq}: its fields no longer match its hash" in result.stdout


def test_an_entry_altered_with_its_hash_recomputed_is_caught_by_the_next_link(package, tmp_path):
    folder = unpack(package, tmp_path / "copy")
    events_file = folder / "records/events.jsonl"
    seq = json.loads(events_file.open().readline())["seq"]

    def forge(entry):
        entry["reason"] = "nothing happened"
        entry["hash"] = verify.hashlib.sha256(verify.canonical_bytes(entry)).hexdigest()

    rewrite_line(events_file, seq, forge)
    # The forger rewrites the manifest too, so only the chain can tell.
    manifest = json.loads((folder / "manifest.json").read_text())
    for item in manifest["files"]:
        if item["path"] == "records/events.jsonl":
            item["sha256"] = verify.sha256_of(verify.Package(folder), "records/events.jsonl")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    result = run_verifier(folder)
    assert result.returncode == 1
    assert f"seq {seq + 1} does not link to seq {seq}: seq {seq} was altered" in result.stdout
    assert "file records/events.jsonl" not in result.stdout


def test_an_altered_comment_file_and_a_removed_link_are_named(package, tmp_path):
    folder = unpack(package, tmp_path / "copy")
    comments = folder / "records/comments.jsonl"
    comments.write_text(comments.read_text().replace("flooded", "fine"))
    links = folder / "chain/links.jsonl"
    lines = links.read_text().splitlines(keepends=True)
    removed = json.loads(lines[0])["seq"]
    links.write_text("".join(lines[1:]))
    result = run_verifier(folder)
    assert result.returncode == 1
    assert "ALTERED: file records/comments.jsonl was changed" in result.stdout
    assert f"seq {removed} to {removed} are missing from the chain" in result.stdout


def test_a_file_that_is_not_a_package_cannot_be_read(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    result = run_verifier(junk)
    assert result.returncode == 2 and "cannot read the package" in result.stdout


def test_an_export_over_the_limit_is_refused_and_recorded(agency, auditor, export_dir, settings):
    settings.SMC_EXPORT_MAX_RECORDS = 2
    for number in range(3):
        note(agency, f"flood {number}")
    with pytest.raises(exports.ExportError) as refused:
        exports.request_export(auditor=auditor, filters={"text": "flood"}, format="csv")
    assert "This search finds 3 entries, more than the 2 one export may hold" in (
        refused.value.message
    )
    assert not Export.objects.exists()
    refusal = AuditEvent.objects.get(action=Action.EXPORT_REFUSED)
    assert refusal.outcome == Outcome.DENIED and refusal.details["entries"] == 3


def test_only_the_maker_downloads_and_only_until_it_expires(client, agency, auditor, package):
    other = make_member(agency, role=Role.AUDITOR, username="otto")
    url = reverse("audit:export_download", args=[package.pk])
    client.force_login(other.user)
    assert client.get(url).status_code == 404
    assert client.get(reverse("audit:export_detail", args=[package.pk])).status_code == 404
    client.force_login(auditor.user)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    body = b"".join(response.streaming_content)
    assert verify.hashlib.sha256(body).hexdigest() == package.sha256
    downloaded = AuditEvent.objects.get(action=Action.EXPORT_DOWNLOADED)
    assert downloaded.actor_label == "aude" and downloaded.details["sha256"] == package.sha256

    Export.objects.filter(pk=package.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    late = client.get(url, follow=True).content.decode()
    assert "This export expired at" in late
    assert AuditEvent.objects.filter(action=Action.EXPORT_DOWNLOADED).count() == 1
    assert exports.remove_expired_exports(agency_id=agency.pk) == 1
    assert not exports.export_path(package).exists()
    assert AuditEvent.objects.filter(action=Action.EXPORT_EXPIRED).count() == 1


def test_an_auditor_may_ask_for_an_export_and_nothing_else(client, agency, auditor, export_dir):
    note(agency, "flood")
    client.force_login(auditor.user)
    response = client.post(
        reverse("audit:export_list"), {"f_text": "flood", "format": "jsonl"}, follow=True
    )
    body = response.content.decode()
    assert "Your export is being made." in body and 'data-testid="export-progress"' in body
    export = Export.objects.get()
    assert export.filters == {"text": "flood"} and export.requested_by_id == auditor.pk
    assert AuditEvent.objects.filter(action=Action.EXPORT_REQUESTED).count() == 1
    # The page polls for progress with htmx; the fragment alone comes back.
    fragment = client.get(
        reverse("audit:export_detail", args=[export.pk]), headers={"HX-Request": "true"}
    ).content.decode()
    assert fragment.lstrip().startswith("<section") and 'hx-trigger="every 1s"' in fragment


def test_a_bad_format_or_search_is_explained_and_makes_nothing(client, agency, auditor):
    client.force_login(auditor.user)
    response = client.post(
        reverse("audit:export_list"), {"f_text": "flood", "format": "pdf"}, follow=True
    )
    assert "Choose CSV, JSON Lines or a records-request package." in response.content.decode()
    response = client.post(
        reverse("audit:export_list"), {"f_text": '"flood', "format": "csv"}, follow=True
    )
    assert "A quotation mark is not closed." in response.content.decode()
    assert not Export.objects.exists()


def test_exports_go_to_their_own_queue():
    from smc.celery import app

    for task in ("audit.tasks.make_export", "audit.tasks.remove_expired_exports"):
        assert app.amqp.router.route({}, task)["queue"].name == "exports"
    assert app.amqp.router.route({}, "audit.tasks.verify_audit_chains")["queue"].name == "celery"


def write_checkpoint(folder, agency_id, event, key):
    """A signed checkpoint as anchoring writes them (audit/anchoring.py, issue 7 part 5)."""
    import base64
    import hashlib

    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    body = {"agency_id": agency_id, "agency_label": event.agency_label, "seq": event.seq,
            "hash": event.hash, "checkpointed_at": "2026-11-25T12:00:00+00:00",
            "key_id": hashlib.sha256(public).hexdigest()[:16]}  # fmt: skip
    signed = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    body["signature"] = base64.b64encode(key.sign(signed.encode())).decode()
    body["public_key"] = base64.b64encode(public).decode()
    path = folder / f"agency-{agency_id}" / f"{event.seq:012d}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body))


def test_the_verifier_checks_ed25519_signatures_as_the_rfc_says():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signature = key.sign(b"seq 12 hash abc")
    assert verify.ed25519_verify(public, b"seq 12 hash abc", signature)
    assert not verify.ed25519_verify(public, b"seq 12 hash abd", signature)
    for at in (0, 40):  # a bit of R, a bit of S
        changed = signature[:at] + bytes([signature[at] ^ 1]) + signature[at + 1 :]
        assert not verify.ed25519_verify(public, b"seq 12 hash abc", changed)


def test_a_package_carries_the_latest_checkpoint_and_a_forged_one_is_named(
    agency, auditor, export_dir, settings, tmp_path
):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    settings.SMC_AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    note(agency, "bridge closed")
    checkpointed = note(agency, "bridge reopened")
    write_checkpoint(
        tmp_path / "checkpoints", agency.pk, checkpointed, Ed25519PrivateKey.generate()
    )
    note(agency, "bridge inspected")
    export = made(auditor, {"text": "bridge"}, "package")
    folder = unpack(export, tmp_path / "unpacked")
    carried = json.loads((folder / "chain/checkpoint.json").read_text())
    assert carried["seq"] == checkpointed.seq
    result = run_verifier(folder)
    assert result.returncode == 0, result.stdout
    assert f"checkpoint: seq {checkpointed.seq}" in result.stdout

    # A rewritten chain: the checkpoint's hash changed to match it, without the key.
    carried["hash"] = "f" * 64
    (folder / "chain/checkpoint.json").write_text(json.dumps(carried))
    result = run_verifier(folder)
    assert result.returncode == 1
    assert "chain/checkpoint.json: its signature does not match its contents" in result.stdout
    assert f"seq {checkpointed.seq} does not match the checkpoint" in result.stdout


def test_awkward_text_survives_every_format_and_still_verifies(
    agency, auditor, export_dir, tmp_path
):
    awkward = 'flood "quoted", back\\slash, new\nline, tab\t, unit\x1fsep, é ✓ 🚒'
    event = note(agency, awkward, nested={"a": [1, 2.5, None, "x\\y"]})
    csv_export = made(auditor, {"text": "flood"}, "csv")
    rows = list(csv.DictReader(io.StringIO(exports.export_path(csv_export).read_text())))
    assert [r["reason"] for r in rows] == [awkward] and rows[0]["hash"] == event.hash
    jsonl_export = made(auditor, {"text": "flood"}, "jsonl")
    lines = exports.export_path(jsonl_export).read_text().splitlines()
    assert [json.loads(line)["reason"] for line in lines] == [awkward]
    package = made(auditor, {"text": "flood"}, "package")
    result = run_verifier(exports.export_path(package))
    assert result.returncode == 0, result.stdout
