"""R2 anchored: signed checkpoints outside the database catch a consistent rewrite."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.actions import Action
from audit.actors import system_actor
from audit.anchoring import checkpoint_every_chain, signing_key
from audit.models import AuditEvent
from audit.services import event_hash, record_event
from audit.tasks import checkpoint_audit_chains
from smc.tenancy import agency_scope
from tests.conftest import owner_connection
from tests.factories import make_agency


def _verify():
    out = StringIO()
    try:
        call_command("verify_audit", stdout=out)
    except CommandError as error:
        return False, out.getvalue() + str(error)
    return True, out.getvalue()


@pytest.fixture
def anchored(transactional_db, settings):
    agency = make_agency(name="Anchor PD", slug="anchor")
    actor = system_actor(agency_id=agency.pk, agency_label=agency.name, label="clock")
    with agency_scope(agency):
        for i in range(5):
            record_event(actor=actor, action=Action.CHAIN_VERIFIED, reason=f"entry {i}")
    assert checkpoint_audit_chains() == 1
    return agency, Path(settings.SMC_AUDIT_CHECKPOINT_DIR) / f"agency-{agency.pk}"


def _rewrite_consistently(agency, *, seq: int, reason: str):
    """What an owner with the triggers off could do: change an event and recompute every
    hash after it, and the chain head, so the chain alone still verifies."""
    with agency_scope(agency):
        events = list(AuditEvent.objects.order_by("seq"))
    fields = [{f.name: getattr(e, f.name) for f in AuditEvent._meta.fields} for e in events]
    prev = fields[seq - 2]["hash"] if seq > 1 else "0" * 64
    with owner_connection() as c:
        c.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        try:
            with c.transaction():
                c.execute("SELECT set_config('smc.every_agency', 'on', true)")
                for row in fields[seq - 1 :]:
                    if row["seq"] == seq:
                        row["reason"] = reason
                    row["prev_hash"] = prev
                    row["hash"] = prev = event_hash(row)
                    c.execute(
                        "UPDATE audit_auditevent SET reason = %s, prev_hash = %s, hash = %s "
                        "WHERE id = %s",
                        [row["reason"], row["prev_hash"], row["hash"], row["id"]],
                    )
                c.execute(
                    "UPDATE audit_chainhead SET hash = %s WHERE agency_id = %s", [prev, agency.pk]
                )
        finally:
            c.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


def test_checkpoints_are_signed_files_and_verify_passes(anchored):
    agency, folder = anchored
    (path,) = folder.glob("*.json")
    body = json.loads(path.read_text())
    assert path.name == "000000000005.json" and body["seq"] == 5
    assert body["agency_label"] == "Anchor PD"
    assert body["key_id"] and body["signature"] and body["public_key"]
    # Nothing new: no second checkpoint.
    assert checkpoint_every_chain() == []
    ok, out = _verify()
    assert ok, out


def test_a_consistent_rewrite_of_the_record_is_caught_by_the_checkpoint(anchored):
    agency, _ = anchored
    _rewrite_consistently(agency, seq=3, reason="nothing happened")
    ok, out = _verify()
    assert not ok
    assert "BROKEN Anchor PD" in out and "at seq 5" in out
    assert f"signed checkpoint agency-{agency.pk}/000000000005.json" in out
    assert "the record was rewritten after that checkpoint" in out


def test_without_checkpoints_the_same_rewrite_would_pass(anchored):
    # The control for the test above: the rewrite is consistent, only the anchor sees it.
    agency, folder = anchored
    _rewrite_consistently(agency, seq=3, reason="nothing happened")
    for path in folder.glob("*.json"):
        path.unlink()
    ok, out = _verify()
    assert ok, out


def test_events_removed_after_a_checkpoint_are_caught(anchored):
    agency, _ = anchored
    with owner_connection() as c:
        c.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        try:
            with c.transaction():
                c.execute("SELECT set_config('smc.every_agency', 'on', true)")
                c.execute(
                    "DELETE FROM audit_auditevent WHERE agency_id = %s AND seq > 3", [agency.pk]
                )
                c.execute(
                    "UPDATE audit_chainhead SET seq = 3, hash = (SELECT hash FROM audit_auditevent"
                    " WHERE agency_id = %s AND seq = 3) WHERE agency_id = %s",
                    [agency.pk, agency.pk],
                )
        finally:
            c.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
    ok, out = _verify()
    assert not ok
    assert "the chain ends at event 3 but the signed checkpoint" in out and "saw event 5" in out


def test_a_forged_checkpoint_is_named(anchored):
    agency, folder = anchored
    (path,) = folder.glob("*.json")
    body = json.loads(path.read_text())
    body["hash"] = "f" * 64
    path.write_text(json.dumps(body))
    ok, out = _verify()
    assert not ok
    assert f"checkpoint agency-{agency.pk}/000000000005.json is not signed by this" in out


def test_the_signing_key_comes_from_settings(anchored, settings):
    import base64

    settings.SMC_AUDIT_SIGNING_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
    other = signing_key().public_key()
    ok, out = _verify()  # the existing checkpoint was signed by the generated key
    assert not ok and "is not signed by this installation's key" in out
    from audit.anchoring import key_id

    assert key_id(other) in out
