"""R3, R4 journey, at a desk: an auditor searches the record for a records request,
exports what it finds as a package while a progress bar shows the export being made by
the export worker, downloads it, and checks it with the verifier in the package: it
passes on the package and names the altered entry in an altered copy."""

import json
import subprocess
import sys
import zipfile

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from audit.actions import Action
from audit.actors import system_actor
from audit.models import AuditEvent, Export
from audit.services import record_event
from smc.tenancy import agency_scope
from tests.conftest import BROKER_URL
from tests.factories import make_agency, make_member

pytestmark = pytest.mark.browser
PASSWORD = "Correct-Horse-Battery-9"


@pytest.fixture
def export_dir(tmp_path):
    return tmp_path / "exports"


@pytest.fixture
def worker_environment(export_dir):
    # The worker writes the files the live server hands out.
    return {"SMC_EXPORT_DIR": str(export_dir)}


@pytest.fixture
def shared_progress(settings, export_dir):
    """The live server reads export files and progress where the worker writes them: the
    same folder, and the cache in the same Redis database (the worker's REDIS_URL)."""
    settings.SMC_EXPORT_DIR = str(export_dir)
    caches = {"default": {**settings.CACHES["default"], "LOCATION": BROKER_URL}}
    settings.CACHES = caches


def sign_in(page: Page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_test_id("active-agency")).to_have_text("Metro Police")


def verifier(package, cwd) -> subprocess.CompletedProcess:
    """The verifier as the requester runs it: the package's own verify.py, by itself."""
    with zipfile.ZipFile(package) as archive:
        (cwd / "verify.py").write_bytes(archive.read("verify.py"))
    return subprocess.run(
        [sys.executable, "-I", "verify.py", str(package)],
        cwd=cwd, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_an_auditor_exports_a_verifiable_package(
    desk: Page, celery_worker, shared_progress, tmp_path
):
    agency = make_agency(name="Metro Police", slug="metro")
    make_member(agency, role=Role.AUDITOR, username="aude", password=PASSWORD)
    dispatch = system_actor(agency_id=agency.pk, agency_label=agency.name, label="dispatch")
    with agency_scope(agency):
        for number in range(30):
            reason = (
                f"flood warning {number} for the river" if number % 3 == 0 else f"routine {number}"
            )
            record_event(actor=dispatch, action=Action.LOGIN_FAILED, reason=reason)

    sign_in(desk, "aude")
    desk.get_by_role("link", name="Record", exact=True).first.click()
    desk.get_by_label("Words").fill('"flood warning"')
    desk.get_by_role("button", name="Search").click()
    entries = desk.get_by_test_id("entries")
    expect(entries).to_contain_text("flood warning 27 for the river")
    expect(entries).not_to_contain_text("routine")

    desk.get_by_label("Export what this search finds as").select_option("package")
    desk.get_by_role("button", name="Export").click()
    progress = desk.get_by_test_id("export-progress")
    expect(progress.locator("progress")).to_be_attached()
    # htmx polls the progress until the export worker is done.
    expect(progress).to_contain_text("Ready to download", timeout=30_000)
    expect(progress.locator("progress")).to_have_attribute("value", "100")
    expect(progress).to_contain_text("10 entries")

    with desk.expect_download() as download_info:
        progress.get_by_role("link", name="Download").click()
    package = tmp_path / "package.zip"
    download_info.value.save_as(package)

    with agency_scope(agency):
        export = Export.objects.get()
        assert export.requested_by_label == "aude"
        made = AuditEvent.objects.get(action=Action.EXPORT_MADE)
        assert made.details["sha256"] == export.sha256
        assert AuditEvent.objects.filter(action=Action.EXPORT_DOWNLOADED).count() == 1

    intact = verifier(package, tmp_path)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "OK:" in intact.stdout
    assert f"manifest.json SHA-256: {made.details['manifest_sha256']}" in intact.stdout

    # An altered copy: one exported entry says something else.
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(package) as original, zipfile.ZipFile(altered, "w") as copy:
        for item in original.infolist():
            body = original.read(item.filename)
            if item.filename == "records/events.jsonl":
                lines = body.decode().splitlines()
                entry = json.loads(lines[2])
                entry["reason"] = "nothing to see here"
                lines[2] = json.dumps(entry)
                body = ("\n".join(lines) + "\n").encode()
                target = entry["seq"]
            copy.writestr(item, body)
    broken = verifier(altered, tmp_path)
    assert broken.returncode == 1
    assert "ALTERED: file records/events.jsonl was changed" in broken.stdout
    assert f"ALTERED: event seq {target}: its fields no longer match its hash" in broken.stdout
