from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self):
        # Comments are public records: the auditor searches and exports their versions.
        from moderation.records import register_comment_versions

        register_comment_versions()
