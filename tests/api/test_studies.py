import pytest

from diagnoses.models import AuditEvent, Study
from inference.findings import FINDINGS
from tests.api.conftest import client_for
from tests.factories import study_uploaded, upload

pytestmark = pytest.mark.django_db

STUDIES = "/api/v1/studies/"


def submit(api, headers=None, **fields):
    data = {"file": upload(), **fields}
    return api.post(STUDIES, data, format="multipart", headers=headers or {})


def test_a_submission_is_accepted_with_the_study_url(api, clinician,
                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        response = submit(api, patient_id="P-7", accession_number="ACC-7", notes="cough",
                          tencrop="true")
    assert response.status_code == 202
    study = Study.objects.get()
    assert len(queued) == 1  # the diagnosis, once the row is committed
    body = response.json()
    assert response["Location"] == f"/api/v1/studies/{study.pk}/"
    assert body["url"] == f"http://testserver/api/v1/studies/{study.pk}/"
    assert (body["status"], body["patient_id"], body["accession_number"], body["notes"],
            body["tencrop"], body["predictions"]) == ("queued", "P-7", "ACC-7", "cough", True, [])
    assert (study.uploaded_by, study.tencrop) == (clinician, True)
    assert AuditEvent.objects.get(action="create").channel == "api"


def test_a_file_that_is_not_an_image_is_refused_with_the_reason(api, study_storage):
    response = api.post(STUDIES, {"file": upload(content=b"%PDF-1.4 a report")},
                        format="multipart")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "not a readable image" in error["message"]
    assert error["message"].startswith("file: ")
    assert list(error["fields"]) == ["file"]
    assert not Study.objects.exists()
    assert not any(path.is_file() for path in study_storage.rglob("*"))


def test_a_submission_without_a_file_names_the_missing_field(api):
    response = api.post(STUDIES, {"patient_id": "P-1"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"file": ["No file was submitted."]}


def test_a_json_submission_is_refused_as_unsupported(api):
    response = api.post(STUDIES, {"patient_id": "P-1"}, format="json")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_a_reviewer_may_submit_but_a_user_without_role_may_not(reviewer_api, outsider):
    assert submit(reviewer_api).status_code == 202
    assert submit(client_for(outsider)).status_code == 403


def test_a_retried_submission_with_the_same_key_returns_the_first_study(api):
    first = submit(api, headers={"Idempotency-Key": "pacs-0001"}, patient_id="P-1")
    again = submit(api, headers={"Idempotency-Key": "pacs-0001"}, patient_id="P-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Study.objects.count() == 1


def test_the_same_key_with_a_different_submission_is_refused(api):
    submit(api, headers={"Idempotency-Key": "pacs-0002"}, patient_id="P-1")
    response = submit(api, headers={"Idempotency-Key": "pacs-0002"}, patient_id="P-2")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "patient_id" in error["message"]
    other_file = api.post(STUDIES, {"file": upload("nih_00000075_000.png"), "patient_id": "P-1"},
                          format="multipart", headers={"Idempotency-Key": "pacs-0002"})
    assert other_file.status_code == 422 and "a different file" in other_file.content.decode()
    assert Study.objects.count() == 1


def test_keys_belong_to_their_user(api, reviewer_api):
    first = submit(api, headers={"Idempotency-Key": "shared-key"})
    second = submit(reviewer_api, headers={"Idempotency-Key": "shared-key"})
    assert first.json()["id"] != second.json()["id"]


def test_an_overlong_idempotency_key_is_refused(api):
    response = submit(api, headers={"Idempotency-Key": "k" * 129})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]


def test_the_detail_has_predictions_flagged_findings_model_version_and_heatmaps(
        api, diagnosed_study):
    response = api.get(f"{STUDIES}{diagnosed_study.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "done"
    [prediction] = body["predictions"]
    assert sorted(f["name"] for f in prediction["findings"]) == sorted(FINDINGS)
    probabilities = [f["probability"] for f in prediction["findings"] if not f["flagged"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert body["flagged"] == prediction["flagged"]
    assert body["model_version"]["weights_verified"] is False
    assert "not medical predictions" in body["model_version"]["warning"]
    heatmap = prediction["findings"][0]["heatmap_url"]
    assert heatmap.startswith(f"http://testserver/api/v1/studies/{diagnosed_study.pk}/")
    assert AuditEvent.objects.filter(action="view", channel="api",
                                     study=diagnosed_study).exists()


def test_heatmaps_and_the_image_need_a_token_and_are_never_cached(api, anonymous,
                                                                  diagnosed_study):
    detail = api.get(f"{STUDIES}{diagnosed_study.pk}/").json()
    heatmap_url = detail["predictions"][0]["findings"][0]["heatmap_url"]
    heatmap = api.get(heatmap_url)
    assert heatmap.status_code == 200 and heatmap["Content-Type"] == "image/png"
    assert heatmap.content.startswith(b"\x89PNG") and heatmap["Cache-Control"] == "no-store, private"
    image = api.get(detail["image_url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content == upload().read()
    assert anonymous.get(heatmap_url).status_code == 401
    assert anonymous.get(detail["image_url"]).json()["error"]["code"] == "not_authenticated"
    assert AuditEvent.objects.filter(action="download", channel="api").count() == 2


def test_an_unknown_finding_heatmap_is_a_404_in_the_error_format(api, diagnosed_study):
    prediction = diagnosed_study.predictions.get()
    response = api.get(f"{STUDIES}{diagnosed_study.pk}/predictions/{prediction.pk}"
                       "/heatmaps/Headache.png")
    assert response.status_code == 404
    assert "No finding named Headache" in response.json()["error"]["message"]


def test_an_unknown_study_is_a_404_in_the_error_format(api):
    response = api.get(f"{STUDIES}00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_unknown_api_path_is_a_404_in_the_error_format(api):
    response = api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == (
        "There is no API endpoint at /api/v1/no-such-thing/.")


def test_a_finished_study_can_be_rerun(api, diagnosed_study, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        response = api.post(f"{STUDIES}{diagnosed_study.pk}/rerun/")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert len(queued) == 2  # its diagnosis queued, its status change told
    assert AuditEvent.objects.filter(action="rerun", channel="api").exists()


def test_a_queued_study_cannot_be_rerun(api, clinician):
    study = study_uploaded(uploaded_by=clinician)
    response = api.post(f"{STUDIES}{study.pk}/rerun/")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict", "message": "Only a finished or failed study can be re-run.",
        "fields": {}}


def test_the_model_versions_are_listed(api, diagnosed_study):
    response = api.get("/api/v1/models/")
    assert response.status_code == 200
    [model] = response.json()
    assert model["weights_verified"] is False and model["warning"]
    assert sorted(model["thresholds"]) == sorted(FINDINGS)
