import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from diagnoses.models import ApiToken

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("api_token", *args, stdout=out)
    return out.getvalue()


def test_create_prints_the_key_once_and_it_works(clinician):
    output = run("create", "dr.house", "--name", "PACS bridge", "--days", "90")
    key = output.split("Key (shown once, store it now): ")[1].split()[0]
    token = ApiToken.objects.get()
    assert token.name == "PACS bridge" and token.user == clinician
    assert (token.expires_at - token.created_at).days in (89, 90)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/studies/").status_code == 200


def test_quiet_prints_the_key_alone(clinician):
    key = run("create", "dr.house", "--name", "script", "--quiet").strip()
    assert key.startswith("chx_") and ApiToken.objects.get().key_prefix == key[:8]


def test_list_shows_tokens_without_their_keys(clinician, reviewer):
    key = run("create", "dr.house", "--name", "bridge", "--quiet").strip()
    run("create", "dr.cuddy", "--name", "laptop", "--quiet")
    listing = run("list")
    assert "bridge" in listing and "laptop" in listing and key not in listing
    assert "active" in listing and "never" in listing
    assert "laptop" not in run("list", "--user", "dr.house")


def test_revoke_stops_the_token(clinician):
    key = run("create", "dr.house", "--name", "bridge", "--quiet").strip()
    token = ApiToken.objects.get()
    assert "revoked" in run("revoke", str(token.pk))
    assert "revoked" in run("list")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/studies/").status_code == 401


def test_unknown_users_and_tokens_are_refused(db):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run("create", "nobody", "--name", "x")
    with pytest.raises(CommandError, match="No API token with id 42"):
        run("revoke", "42")
