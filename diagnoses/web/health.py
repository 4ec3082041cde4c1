"""`GET /healthz`: can this deployment take and finish a study now?

Checks the database (`SELECT 1`), Redis (`PING` at REDIS_URL) and each GraphPipe model server
new studies go to (`/control/is_ready`: the active model version's servers, else GRAPHPIPE_URL),
each with a short timeout, Redis and the model servers side by side. 200 when every check passes,
503 when one does not.

No login: the answer names the checks only (model servers by their place in the list), never a
URL, host, password or patient. Plain text is `ok` when all pass (load balancers, container health
checks) and a line per check otherwise; `Accept: application/json` gives every check with its
time.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import redis
import requests
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from diagnoses.model_server import model_server_url
from diagnoses.model_versions import active_model_version
from inference.graphpipe.client import server_urls

TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    ms: float


@require_GET
@never_cache
def health(request):
    checks = health_checks()
    healthy = all(check.ok for check in checks)
    status = 200 if healthy else 503
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({
            "status": "ok" if healthy else "unavailable",
            "checks": {check.name: {"ok": check.ok, "ms": round(check.ms, 1)}
                       for check in checks},
        }, status=status)
    text = "ok" if healthy else "\n".join(
        f"{check.name} {'ok' if check.ok else 'unavailable'}" for check in checks) + "\n"
    return HttpResponse(text, content_type="text/plain", status=status)


def health_checks() -> list[Check]:
    database = _timed("database", _database_answers)
    model_servers = _model_server_urls(database_up=database.ok)
    named = [("redis", lambda: _redis_answers(settings.REDIS_URL))] + [
        (f"model_server_{number}", lambda url=url: _model_server_ready(url))
        for number, url in enumerate(model_servers, start=1)
    ]
    with ThreadPoolExecutor(max_workers=len(named)) as pool:
        others = list(pool.map(lambda item: _timed(*item), named))
    return [database, *others]


def _timed(name: str, check) -> Check:
    started = time.perf_counter()
    try:
        ok = bool(check())
    except Exception:  # any failure is "down"; what failed is in the name, not the text
        ok = False
    return Check(name, ok, (time.perf_counter() - started) * 1000)


def _database_answers() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S)
    try:
        return client.ping()
    finally:
        client.close()


def _model_server_urls(*, database_up: bool) -> list[str]:
    """The servers the worker sends new studies to (diagnoses.model_server)."""
    try:
        active = active_model_version() if database_up else None
    except DatabaseError:
        active = None
    return server_urls(model_server_url(active))


def _model_server_ready(url: str) -> bool:
    response = requests.get(f"{url.rstrip('/')}/control/is_ready",
                            timeout=(TIMEOUT_S, TIMEOUT_S), allow_redirects=False)
    return response.status_code == 200
