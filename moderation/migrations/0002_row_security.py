from django.db import migrations

from smc.tenancy import agency_row_security


class Migration(migrations.Migration):
    """Tenancy backstop: FORCED row-level security on archived comments and polling."""

    dependencies = [
        ("moderation", "0001_comments_and_polling"),
        ("smc", "0001_row_visibility_function"),
    ]

    operations = [
        agency_row_security("moderation_comment"),
        agency_row_security("moderation_commentversion"),
        agency_row_security("moderation_channelpoll"),
    ]
