from django.db import migrations

from smc.tenancy import agency_row_security


class Migration(migrations.Migration):
    """R2: the database itself refuses to change or remove an event, for every role.

    Only the table's owner can disable these triggers, and the app never connects as the
    owner. Verification (manage.py verify_audit) still catches an owner who does.
    """

    dependencies = [
        ("audit", "0001_initial"),
        ("smc", "0001_row_visibility_function"),
    ]

    operations = [
        migrations.RunSQL(
            sql="""
            CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'the audit record is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
            END $$;
            CREATE TRIGGER audit_event_no_update_delete
              BEFORE UPDATE OR DELETE ON audit_auditevent
              FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
            CREATE TRIGGER audit_event_no_truncate
              BEFORE TRUNCATE ON audit_auditevent
              FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
            """,
            reverse_sql="""
            DROP TRIGGER audit_event_no_truncate ON audit_auditevent;
            DROP TRIGGER audit_event_no_update_delete ON audit_auditevent;
            DROP FUNCTION audit_refuse_change();
            """,
        ),
        agency_row_security("audit_auditevent"),
        agency_row_security("audit_chainhead"),
    ]
