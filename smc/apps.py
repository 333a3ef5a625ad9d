from django.apps import AppConfig
from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class SmcConfig(AppConfig):
    name = "smc"
    verbose_name = "SMC"

    def ready(self):
        from smc import logging as smc_logging
        from smc.tenancy import install_row_scope_guard

        smc_logging.install()
        connection_created.connect(install_row_scope_guard, dispatch_uid="smc-row-scope")
        post_migrate.connect(grant_app_role, sender=self, dispatch_uid="smc-grant-app-role")


def grant_app_role(sender, using="default", **kwargs):
    """After every migrate, give the app role row rights on every table, and no more.

    The app role owns nothing, so it cannot alter tables, drop policies or disable
    triggers. Apps take rights away where they must (audit: no UPDATE/DELETE).
    """
    app_user, owner = settings.SMC_APP_DB_USER, settings.SMC_OWNER_DB_USER
    if not app_user or app_user == owner:
        return
    with connections[using].cursor() as cursor:
        cursor.execute(f'GRANT USAGE ON SCHEMA public TO "{app_user}"')
        cursor.execute(
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{app_user}"'
        )
        cursor.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{app_user}"')
