"""Every API request is counted in the suite's real Redis, before authentication can refuse it:
per user with an accepted credential, per client address otherwise."""

import ipaddress
import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from rest_framework.test import APIClient

from diagnoses.api.throttling import request_count
from tests.api.conftest import client_for
from tests.processes import free_port

pytestmark = pytest.mark.django_db
MODELS = "/api/v1/models/"


@pytest.fixture
def rates(settings):
    def set_rates(*, user: str = "600/minute", anonymous: str = "60/minute"):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                                   "DEFAULT_THROTTLE_RATES": {"user": user,
                                                              "anonymous": anonymous}}
    return set_rates


def statuses(client, count: int, **extra) -> list[int]:
    return [client.get(MODELS, **extra).status_code for _ in range(count)]


def test_anonymous_requests_are_counted_and_refused_429_over_the_limit(rates):
    rates(anonymous="3/minute")
    anonymous = APIClient()
    assert statuses(anonymous, 4, REMOTE_ADDR="198.51.100.7") == [401, 401, 401, 429]
    refused = anonymous.get(MODELS, REMOTE_ADDR="198.51.100.7")
    assert refused.json()["error"]["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert anonymous.get(MODELS, REMOTE_ADDR="198.51.100.8").status_code == 401


def test_bad_tokens_are_counted_by_address(rates):
    rates(anonymous="2/minute")
    guessing = APIClient()
    answers = [guessing.get(MODELS, HTTP_AUTHORIZATION=f"Bearer guess-{n}",
                            REMOTE_ADDR="198.51.100.7") for n in range(3)]
    assert [answer.status_code for answer in answers] == [401, 401, 429]
    assert answers[-1].json()["error"]["code"] == "throttled"


def test_a_valid_token_is_counted_per_user_not_by_the_address(rates, clinician):
    rates(user="2/minute", anonymous="1/minute")
    assert statuses(APIClient(), 2, REMOTE_ADDR="198.51.100.7") == [401, 429]
    assert statuses(client_for(clinician), 3, REMOTE_ADDR="198.51.100.7") == [200, 200, 429]


def test_a_role_without_the_permission_is_counted_too(rates, outsider):
    rates(user="2/minute")
    assert statuses(client_for(outsider), 3) == [403, 403, 429]


def test_unknown_api_paths_are_counted(rates):
    rates(anonymous="1/minute")
    anonymous = APIClient()
    assert [anonymous.get("/api/v1/nothing/").status_code for _ in range(2)] == [404, 429]


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(rates, settings):
    rates(anonymous="1/minute")
    settings.CHEXWEB_TRUSTED_PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")
    first = {"HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    # The proxy saw 203.0.113.8; what that client wrote in the header itself is not used.
    second = {"HTTP_X_FORWARDED_FOR": "203.0.113.7, 203.0.113.8"}
    assert statuses(proxy, 2, **first) == [401, 429]
    assert statuses(proxy, 2, **second) == [401, 429]


def test_a_forwarded_for_header_from_anyone_else_is_ignored(rates, settings):
    rates(anonymous="2/minute")
    settings.CHEXWEB_TRUSTED_PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)
    spoofing = APIClient(REMOTE_ADDR="198.51.100.7")
    assert [spoofing.get(MODELS, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
            for n in range(3)] == [401, 401, 429]


def test_requests_go_through_when_redis_is_out_of_reach(rates, settings, clinician):
    rates(user="1/minute")
    settings.CHEXWEB_THROTTLE_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert statuses(client_for(clinician), 2) == [200, 200]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # as tests/cli do
def test_exactly_the_limit_passes_when_anonymous_requests_arrive_at_once(rates, live_server):
    """Concurrent requests through the live server's threads: 40 of 100 are answered (401,
    no credential), the other 60 are 429."""
    rates(anonymous="40/minute")
    with requests.Session() as session, ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: session.get(live_server.url + MODELS, timeout=30),
                                range(100)))
    codes = [answer.status_code for answer in answers]
    assert (codes.count(401), codes.count(429)) == (40, 60)


def _count_many(key: str, times: int) -> list[int]:
    return [request_count(key=key, period_s=60)[0] for _ in range(times)]


def test_the_count_is_atomic_across_processes(settings, throttle_counts):
    """Four web workers counting one user at once: every request gets its own number, so
    exactly `limit` of them are at or under it."""
    with multiprocessing.get_context("fork").Pool(4) as workers:
        counts = sum(workers.starmap(_count_many, [("user:1", 175)] * 4), [])
    assert sorted(counts) == list(range(1, 701))
    assert sum(count <= 600 for count in counts) == 600
    assert 0 < throttle_counts.ttl("chexweb-throttle:user:1") <= 60
