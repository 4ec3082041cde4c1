"""Telling the pages that a study's status changed, so a result shows as soon as it is stored.

The services that change a study's status call `study_status_changed`: once the change is
committed, it publishes the study's id (nothing else, no patient data) on the study's own Redis
channel. A page's request waits in `study_statuses_wait`: it subscribes, then reads the database
(a change committed before the subscription is seen by the read, one after it by the
subscription: none is lost), then waits for a message or the timeout.

A wait holds one of the web server's threads, so a process lets only CHEXWEB_STATUS_WAITERS of
them wait at once: over that, or with Redis away, `WaitUnavailable` says so and the page asks
again in a second, as it polled before. A page that asks again while its earlier request still
waits (the upload table, a new file in it) names itself with `page`: the earlier wait ends.
"""

import logging
import re
import threading
import time
import uuid

import redis
from django.conf import settings
from django.db import transaction

from diagnoses.models import Study

logger = logging.getLogger(__name__)

CHANNEL_PREFIX = "chexweb:study-status:"
PAGE_CHANNEL_PREFIX = "chexweb:status-page:"
PAGE_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")

_client_lock = threading.Lock()
_client: tuple[str, redis.Redis] | None = None
_waiters: threading.BoundedSemaphore | None = None


class WaitUnavailable(Exception):
    """No wait now (every waiting slot of this process taken, or Redis away): ask again soon."""


def study_status_changed(*, study_id: uuid.UUID) -> None:
    """Tell the waiting pages, once the transaction that changed the status is committed (at
    once outside one). A lost message costs a page one wait, never a wrong status."""
    transaction.on_commit(lambda: _publish(CHANNEL_PREFIX + str(study_id)), robust=True)


def study_statuses_wait(*, known: dict[uuid.UUID, str], timeout: float, page: str = "") -> None:
    """Return once one of the studies' status differs from the one the page `known`s, the
    timeout passed, or the same `page` asked again. Raises WaitUnavailable."""
    slots = _waiter_slots()
    if not slots.acquire(blocking=False):
        raise WaitUnavailable("every waiting slot of this process is taken")
    try:
        _wait(known, timeout, page)
    except redis.RedisError as error:
        logger.warning("status wait without Redis (%s): the page polls", error)
        raise WaitUnavailable(str(error)) from error
    finally:
        slots.release()


def _wait(known: dict[uuid.UUID, str], timeout: float, page: str) -> None:
    deadline = time.monotonic() + timeout
    client = _redis()
    page_channel = PAGE_CHANNEL_PREFIX + page if page else ""
    if page_channel:
        client.publish(page_channel, "")  # before subscribing: ends the page's earlier wait
    channels = [CHANNEL_PREFIX + str(study_id) for study_id in known]
    channels += [page_channel] if page_channel else []
    with client.pubsub() as subscription:
        subscription.subscribe(*channels)
        confirmed = 0
        while confirmed < len(channels):  # subscribed at Redis before the database is read
            message = subscription.get_message(timeout=max(deadline - time.monotonic(), 0.01))
            if message is None:
                if time.monotonic() >= deadline:
                    return
                continue
            confirmed += message["type"] == "subscribe"
        while not _changed(known):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            message = subscription.get_message(ignore_subscribe_messages=True, timeout=left)
            if message is not None and message["channel"].decode() == page_channel:
                return


def _changed(known: dict[uuid.UUID, str]) -> bool:
    now = dict(Study.objects.filter(pk__in=known).values_list("pk", "status"))
    return any(now.get(study_id) != status for study_id, status in known.items())


def _publish(channel: str) -> None:
    try:
        _redis().publish(channel, "")
    except redis.RedisError as error:
        logger.warning("status change not published (%s): pages see it at their next ask", error)


def _redis() -> redis.Redis:
    global _client
    with _client_lock:
        if _client is None or _client[0] != settings.REDIS_URL:
            _client = (settings.REDIS_URL, redis.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5))
        return _client[1]


def _waiter_slots() -> threading.BoundedSemaphore:
    global _waiters
    with _client_lock:
        if _waiters is None:
            _waiters = threading.BoundedSemaphore(settings.CHEXWEB_STATUS_WAITERS)
        return _waiters
