"""What Django itself refuses (too many fields or files, a body too large, a Host it does not
serve, a path under /api/ that is no endpoint) is answered in the API's error format on /api/
paths, and as before (HTML) everywhere else."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

pytestmark = pytest.mark.django_db
STUDIES = "/api/v1/studies/"


def refusal(response, status: int, code: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert (error["code"], error["fields"]) == (code, {})
    return error["message"]


def files(count: int) -> dict:
    return {f"file{n}": SimpleUploadedFile(f"{n}.png", b"x", content_type="image/png")
            for n in range(count)}


def test_too_many_fields(api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    fields = {f"field{n}": "x" for n in range(11)}
    message = refusal(api.post(STUDIES, fields, format="multipart"), 400, "too_many_fields")
    assert "more than 10 fields" in message


def test_too_many_files(api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    message = refusal(api.post(STUDIES, files(3), format="multipart"), 400, "too_many_files")
    assert "more than 2 files" in message


def test_a_body_too_large_outside_its_files(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    message = refusal(api.post(STUDIES, {"notes": "x" * 2000}, format="multipart"), 400,
                      "too_large")
    assert "1000 bytes" in message


def test_a_host_the_server_does_not_answer_to(api):
    message = refusal(api.get(STUDIES, HTTP_HOST="chexweb.attacker.example"), 400, "bad_host")
    assert "attacker" not in message  # the refused value is not echoed


def test_a_path_under_api_that_is_no_endpoint(anonymous):
    message = refusal(anonymous.get("/api/v2/studies/"), 404, "not_found")
    assert "/api/v2/studies/" in message


def test_the_web_pages_keep_their_html_answers(client, clinician, settings):
    client.force_login(clinician)
    refused = client.get("/studies/", HTTP_HOST="chexweb.attacker.example")
    assert refused.status_code == 400 and refused["Content-Type"].startswith("text/html")
    missing = client.get("/studies/no-such-page/")
    assert missing.status_code == 404 and missing["Content-Type"].startswith("text/html")


def test_a_server_error_on_an_api_path_is_json(api, monkeypatch):
    from diagnoses.api import views

    def fail(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views.ModelVersionListView, "get", fail)
    api.raise_request_exception = False
    message = refusal(api.get("/api/v1/models/"), 500, "server_error")
    assert "a bug" not in message
