"""The Celery application: Redis broker, settings from Django (CELERY_*).

Two queues: `celery` for studies, `sweeps` for the sweeper that celery beat runs every
CHEXWEB_STUCK_SWEEP_INTERVAL_S (diagnoses/sweeper.py), so a backlog of studies never holds up the
recovery of stuck ones. The worker consumes both.
"""

import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chexweb.settings")

app = Celery("chexweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

SWEEP_TASK = "diagnoses.tasks.sweep_stuck_studies"


class RoutineSweepsHidden(logging.Filter):
    """Drops Celery's INFO lines about the sweeper (sent, received, succeeded): it runs every few
    seconds and would bury the studies' lines. What the sweeper recovers it logs as warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or SWEEP_TASK not in record.getMessage()


for _name in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_name).addFilter(RoutineSweepsHidden())
