"""The Celery app: workers and beat, configured from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smc.settings")

app = Celery("smc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
