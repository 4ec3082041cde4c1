"""A study's heartbeat: while a worker diagnoses a study, a thread of the worker writes the time
into the study every CHEXWEB_STUDY_HEARTBEAT_S. A study whose heartbeat stopped lost its worker
(killed, out of memory, its machine gone): the sweeper queues it again.

The thread beats whatever the diagnosis waits on (the model server's retries, a slow answer), and
stops with the process. Each beat is a conditional update on the claim (the study still
`processing` since the same `started_at`), so a beat never keeps alive a claim that is not this
worker's: one the sweeper took back and another worker made.
"""

import logging
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from diagnoses.models import Study

logger = logging.getLogger(__name__)


@contextmanager
def study_heartbeat(*, study_id: uuid.UUID, claimed_at: datetime):
    """Beat for the study claimed at `claimed_at` until the block ends."""
    stop = threading.Event()
    beater = threading.Thread(target=_beat, args=(study_id, claimed_at, stop),
                              name=f"heartbeat-{study_id}", daemon=True)
    beater.start()
    try:
        yield
    finally:
        stop.set()
        beater.join()


def _beat(study_id: uuid.UUID, claimed_at: datetime, stop: threading.Event) -> None:
    try:
        while not stop.wait(settings.CHEXWEB_STUDY_HEARTBEAT_S):
            try:
                Study.objects.filter(
                    pk=study_id, status=Study.Status.PROCESSING, started_at=claimed_at
                ).update(heartbeat_at=timezone.now())
            except DatabaseError as error:  # the next beat tries again
                logger.warning("study %s: heartbeat not written (%s)", study_id, error)
    finally:
        connection.close()  # this thread's own connection
