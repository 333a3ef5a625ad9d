"""R2 under beat: a real worker re-verifies every chain and records a break where the
agency's auditors will see it."""

from audit.actions import Action
from audit.actors import system_actor
from audit.models import AuditEvent
from audit.services import record_event
from audit.tasks import verify_audit_chains
from smc.tenancy import agency_scope
from tests.conftest import owner_connection, wait_for
from tests.factories import make_agency


def test_a_worker_finds_a_broken_chain_and_records_it(celery_worker):
    intact, tampered = make_agency(name="Intact PD"), make_agency(name="Tampered PD")
    for agency in (intact, tampered):
        actor = system_actor(agency_id=agency.pk, agency_label=agency.name)
        for n in range(3):
            record_event(actor=actor, action=Action.LOGIN_FAILED, reason=f"try {n}")
    with owner_connection() as c:
        c.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        c.execute("SELECT set_config('smc.every_agency', 'on', false)")
        c.execute("UPDATE audit_auditevent SET reason = 'nothing' WHERE agency_id = %s AND seq = 2",
                  [tampered.pk])  # fmt: skip
        c.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")

    verify_audit_chains.delay()

    def broken_recorded():
        with agency_scope(tampered):
            return AuditEvent.objects.filter(action=Action.CHAIN_BROKEN).exists()

    wait_for(broken_recorded, what="the worker to record the broken chain", process=celery_worker)
    with agency_scope(tampered):
        event = AuditEvent.objects.get(action=Action.CHAIN_BROKEN)
    assert "at seq 2: its fields were altered" in event.reason
    assert event.actor_label == "record check"
    with agency_scope(intact):
        assert not AuditEvent.objects.filter(action=Action.CHAIN_BROKEN).exists()
