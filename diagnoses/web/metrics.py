"""`GET /metrics`: the backlog and how long studies take, in the Prometheus text format.

Every value is read from the database and Redis at scrape time, so any web process gives the
same answer (nothing is counted in process memory):

- `chexweb_studies{status}`: studies per status now (done: up to a minute old, DONE_KEPT_S).
- `chexweb_queue_messages{queue}`: messages waiting in each Celery queue (Redis), and
  `chexweb_queue_unacknowledged`: messages a worker has taken and not yet finished;
  `chexweb_redis_up` is 0 (and both are left out) when Redis does not answer.
- `chexweb_studies_finished_last_hour{status}` and, over the studies that finished in the last
  hour, `chexweb_study_seconds_last_hour{stage,quantile}`: `queue` (upload to a worker taking
  it), `processing` (taken to stored) and `total` (upload to stored; a re-run counts from its
  first upload), at quantiles 0.5, 0.95, 0.99 and 1 (the slowest).
- `chexweb_prediction_ms_last_hour{stage,quantile}`: the worker's own preprocessing and
  inference times of the predictions stored in the last hour.
- the score drift and reviewer agreement gauges of diagnoses/web/monitoring_metrics.py.

Counts only, no patient data; still not public: a staff login, or `Authorization: Bearer
<CHEXWEB_METRICS_TOKEN>` for a scraper (no token set: staff only).
"""

import hmac
import math
from datetime import timedelta

import redis
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from diagnoses.models import Prediction, Study
from diagnoses.web.monitoring_metrics import monitoring_families

# kombu's Redis transport keeps a queue's prioritised messages in lists of their own.
PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
UNACKED_KEY = "unacked"
QUANTILES = (0.5, 0.95, 0.99, 1.0)
WINDOW = timedelta(hours=1)
REDIS_TIMEOUT_S = 1.0
NOT_DONE = [status for status in Study.Status.values if status != Study.Status.DONE]
DONE_KEY = "chexweb:metrics:studies-done"
DONE_KEPT_S = 60


@require_GET
@never_cache
def metrics(request):
    if not _may_read_metrics(request):
        if request.user.is_authenticated and "Authorization" not in request.headers:
            return HttpResponse("Metrics need a staff login.\n", status=403,
                                content_type="text/plain")
        response = HttpResponse("Metrics need a staff login or the metrics bearer token.\n",
                                status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_Snapshot(metric_families())),
                        content_type=CONTENT_TYPE_PLAIN_0_0_4)


def _may_read_metrics(request) -> bool:
    token = settings.CHEXWEB_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer "):
        return hmac.compare_digest(given.removeprefix("Bearer ").encode(), token.encode())
    return request.user.is_authenticated and request.user.is_staff


class _Snapshot:
    """What `generate_latest` reads: metric families, collected once for this scrape."""

    def __init__(self, families: list):
        self.families = families

    def collect(self):
        return self.families


def metric_families() -> list:
    return [studies_per_status(), *queue_depth(), *finished_last_hour(), prediction_times(),
            *monitoring_families()]


def studies_per_status() -> GaugeMetricFamily:
    """Every status but done counted at each scrape (from the status index: the backlog, the
    failures); the done studies, nearly all of them, at most once a DONE_KEPT_S per process:
    counting a million took some 100-300 ms a scrape (docs/benchmarks.md, "Pages")."""
    counts = dict.fromkeys(Study.Status.values, 0)
    counts.update(Study.objects.order_by().filter(status__in=NOT_DONE).values_list("status")
                  .annotate(count=Count("*")))
    counts[Study.Status.DONE] = cache.get_or_set(
        DONE_KEY, lambda: Study.objects.filter(status=Study.Status.DONE).count(), DONE_KEPT_S)
    family = GaugeMetricFamily("chexweb_studies", "Studies per status now", labels=["status"])
    for status, count in counts.items():
        family.add_metric([status], count)
    return family


def queue_depth() -> list:
    up = GaugeMetricFamily("chexweb_redis_up", "1 when Redis (the Celery broker) answered")
    queues = list(settings.CELERY_TASK_QUEUES)
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=REDIS_TIMEOUT_S,
                                  socket_timeout=REDIS_TIMEOUT_S)
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in queues:
                for suffix in PRIORITY_SUFFIXES:
                    pipe.llen(queue + suffix)
            pipe.hlen(UNACKED_KEY)
            lengths = pipe.execute()
    except redis.RedisError:
        up.add_metric([], 0)
        return [up]
    finally:
        client.close()
    up.add_metric([], 1)
    waiting = GaugeMetricFamily("chexweb_queue_messages",
                                "Messages waiting in a Celery queue now", labels=["queue"])
    per_queue = len(PRIORITY_SUFFIXES)
    for number, queue in enumerate(queues):
        waiting.add_metric([queue], sum(lengths[number * per_queue:(number + 1) * per_queue]))
    unacked = GaugeMetricFamily("chexweb_queue_unacknowledged",
                                "Messages taken by a worker and not yet acknowledged")
    unacked.add_metric([], lengths[-1])
    return [up, waiting, unacked]


def finished_last_hour() -> list:
    rows = list(Study.objects.order_by()
                .filter(finished_at__gte=timezone.now() - WINDOW)
                .values_list("status", "created_at", "started_at", "finished_at"))
    finished = GaugeMetricFamily("chexweb_studies_finished_last_hour",
                                 "Studies that finished in the last hour", labels=["status"])
    for status in (Study.Status.DONE, Study.Status.FAILED):
        finished.add_metric([status], sum(1 for row in rows if row[0] == status))
    stages = {"queue": [], "processing": [], "total": []}
    for _, created_at, started_at, finished_at in rows:
        stages["total"].append((finished_at - created_at).total_seconds())
        if started_at is not None:  # a study refused before any worker took it has none
            stages["queue"].append((started_at - created_at).total_seconds())
            stages["processing"].append((finished_at - started_at).total_seconds())
    seconds = GaugeMetricFamily(
        "chexweb_study_seconds_last_hour",
        "Seconds from upload to a worker taking it (queue), from then to the result stored "
        "(processing) and in all (total), over the studies finished in the last hour",
        labels=["stage", "quantile"])
    _add_quantiles(seconds, stages)
    return [finished, seconds]


def prediction_times() -> GaugeMetricFamily:
    rows = list(Prediction.objects.order_by()
                .filter(created_at__gte=timezone.now() - WINDOW)
                .values_list("preprocessing_ms", "inference_ms"))
    family = GaugeMetricFamily(
        "chexweb_prediction_ms_last_hour",
        "The worker's preprocessing and inference milliseconds of the predictions stored in the "
        "last hour", labels=["stage", "quantile"])
    _add_quantiles(family, {"preprocessing": [row[0] for row in rows],
                            "inference": [row[1] for row in rows]})
    return family


def _add_quantiles(family: GaugeMetricFamily, values_per_stage: dict[str, list[float]]) -> None:
    for stage, values in values_per_stage.items():
        values.sort()
        for quantile in QUANTILES:
            family.add_metric([stage, str(quantile)], nearest_rank(values, quantile))


def nearest_rank(sorted_values: list[float], quantile: float) -> float:
    """The nearest-rank quantile; NaN for no values (Prometheus' "no data")."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(quantile * len(sorted_values)) - 1)]
