"""Every API request is counted before it is answered: per user once a credential is accepted,
per client address (chexweb/client_address.py) otherwise, refused credentials included. Rates come
from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] ("user", "anonymous").

The count is one Redis transaction (INCR, EXPIRE NX, TTL) on a key that lives for the rate's
period from the first request: a fixed window shared by every web worker, in which exactly `limit`
requests pass however many arrive at once. DRF checks throttles after authentication and
permissions, so a request refused there has not been counted yet: the API's exception handler
counts it (`refusal_counted`), and a client over its limit gets 429 instead of 401 or 403.
Redis out of reach lets requests through (logged): the throttle does not take the API down."""

import logging
import threading

import redis
from django.conf import settings
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from chexweb.client_address import client_address

log = logging.getLogger(__name__)
KEY_PREFIX = "chexweb-throttle"
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
COUNTED = "_chexweb_counted"  # set on a request once its throttle ran


class RequestRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        setattr(request, COUNTED, True)
        scope, identity = _requester(request)
        limit, period_s = rate_parse(api_settings.DEFAULT_THROTTLE_RATES[scope])
        try:
            count, self.retry_after_s = request_count(key=f"{scope}:{identity}",
                                                      period_s=period_s)
        except redis.RedisError as error:
            log.warning("API throttle not counting, Redis out of reach: %s", error)
            return True
        return count <= limit

    def wait(self) -> int:
        return self.retry_after_s


def request_count(*, key: str, period_s: int) -> tuple[int, int]:
    """This request's number in the key's window, and the seconds left in that window."""
    with _redis(settings.CHEXWEB_THROTTLE_REDIS_URL).pipeline(transaction=True) as counting:
        counting.incr(f"{KEY_PREFIX}:{key}")
        counting.expire(f"{KEY_PREFIX}:{key}", period_s, nx=True)
        counting.ttl(f"{KEY_PREFIX}:{key}")
        count, _, ttl = counting.execute()
    return count, max(ttl, 1)


def rate_parse(rate: str) -> tuple[int, int]:
    """`600/minute` -> (600, 60): DRF's notation (s, m, h, d by the first letter)."""
    limit, _, period = rate.partition("/")
    return int(limit), PERIODS[period[:1]]


def refusal_counted(exc, context):
    """A request refused before its throttle ran (no or a bad credential, a role without the
    permission, an Accept the API cannot give) is counted too; over the limit, the refusal is
    429 instead."""
    view, request = context.get("view"), context.get("request")
    if request is None or getattr(request, COUNTED, False):
        return exc
    try:
        view.check_throttles(request)
    except exceptions.Throttled as throttled:
        return throttled
    return exc


def _requester(request) -> tuple[str, str]:
    try:
        user = request.user
    except exceptions.APIException:  # a refused credential leaves the request anonymous
        user = None
    if user is not None and user.is_authenticated:
        return "user", str(user.pk)
    return "anonymous", client_address(request)


_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def _redis(url: str) -> redis.Redis:
    """One client per URL for the process. Made under a lock: a second client made by a thread
    that lost the race would close its connections, in use, when it is collected."""
    with _clients_lock:
        if url not in _clients:
            _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        return _clients[url]
