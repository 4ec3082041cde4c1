"""GET /metrics: Prometheus text a scraper can parse, counting what the server did."""

import numpy as np
import requests
from prometheus_client.parser import text_string_to_metric_families

from inference.graphpipe import wire


def scrape(url: str) -> dict[str, dict[tuple, float]]:
    """Each sample's value by metric sample name and sorted labels."""
    response = requests.get(url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = \
                sample.value
    return samples


def test_metrics_count_requests_errors_batches_and_latency(server_url, image_batch):
    before = scrape(server_url)
    with requests.Session() as session:
        session.post(server_url, data=wire.encode_infer_request([image_batch]), timeout=30)
        session.post(server_url, data=wire.encode_metadata_request(), timeout=30)
        session.post(server_url, data=b"garbage", timeout=30)
        session.post(server_url, data=wire.encode_infer_request([image_batch[:, :2]]), timeout=30)
        session.get(server_url + "/control/is_ready", timeout=30)
    after = scrape(server_url)

    def grew(name: str, **labels) -> float:
        key = tuple(sorted(labels.items()))
        return after[name][key] - before.get(name, {}).get(key, 0.0)

    assert grew("graphpipe_requests_total", kind="infer") == 2
    assert grew("graphpipe_requests_total", kind="metadata") == 1
    assert grew("graphpipe_requests_total", kind="unreadable") == 1
    assert grew("graphpipe_requests_total", kind="control") == 1
    assert grew("graphpipe_errors_total", kind="bad_request") == 2
    assert grew("graphpipe_request_duration_seconds_count", kind="infer") == 2
    assert grew("graphpipe_batch_rows_sum") == 3  # the good request's three rows, in one run
    assert after["graphpipe_queue_rows"][()] == 0
    assert after["graphpipe_open_connections"][()] >= 1
    buckets = [key for key in after["graphpipe_request_duration_seconds_bucket"]
               if ("kind", "infer") in key]
    assert len(buckets) > 10


def test_a_model_failure_counts_as_one(fragile_server):
    before = scrape(fragile_server).get("graphpipe_errors_total", {})
    requests.post(fragile_server, data=wire.encode_infer_request([np.ones((2, 4), np.float32)]),
                  timeout=30)
    after = scrape(fragile_server)["graphpipe_errors_total"]
    key = (("kind", "model_failure"),)
    assert after[key] - before.get(key, 0) == 1
