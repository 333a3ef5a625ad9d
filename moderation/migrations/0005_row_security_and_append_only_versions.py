from django.db import migrations

from smc.tenancy import agency_row_security


class Migration(migrations.Migration):
    """Tenancy backstop for the new tables, and the archive's promise (M1) kept by the
    database: a comment version, once written, is never changed or removed, by any role
    but the table's owner (the app never connects as the owner). Ingest only inserts
    versions; every change seen on a platform is a new version."""

    dependencies = [("moderation", "0004_actions_holds_policy")]

    operations = [
        migrations.RunSQL(
            sql="""
            CREATE FUNCTION moderation_refuse_version_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'archived comment versions are append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
            END $$;
            CREATE TRIGGER commentversion_no_update_delete
              BEFORE UPDATE OR DELETE ON moderation_commentversion
              FOR EACH ROW EXECUTE FUNCTION moderation_refuse_version_change();
            """,
            reverse_sql="""
            DROP TRIGGER commentversion_no_update_delete ON moderation_commentversion;
            DROP FUNCTION moderation_refuse_version_change();
            """,
        ),
        agency_row_security("moderation_commentpolicy"),
        agency_row_security("moderation_hold"),
        agency_row_security("moderation_moderationaction"),
    ]
