import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from diagnoses.api.tokens import api_token_create, api_token_revoke
from diagnoses.models import ApiToken, AuditEvent

pytestmark = pytest.mark.django_db

STUDIES = "/api/v1/studies/"


def with_key(key: str, scheme: str = "Bearer") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {key}")
    return client


def test_a_bearer_token_opens_the_api(clinician):
    _, key = api_token_create(user=clinician, name="PACS bridge", days=90)
    response = with_key(key).get(STUDIES)
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_the_token_scheme_is_accepted_too(clinician):
    _, key = api_token_create(user=clinician, name="script", days=1)
    assert with_key(key, scheme="Token").get(STUDIES).status_code == 200


def test_only_a_hash_of_the_key_is_stored(clinician):
    token, key = api_token_create(user=clinician, name="script", days=1)
    token.refresh_from_db()
    assert key not in {token.key_sha256, token.key_prefix, token.name}
    assert key.startswith(token.key_prefix) and len(token.key_sha256) == 64


def test_its_use_is_recorded(clinician):
    token, key = api_token_create(user=clinician, name="script", days=1)
    assert token.last_used_at is None
    with_key(key).get(STUDIES)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_anonymous_requests_get_401_in_the_error_format(anonymous):
    response = anonymous.get(STUDIES)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"error": {
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
        "fields": {},
    }}


def test_an_unknown_token_is_refused(db):
    response = with_key("chx_not-a-real-key").get(STUDIES)
    assert response.status_code == 401
    assert response.json()["error"] == {"code": "authentication_failed",
                                        "message": "Invalid API token.", "fields": {}}


def test_an_expired_token_is_refused_with_a_clear_message(clinician):
    token, key = api_token_create(user=clinician, name="script", days=1)
    ApiToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1))
    response = with_key(key).get(STUDIES)
    assert response.status_code == 401
    assert "This API token expired on" in response.json()["error"]["message"]


def test_a_revoked_token_is_refused_with_a_clear_message(clinician):
    token, key = api_token_create(user=clinician, name="script", days=1)
    api_token_revoke(token=token)
    response = with_key(key).get(STUDIES)
    assert response.status_code == 401
    assert "This API token was revoked on" in response.json()["error"]["message"]


def test_a_token_of_an_inactive_user_is_refused(clinician):
    _, key = api_token_create(user=clinician, name="script", days=1)
    clinician.is_active = False
    clinician.save()
    assert with_key(key).get(STUDIES).status_code == 401


def test_a_malformed_authorization_header_says_how_it_should_look(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer two parts")
    response = client.get(STUDIES)
    assert response.status_code == 401
    assert "Bearer <key>" in response.json()["error"]["message"]


def test_a_user_without_a_role_is_refused(outsider):
    _, key = api_token_create(user=outsider, name="script", days=1)
    response = with_key(key).get(STUDIES)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_the_browsable_api_works_with_the_session(client, clinician):
    client.force_login(clinician)
    response = client.get(STUDIES, HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"Study List" in response.content


def test_api_access_is_audited_on_the_api_channel(api):
    api.get(STUDIES)
    event = AuditEvent.objects.get()
    assert (event.channel, event.action, event.detail) == ("api", "view", "study list")
