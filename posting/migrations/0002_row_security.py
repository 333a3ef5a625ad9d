from django.db import migrations

from smc.tenancy import agency_row_security


class Migration(migrations.Migration):
    """Tenancy backstop: FORCED row-level security on every posting table."""

    dependencies = [
        ("posting", "0001_posts_and_publications"),
        ("smc", "0001_row_visibility_function"),
    ]

    operations = [
        agency_row_security("posting_post"),
        agency_row_security("posting_postrevision"),
        agency_row_security("posting_postphoto"),
        agency_row_security("posting_publication"),
        agency_row_security("posting_approvaldecision"),
    ]
