"""R2: the record is append-only and hash-chained; verify_audit names the first break."""

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from audit.actions import Action
from audit.actors import system_actor
from audit.models import AuditEvent
from audit.services import record_event, verify_chain
from smc.tenancy import agency_scope, every_agency
from tests.conftest import app_connection, owner_connection
from tests.factories import make_agency


def _record(agency, n, label="clock"):
    actor = system_actor(agency_id=agency.pk, agency_label=agency.name, label=label)
    return [
        record_event(actor=actor, action=Action.CHAIN_VERIFIED, reason=f"entry {i}")
        for i in range(n)
    ]


def _verify(*args):
    from io import StringIO

    out = StringIO()
    try:
        call_command("verify_audit", *args, stdout=out)
    except CommandError as error:
        return False, out.getvalue() + str(error)
    return True, out.getvalue()


@pytest.fixture
def chain(transactional_db):
    agency = make_agency(name="Chain PD", slug="chain-pd")
    _record(agency, 5)
    return agency


def _as_owner_without_triggers(sql, params=()):
    with owner_connection() as c:
        c.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        try:
            with c.transaction():
                c.execute("SELECT set_config('smc.every_agency', 'on', true)")
                c.execute(sql, params)
        finally:
            c.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


def test_events_link_into_one_chain_per_agency(chain):
    other = make_agency(name="Other FD")
    _record(other, 2)
    with agency_scope(chain):
        seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", "prev_hash", "hash"))
    assert [s for s, _, _ in seqs] == [1, 2, 3, 4, 5]
    assert all(seqs[i][1] == seqs[i - 1][2] for i in range(1, 5))
    ok, out = _verify()
    assert ok, out
    assert "OK: 7 events in 2 chains verified" in out


def test_the_app_role_may_not_change_or_remove_events(chain):
    with app_connection() as c:
        for statement in (
            "UPDATE audit_auditevent SET reason = 'x'",
            "DELETE FROM audit_auditevent",
            "TRUNCATE audit_auditevent",
        ):
            with pytest.raises(Exception, match="permission denied"):
                c.execute(statement)


def test_the_database_refuses_changes_even_from_the_owner(chain):
    with owner_connection() as c:
        c.execute("SELECT set_config('smc.every_agency', 'on', false)")
        for statement in (
            "UPDATE audit_auditevent SET reason = 'x'",
            "DELETE FROM audit_auditevent",
            "TRUNCATE audit_auditevent",
        ):
            with pytest.raises(Exception, match="append-only"):
                c.execute(statement)


def test_verify_names_an_altered_event(chain):
    _as_owner_without_triggers(
        "UPDATE audit_auditevent SET reason = 'nothing happened' WHERE seq = 3 AND agency_id = %s",
        [chain.pk],
    )
    ok, out = _verify("--agency", "chain-pd")
    assert not ok
    assert "BROKEN Chain PD" in out
    assert "at seq 3: its fields were altered" in out


def test_verify_names_an_altered_content(chain):
    _as_owner_without_triggers(
        "UPDATE audit_auditevent SET content = '{\"x\":1}' WHERE seq = 2 AND agency_id = %s",
        [chain.pk],
    )
    ok, out = _verify()
    assert not ok
    assert "at seq 2: its content was altered" in out


def test_verify_names_a_deleted_event(chain):
    _as_owner_without_triggers(
        "DELETE FROM audit_auditevent WHERE seq = 4 AND agency_id = %s", [chain.pk]
    )
    ok, out = _verify()
    assert not ok
    assert "at seq 4: event 4 is missing (the next event is 5)" in out


def test_verify_notices_a_deleted_newest_event(chain):
    _as_owner_without_triggers(
        "DELETE FROM audit_auditevent WHERE seq = 5 AND agency_id = %s", [chain.pk]
    )
    ok, out = _verify()
    assert not ok
    assert "should end at event 5 but ends at 4" in out


