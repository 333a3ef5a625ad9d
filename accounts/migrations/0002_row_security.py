from django.db import migrations

from smc.tenancy import agency_row_security


class Migration(migrations.Migration):
    """Tenancy backstop: FORCED row-level security on every accounts table of agency data."""

    dependencies = [
        ("accounts", "0001_initial"),
        ("smc", "0001_row_visibility_function"),
    ]

    operations = [
        agency_row_security("accounts_unit"),
        agency_row_security("accounts_membership"),
        agency_row_security("accounts_invitation"),
    ]
