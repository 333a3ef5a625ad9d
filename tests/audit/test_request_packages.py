"""Records requests produce a package (issue 7, part 4): made by the export worker on its
queue, downloaded by the auditor who asked, checked by its own verify.py; personal data in
comments is redacted in the copy and listed, the originals stay, and a log entry whose
content holds personal data keeps its hash but not the content."""

import hashlib
import json
import subprocess
import sys
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.actions import Action
from audit.exports import services as exports
from audit.exports import verify
from audit.models import AuditEvent, Export, Redaction
from audit.requests import create_records_request
from audit.services import record_event
from moderation import ingest
from moderation.models import Comment
from platforms.adapters.base import CommentBatch, IncomingComment
from smc.tenancy import agency_scope
from tests.conftest import wait_for
from tests.factories import make_agency, make_channel, make_member

PHONE = "612-555-0182"
PRIVATE = f"Call my neighbour at {PHONE}, she saw the crash"


@pytest.fixture
def export_dir(tmp_path):
    return tmp_path / "exports"


@pytest.fixture
def worker_environment(export_dir):
    # The worker writes the file the test then downloads.
    return {"SMC_EXPORT_DIR": str(export_dir)}


def _comment(channel, comment_id, text):
    ingest.archive_comments(
        channel=channel,
        batch=CommentBatch(
            [
                IncomingComment(
                    comment_id, "p1", None, "u1", "Kim Doe", "kimd", text, timezone.now()
                )
            ],
            None,
        ),
    )


def _request(member, kinds):
    today = timezone.localdate()
    return create_records_request(
        member=member, requester="Jordan Press", received_on=today, date_from=today,
        date_to=today, kinds=kinds,
    )  # fmt: skip