def test_verify_names_two_swapped_events(chain):
    # Swap the places (seq) of events 2 and 3.
    for old, new in ((2, -2), (3, 2), (-2, 3)):
        _as_owner_without_triggers(
            "UPDATE audit_auditevent SET seq = %s WHERE seq = %s AND agency_id = %s",
            [new, old, chain.pk],
        )
    ok, out = _verify()
    assert not ok
    assert "at seq 2: it does not link to the event before it" in out


def test_concurrent_writers_never_fork_the_chain(transactional_db):
    agency = make_agency(name="Busy PD")
    errors = []

    def writer(n):
        try:
            with agency_scope(agency):
                _record(agency, 25, label=f"writer {n}")
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with agency_scope(agency):
        report = verify_chain(agency.pk)
        seqs = sorted(AuditEvent.objects.values_list("seq", flat=True))
    assert report.ok, report.describe()
    assert seqs == list(range(1, 201))


def test_an_event_outside_the_open_scope_is_refused(transactional_db):
    a, b = make_agency(name="A"), make_agency(name="B")
    from audit.services import AuditError

    with agency_scope(a), pytest.raises(AuditError):
        _record(b, 1)


def test_an_unknown_action_is_refused(transactional_db):
    a = make_agency(name="A")
    with pytest.raises(ValueError):
        record_event(
            actor=system_actor(agency_id=a.pk, agency_label="A"), action="posting.post.teleported"
        )
    with every_agency():
        assert not AuditEvent.objects.filter(agency_id=a.pk).exists()
    assert connection.settings_dict["USER"] != "smc_owner"


def test_awkward_text_verifies_and_a_changed_character_does_not(transactional_db):
    # Verification has PostgreSQL write the canonical JSON: every escape must match
    # Python's json.dumps, or a true record would be reported altered.
    agency = make_agency(name='Quote "PD" \\ é 🚓')
    actor = system_actor(agency_id=agency.pk, agency_label=agency.name, label="tab\there")
    awkward = 'line\nbreak\r\x01\x1f\x7f "quoted" back\\slash / é 中 🚓 \u2028 </script>'
    with agency_scope(agency):
        from smc import request_context

        token = request_context.begin(ip="2001:db8::1", user_agent=awkward)
        try:
            details = {"z": awkward, "a": [1, 2.5, None, True], "é": {"b": 1}}
            record_event(actor=actor, action=Action.CHAIN_VERIFIED, reason=awkward, details=details)
        finally:
            request_context.end(token)
        record_event(actor=actor, action=Action.CHAIN_VERIFIED, reason="", details={})
        # Flat details are written canonically by PostgreSQL: key order by code point.
        flat = {"é": 'x\n"', "Z": 1, "a": None, "aa": True, "b": -12345678901234, "B": False}
        record_event(actor=actor, action=Action.CHAIN_VERIFIED, details=flat)
        assert verify_chain(agency.pk).ok, verify_chain(agency.pk).describe()
    _as_owner_without_triggers(
        "UPDATE audit_auditevent SET reason = replace(reason, 'é', 'e') WHERE agency_id = %s",
        [agency.pk],
    )
    with agency_scope(agency):
        report = verify_chain(agency.pk)
    assert report.broken_seq == 1 and "hash mismatch" in report.problem


def test_an_installation_event_inside_a_transaction_leaves_its_row_scope_alone(transactional_db):
    # audit_append opens the event's own scope (every agency, for the installation's
    # chain) and must restore the caller's, or the rest of the transaction would see
    # every agency's rows.
    from django.db import transaction

    agency = make_agency(name="Scoped PD")
    installation = system_actor(agency_id=None, agency_label="", label="webhook")
    with agency_scope(agency), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('smc.agency_id', true)")
            before = cursor.fetchone()[0]
        record_event(actor=installation, action=Action.WEBHOOK_SIGNATURE_REFUSED)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('smc.agency_id', true), "
                "current_setting('smc.every_agency', true)"
            )
            assert cursor.fetchone() == (before, "")
    assert before == str(agency.pk)
    with every_agency():
        assert verify_chain(None).ok
