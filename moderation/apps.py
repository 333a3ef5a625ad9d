from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self):
        # Comments are public records: the auditor searches and exports their versions,
        # retention purges the quiet ones, records requests include (and redact) them.
        from moderation import records_retention
        from moderation.records import register_comment_versions

        register_comment_versions()
        records_retention.register()
