"""Log-in: CSRF-protected, throttled after repeated failures."""

import pytest
from django.test import Client
from django.urls import reverse

from chexweb.client_address import trusted_proxies_parse
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def attempt(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR="10.1.2.3")


def test_a_username_is_locked_after_five_failures_even_with_the_right_password(clinician):
    client = Client()
    for _ in range(4):
        assert attempt(client, "dr.house", "wrong").status_code == 200
    assert attempt(client, "dr.house", "wrong").status_code == 429
    locked = attempt(client, "dr.house", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()


def test_a_right_password_logs_in_and_resets_the_count(clinician):
    client = Client()
    for _ in range(3):
        attempt(client, "dr.house", "wrong")
    assert attempt(client, "dr.house", PASSWORD).status_code == 302


def test_the_login_form_needs_a_csrf_token(clinician):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "dr.house", "password": PASSWORD})
    assert response.status_code == 403


def attempt_via(client, peer: str, forwarded: str, password: str):
    return client.post(reverse("login"), {"username": "dr.house", "password": password},
                       REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)


@pytest.fixture
def behind_proxy(settings):
    settings.CHEXWEB_TRUSTED_PROXIES = trusted_proxies_parse("10.0.0.2")


def test_behind_the_trusted_proxy_the_lockout_is_of_the_forwarded_client_only(clinician,
                                                                              behind_proxy):
    attacker, doctor = Client(), Client()
    for _ in range(5):
        attempt_via(attacker, "10.0.0.2", "203.0.113.66", "wrong")
    assert attempt_via(attacker, "10.0.0.2", "203.0.113.66", PASSWORD).status_code == 429
    assert attempt_via(doctor, "10.0.0.2", "198.51.100.10", PASSWORD).status_code == 302


def test_a_forwarded_for_header_from_anyone_else_does_not_escape_the_lockout(clinician,
                                                                             behind_proxy):
    attacker = Client()
    answers = [attempt_via(attacker, "198.51.100.66", f"203.0.113.{n}", "wrong").status_code
               for n in range(5)]
    assert answers == [200, 200, 200, 200, 429]
    assert attempt_via(attacker, "198.51.100.66", "203.0.113.99",
                       PASSWORD).status_code == 429
