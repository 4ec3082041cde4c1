"""The Celery application: Redis broker, one task queue, settings from Django."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chexweb.settings")

app = Celery("chexweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
