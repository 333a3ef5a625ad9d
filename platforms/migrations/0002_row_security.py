from django.db import migrations

from smc.tenancy import agency_row_security


class Migration(migrations.Migration):
    """Tenancy backstop: FORCED row-level security on channels and their credentials."""

    dependencies = [
        ("platforms", "0001_initial"),
        ("smc", "0001_row_visibility_function"),
    ]

    operations = [
        agency_row_security("platforms_channel"),
        agency_row_security("platforms_channelsecret"),
    ]
