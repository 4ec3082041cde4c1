"""The Celery application: Redis broker, settings from Django (CELERY_*).

Two queues: `celery` for studies, `sweeps` for the sweeper that celery beat runs every
CHEXWEB_STUCK_SWEEP_INTERVAL_S (diagnoses/sweeper.py), so a backlog of studies never holds up the
recovery of stuck ones. The worker consumes both.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chexweb.settings")

app = Celery("chexweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
