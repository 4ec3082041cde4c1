"""`GET /metrics`: the model server's counters in the Prometheus text format (prometheus_client).

- `graphpipe_requests_total{kind}`: answered requests; kind is infer, metadata, control, metrics
  or unreadable (a body that is no GraphPipe request).
- `graphpipe_errors_total{kind}`: bad_request (400/411), forbidden (403, a control request
  refused), model_failure (500 from the model), internal (500, a bug of ours), unavailable (503).
- `graphpipe_request_duration_seconds{kind}`: histogram of the time from the request's headers to
  its answer written.
- `graphpipe_batch_rows`: histogram of rows per model run (dynamic batching at work).
- `graphpipe_queue_rows`: rows waiting for the model now; `graphpipe_open_connections`.
- `graphpipe_cache_rows_total{result}`: hit or miss per row, with `--cache`.

Each server has its own registry, so several can live in one process (tests).
"""

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0,
                     1.5, 2.5, 5.0, 10.0, 30.0)
BATCH_ROWS_BUCKETS = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 24, 32, 64, 128)


class ServerMetrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("graphpipe_requests", "Requests answered, by kind", ["kind"],
                                registry=self.registry)
        self.errors = Counter("graphpipe_errors", "Requests refused or failed, by kind",
                              ["kind"], registry=self.registry)
        self.latency = Histogram("graphpipe_request_duration_seconds",
                                 "Time from a request's headers to its answer written",
                                 ["kind"], buckets=LATENCY_BUCKETS_S, registry=self.registry)
        self.batch_rows = Histogram("graphpipe_batch_rows", "Rows per model run",
                                    buckets=BATCH_ROWS_BUCKETS, registry=self.registry)
        self.queue_rows = Gauge("graphpipe_queue_rows", "Rows waiting for the model",
                                registry=self.registry)
        self.open_connections = Gauge("graphpipe_open_connections", "Open client connections",
                                      registry=self.registry)

    def record(self, kind: str, error: str, seconds: float) -> None:
        self.requests.labels(kind).inc()
        if error:
            self.errors.labels(error).inc()
        self.latency.labels(kind).observe(seconds)

    def watch_queue(self, queued_rows: Callable[[], int]) -> None:
        self.queue_rows.set_function(queued_rows)

    def watch_connections(self, open_connections: Callable[[], int]) -> None:
        self.open_connections.set_function(open_connections)

    def watch_cache(self, cache) -> None:
        self.registry.register(_CacheCollector(cache))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _CacheCollector:
    def __init__(self, cache):
        self.cache = cache

    def collect(self):
        rows = CounterMetricFamily("graphpipe_cache_rows", "Rows answered from the cache (hit) "
                                   "or by the model (miss)", labels=["result"])
        rows.add_metric(["hit"], self.cache.hits)
        rows.add_metric(["miss"], self.cache.misses)
        yield rows
