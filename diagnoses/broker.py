"""Which studies the broker will still hand to a worker: read from Redis as kombu's Redis
transport keeps it.

A diagnosis message waits in the `celery` list (one list per priority step), and from the moment
a worker takes it until the worker acknowledges it, it is held in the `unacked` hash, the time it
was taken in `unacked_index`. A worker holds a message with a countdown (a retry) until it is due;
any other it starts at once. A message held long past the later of the two lost its worker (a
worker killed while holding it leaves it there for the visibility timeout, an hour).
"""

import base64
import json
import uuid
from datetime import datetime

import redis
from django.conf import settings

DIAGNOSIS_TASK = "diagnoses.tasks.diagnose_study"
QUEUE = "celery"
# kombu's Redis transport, default transport options (chexweb/settings.py changes none of these).
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)
UNACKED = "unacked"
UNACKED_INDEX = "unacked_index"


class BrokerUnreadable(Exception):
    """Redis could not be read: what it holds is unknown."""


def studies_in_broker(*, now: datetime, held_overdue_s: float) -> set[uuid.UUID]:
    """The studies whose diagnosis message waits in a queue, or is held by a worker and was due
    less than `held_overdue_s` before `now`. One snapshot: read in one Redis transaction."""
    keys = [QUEUE] + [f"{QUEUE}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS if step]
    try:
        with redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=10,
                                  socket_connect_timeout=5) as client:
            pipe = client.pipeline(transaction=True)
            for key in keys:
                pipe.lrange(key, 0, -1)
            pipe.hgetall(UNACKED)
            pipe.zrange(UNACKED_INDEX, 0, -1, withscores=True)
            *queued, unacked, taken_at = pipe.execute()
    except redis.RedisError as error:
        raise BrokerUnreadable(str(error)) from error

    studies = set()
    for raw in (message for messages in queued for message in messages):
        study_id, _ = _diagnosis_of(_json(raw))
        if study_id is not None:
            studies.add(study_id)
    taken = {_text(tag): score for tag, score in taken_at}
    for tag, raw in unacked.items():
        held = _json(raw)
        study_id, due = _diagnosis_of(held[0] if isinstance(held, list) and held else None)
        if study_id is None:
            continue
        due_at = max(filter(None, [taken.get(_text(tag)), due]), default=None)
        if due_at is None or now.timestamp() - due_at < held_overdue_s:
            studies.add(study_id)
    return studies


def _diagnosis_of(message) -> tuple[uuid.UUID | None, float | None]:
    """The study a diagnosis message carries and when it is due (its ETA, a timestamp); (None,
    None) for any other message, or one that cannot be read."""
    try:
        headers = message["headers"]
        if headers.get("task") != DIAGNOSIS_TASK:
            return None, None
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]  # Celery's message protocol 2: [args, kwargs, embed]
        study_id = uuid.UUID(str(args[0]))
        eta = headers.get("eta")
        return study_id, datetime.fromisoformat(eta).timestamp() if eta else None
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return None, None


def _json(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
