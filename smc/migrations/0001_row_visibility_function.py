from django.db import migrations


class Migration(migrations.Migration):
    """The predicate of every agency table's row-level security policy.

    A row is visible when the transaction names its agency (`smc.agency_id`, set by
    smc.tenancy.RowScopeGuard) or when the code explicitly spans every agency. With
    neither set, nothing is visible: a raw query with no scope sees no agency rows.
    """

    initial = True
    dependencies = []

    operations = [
        migrations.RunSQL(
            sql="""
            CREATE FUNCTION smc_row_visible(row_agency_id bigint) RETURNS boolean
            LANGUAGE sql STABLE PARALLEL SAFE AS $$
              SELECT coalesce(current_setting('smc.every_agency', true), '') = 'on'
                  OR row_agency_id = nullif(current_setting('smc.agency_id', true), '')::bigint
            $$;
            """,
            reverse_sql="DROP FUNCTION smc_row_visible(bigint);",
        ),
    ]
