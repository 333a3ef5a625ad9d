"""Tenancy: the Python scope and the PostgreSQL backstop under it."""

import pytest
from django.apps import apps
from django.db import connection, transaction

from accounts.models import Membership, Unit
from audit.models import AuditEvent
from smc.tenancy import AgencyScopeMissing, agency_scope, every_agency
from tests.conftest import app_connection, owner_connection
from tests.factories import make_agency, make_member, make_unit


@pytest.fixture
def two_agencies(db):
    a, b = make_agency(name="Alpha PD"), make_agency(name="Bravo FD")
    make_unit(a, name="Alpha patrol")
    make_unit(b, name="Bravo station")
    make_member(a, username="alpha1")
    make_member(b, username="bravo1")
    return a, b


def test_a_query_without_an_agency_scope_raises(two_agencies):
    with pytest.raises(AgencyScopeMissing):
        list(Unit.objects.all())
    with pytest.raises(AgencyScopeMissing):
        Membership.objects.filter(is_active=True).count()


def test_the_scope_shows_only_its_agency(two_agencies):
    a, b = two_agencies
    with agency_scope(a):
        assert {u.name for u in Unit.objects.all()} == {"Alpha patrol"}
        # Even asking for the other agency's rows by name finds nothing.
        assert not Unit.objects.filter(agency=b).exists()
    with agency_scope(b):
        assert {u.name for u in Unit.objects.all()} == {"Bravo station"}


def test_an_agency_scope_needs_an_agency(two_agencies):
    with pytest.raises(AgencyScopeMissing), agency_scope(None):
        pass


def test_a_raw_query_with_no_agency_set_sees_no_agency_rows(two_agencies):
    # Through Django, outside any scope: the guard sets no agency, RLS shows nothing.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_unit")
        assert cursor.fetchone()[0] == 0


def test_the_app_role_sees_nothing_without_an_agency_and_only_its_agency_with_one(
    transactional_db,
):
    a, b = make_agency(name="Alpha"), make_agency(name="Bravo")
    make_unit(a, name="A unit")
    make_unit(b, name="B unit")
    with app_connection() as raw:
        assert raw.execute("SELECT count(*) FROM accounts_unit").fetchone()[0] == 0
        with raw.transaction():
            raw.execute("SELECT set_config('smc.agency_id', %s, true)", [str(a.pk)])
            names = [r[0] for r in raw.execute("SELECT name FROM accounts_unit").fetchall()]
        assert names == ["A unit"]
        # SET LOCAL: the agency does not outlive its transaction.
        assert raw.execute("SELECT count(*) FROM accounts_unit").fetchone()[0] == 0


def test_the_app_role_cannot_write_into_another_agency_or_lift_the_policy(transactional_db):
    a, b = make_agency(name="Alpha"), make_agency(name="Bravo")
    with app_connection() as raw:
        with pytest.raises(Exception, match="row-level security"), raw.transaction():
            raw.execute("SELECT set_config('smc.agency_id', %s, true)", [str(a.pk)])
            raw.execute(
                "INSERT INTO accounts_unit (agency_id, name) VALUES (%s, 'smuggled')", [b.pk]
            )
        for statement in (
            "ALTER TABLE accounts_unit DISABLE ROW LEVEL SECURITY",
            "ALTER TABLE accounts_unit NO FORCE ROW LEVEL SECURITY",
            "DROP POLICY agency_isolation ON accounts_unit",
        ):
            with pytest.raises(Exception, match="must be owner"):
                raw.execute(statement)


def test_every_agency_table_has_forced_row_security_and_the_app_owns_none(db):
    agency_tables = {
        model._meta.db_table
        for model in apps.get_models()
        if any(f.name in ("agency", "agency_id") for f in model._meta.fields)
    }
    assert {"accounts_unit", "accounts_membership", "audit_auditevent"} <= agency_tables
    with owner_connection() as raw:
        rows = raw.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "pg_get_userbyid(c.relowner), "
            "EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"
        ).fetchall()
        app_user = connection.settings_dict["USER"]
        role = raw.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [app_user]
        ).fetchone()
    by_table = {r[0]: r[1:] for r in rows}
    for table in agency_tables:
        enabled, forced, owner, has_policy = by_table[table]
        assert enabled and forced and has_policy, f"{table} lacks forced row-level security"
    assert all(owner != app_user for _, _, owner, _ in by_table.values())
    assert role == (False, False)


def test_every_agency_spans_agencies_on_purpose(two_agencies):
    with every_agency():
        assert Unit.objects.count() == 2


def test_a_rolled_back_savepoint_does_not_leave_the_wrong_agency(two_agencies):
    a, b = two_agencies
    with agency_scope(a), transaction.atomic():
        assert Unit.objects.count() == 1
        try:
            with transaction.atomic(), agency_scope(b):
                assert Unit.objects.get().name == "Bravo station"
                raise RuntimeError("roll this savepoint back")
        except RuntimeError:
            pass
        # Back in A's scope, after the savepoint that set B was rolled back.
        assert [u.name for u in Unit.objects.all()] == ["Alpha patrol"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM accounts_unit")
            assert [r[0] for r in cursor.fetchall()] == ["Alpha patrol"]


def test_the_record_is_scoped_like_any_agency_data(two_agencies):
    a, b = two_agencies
    with agency_scope(a):
        assert set(AuditEvent.objects.values_list("agency_id", flat=True)) == {a.pk}


def test_a_scope_first_set_inside_a_rolled_back_savepoint_is_set_again(two_agencies):
    a, b = two_agencies
    with agency_scope(b):
        assert Unit.objects.count() == 1  # the transaction now carries B
    with agency_scope(a):
        try:
            with transaction.atomic():
                assert Unit.objects.get().name == "Alpha patrol"  # A is set in the savepoint
                raise RuntimeError("roll back the savepoint, and the SET LOCAL with it")
        except RuntimeError:
            pass
        # Rolling back undid the setting, so it must be set again, not assumed.
        assert [u.name for u in Unit.objects.all()] == ["Alpha patrol"]
