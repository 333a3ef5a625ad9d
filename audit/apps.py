from django.apps import AppConfig
from django.conf import settings
from django.db import connections
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Record"

    def ready(self):
        post_migrate.connect(revoke_changes, sender=self, dispatch_uid="audit-revoke-changes")
        # The record's own events are a kind of record that retention covers (R5).
        from audit import retention  # noqa: F401


def revoke_changes(sender, using="default", **kwargs):
    """R2: the app role may add events and read them, never change or remove them.

    smc's post_migrate handler grants row rights on every table first (smc comes before
    audit in INSTALLED_APPS); this takes the dangerous ones back. The triggers in
    migration 0002 refuse the same to every role, the owner included.
    """
    app_user, owner = settings.SMC_APP_DB_USER, settings.SMC_OWNER_DB_USER
    if not app_user or app_user == owner:
        return
    with connections[using].cursor() as cursor:
        cursor.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON audit_auditevent FROM "{app_user}"')
        # The one way to change an event: a retention purge of its content (migration 0004).
        cursor.execute(f'GRANT EXECUTE ON FUNCTION audit_purge_content(bigint[]) TO "{app_user}"')
