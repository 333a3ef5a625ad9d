from django.apps import AppConfig


class PostingConfig(AppConfig):
    name = "posting"
    verbose_name = "Posting"

    def ready(self):
        # Celery's autodiscovery imports only posting.tasks (publishing's): register the
        # approval clock's tasks too.
        from posting import approval_tasks  # noqa: F401