def _verifier(package, cwd) -> subprocess.CompletedProcess:
    """The package's own verify.py, run by itself as the requester would."""
    with zipfile.ZipFile(package) as archive:
        (cwd / "verify.py").write_bytes(archive.read("verify.py"))
    return subprocess.run(
        [sys.executable, "-I", "verify.py", str(package)],
        cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_an_auditor_builds_a_redacted_package_the_worker_makes_and_it_verifies(
    celery_worker, client, settings, export_dir, tmp_path
):
    settings.SMC_EXPORT_DIR = str(export_dir)
    agency = make_agency(name="Metro Police", slug="metro")
    admin = make_member(agency, role=Role.ADMINISTRATOR, username="ada")
    auditor = make_member(agency, role=Role.AUDITOR, username="aude")
    with agency_scope(agency):
        channel = make_channel(agency, administrator=admin, name="Metro on X")
        _comment(channel, "c1", PRIVATE)
        _comment(channel, "c2", "Thanks, stay safe")
        made = _request(
            auditor, ["audit.event", "moderation.comment.quiet", "moderation.comment.acted"]
        )

    client.force_login(auditor.user)
    page = client.get(reverse("audit:request_detail", args=[made.pk])).content.decode()
    assert "Build package" in page
    response = client.post(reverse("audit:request_package", args=[made.pk]), follow=True)
    assert "The package is being made." in response.content.decode()
    with agency_scope(agency):
        export = Export.objects.get()
        assert export.records_request_id == made.pk and export.format == Export.Format.PACKAGE

        def ready():
            export.refresh_from_db()
            return export.is_finished

        wait_for(ready, what="the export worker to make the package", process=celery_worker)
        assert export.status == Export.Status.READY, export.error

    download = client.get(reverse("audit:export_download", args=[export.pk]))
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    package = tmp_path / "package.zip"
    package.write_bytes(body)
    checked = _verifier(package, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK:" in checked.stdout

    with zipfile.ZipFile(package) as archive:
        names = set(archive.namelist())
        everything = b"".join(archive.read(name) for name in names)
        comments = [
            json.loads(line)
            for name in names
            if name.startswith("records/moderation.comment.")
            for line in archive.read(name).splitlines()
        ]
        listed = [json.loads(line) for line in archive.read("redactions.jsonl").splitlines()]
        manifest = json.loads(archive.read("manifest.json"))
    assert {"records/events.jsonl", "redactions.jsonl", "chain/head.json", "verify.py"} <= names
    assert PHONE.encode() not in everything  # nowhere: not in comments, not in log entries
    private = next(c for c in comments if c["fields"]["platform_comment_id"] == "c1")
    assert "[redacted: personal_data.phone]" in private["fields"]["text"]
    original_sha256 = hashlib.sha256(PRIVATE.encode()).hexdigest()
    in_text = [r for r in listed if r["field"] == "text"]
    assert [(r["record_id"], r["rule"]) for r in in_text] == [
        (private["record_id"], "personal_data.phone")
    ]
    assert in_text[0]["original_sha256"] == original_sha256
    assert manifest["records_request"]["reference"] == made.reference

    with agency_scope(agency):
        assert Comment.objects.get(platform_comment_id="c1").text == PRIVATE  # the original
        stored = Redaction.objects.filter(request=made, kind__startswith="moderation.comment")
        assert {r.field for r in stored} == {"text", "versions.0.text"}
        assert {r.original_sha256 for r in stored} == {original_sha256}
        assert AuditEvent.objects.filter(action=Action.RECORDS_REQUEST_COMPILED).count() == 1
        assert AuditEvent.objects.filter(action=Action.EXPORT_MADE).count() == 1


@pytest.fixture
def redacting_package(agency, settings, tmp_path):
    """A request for log entries and comments, where one entry's content holds a
    comment's phone number (a moderation decision about it)."""
    settings.SMC_EXPORT_DIR = str(tmp_path / "exports")
    admin = make_member(agency, role=Role.ADMINISTRATOR, username="ada")
    auditor = make_member(agency, role=Role.AUDITOR, username="aude")
    channel = make_channel(agency, administrator=admin, name="Metro on X")
    _comment(channel, "c1", PRIVATE)
    comment = Comment.objects.get(platform_comment_id="c1")
    hidden = record_event(actor=admin, action=Action.COMMENT_HIDDEN, subject=comment)
    made = _request(auditor, ["audit.event", "moderation.comment.acted"])
    export = exports.request_package(auditor=auditor, records_request=made)
    export = exports.make_export(export_id=export.pk)
    assert export.status == Export.Status.READY, export.error
    return export, hidden, made


def test_an_entry_whose_content_holds_personal_data_keeps_its_hash_not_its_content(
    redacting_package, tmp_path
):
    export, hidden, made = redacting_package
    path = exports.export_path(export)
    checked = _verifier(path, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with zipfile.ZipFile(path) as archive:
        entries = [json.loads(line) for line in archive.read("records/events.jsonl").splitlines()]
        listed = [json.loads(line) for line in archive.read("redactions.jsonl").splitlines()]
        everything = b"".join(archive.read(name) for name in archive.namelist())
    assert PHONE.encode() not in everything
    entry = next(e for e in entries if e["seq"] == hidden.seq)
    assert entry["content"] == "" and entry["content_withheld"] == "personal_data.phone"
    assert entry["content_sha256"] == hidden.content_sha256 and entry["hash"] == hidden.hash
    withheld = next(r for r in listed if r["field"] == "content")
    assert withheld["seq"] == hidden.seq and withheld["original_sha256"] == hidden.content_sha256
    # The request's own entries are in the package, so it is tied to the chain.
    assert {Action.RECORDS_REQUEST_CREATED, Action.EXPORT_REQUESTED} <= {
        e["action"] for e in entries
    }
    assert Redaction.objects.filter(request=made, kind="audit.event", field="content").count() == 1
    hidden.refresh_from_db()
    assert PHONE in hidden.content  # the record itself keeps it


def test_a_redacted_package_altered_afterwards_is_named_by_the_verifier(
    redacting_package, tmp_path
):
    export, _hidden, _made = redacting_package
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(exports.export_path(export)) as archive:
        archive.extractall(folder)
    redactions = folder / "redactions.jsonl"
    redactions.write_text(redactions.read_text().replace("personal_data.phone", "nothing", 1))
    checked = subprocess.run(
        [sys.executable, "-I", str(verify.__file__), str(folder)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 1
    assert "file redactions.jsonl was changed" in checked.stdout


def test_a_package_without_log_entries_still_proves_the_request_against_the_chain(
    agency, settings, tmp_path
):
    settings.SMC_EXPORT_DIR = str(tmp_path / "exports")
    auditor = make_member(agency, role=Role.AUDITOR, username="aude")
    made = _request(auditor, ["moderation.comment.quiet"])
    export = exports.request_package(auditor=auditor, records_request=made)
    export = exports.make_export(export_id=export.pk)
    assert export.status == Export.Status.READY, export.error
    checked = _verifier(exports.export_path(export), tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with zipfile.ZipFile(exports.export_path(export)) as archive:
        entries = [json.loads(line) for line in archive.read("records/events.jsonl").splitlines()]
    assert {e["object_id"] for e in entries} == {str(made.pk)}


def test_another_agencys_request_cannot_be_packaged(client, agency):
    other = make_agency(name="Other", slug="other")
    with agency_scope(other):
        theirs = _request(make_member(other, role=Role.AUDITOR, username="otto"), ["audit.event"])
    auditor = make_member(agency, role=Role.AUDITOR, username="aude")
    client.force_login(auditor.user)
    response = client.post(reverse("audit:request_package", args=[theirs.pk]))
    assert response.status_code == 404
    with agency_scope(other):
        assert not Export.objects.exists()
