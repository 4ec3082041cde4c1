"""Log-in: CSRF-protected, throttled after repeated failures."""

import pytest
from django.test import Client
from django.urls import reverse

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
