from django.db import migrations

from smc.tenancy import agency_row_security


class Migration(migrations.Migration):
    """Tenancy backstop: FORCED row-level security on supervisions, training records and
    notifications."""

    dependencies = [
        ("accounts", "0004_authority_and_notifications"),
        ("smc", "0001_row_visibility_function"),
    ]

    operations = [
        agency_row_security("accounts_supervision"),
        agency_row_security("accounts_trainingrecord"),
        agency_row_security("accounts_notification"),
    ]
