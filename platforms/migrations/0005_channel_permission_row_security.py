from django.db import migrations

from smc.tenancy import agency_row_security


class Migration(migrations.Migration):
    """Tenancy backstop: who may use a channel is agency data too."""

    dependencies = [
        ("platforms", "0004_channel_permissions"),
        ("smc", "0001_row_visibility_function"),
    ]

    operations = [agency_row_security("platforms_channelpermission")]
