from django.apps import AppConfig


class PostingConfig(AppConfig):
    name = "posting"
    verbose_name = "Posting"

    def ready(self):
        # Celery's autodiscovery imports only posting.tasks (publishing's): register the
        # approval clock's tasks too.
        from posting import approval_tasks  # noqa: F401

        # Posts are public records: the auditor searches and exports every revision,
        # retention keeps them (7 years by default), records requests include them.
        from posting.records import register_post_kind, register_post_source

        register_post_source()
        register_post_kind()
