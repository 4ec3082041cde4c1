"""The clinicians' pages through Django's test client (the browser tests are in tests/system)."""

import csv
import io
import json

import pytest
from django.urls import reverse

from diagnoses import model_versions
from diagnoses.models import NOTE_MAX_CHARS, AuditEvent, Study
from inference.findings import FINDINGS
from tests.factories import PASSWORD, study_diagnosed, study_uploaded, upload

pytestmark = pytest.mark.django_db
SIIM = "siim_1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"


def test_several_files_in_one_form_make_several_studies(as_clinician):
    response = as_clinician.post(reverse("study-upload"), {
        "image": [upload("nih512_00027426_000.png"), upload("nih_00000001_000.png")],
        "patient_id": "P-2",
    })
    assert response.status_code == 302 and response["Location"] == reverse("study-history")
    assert Study.objects.filter(patient_id="P-2").count() == 2


def test_the_page_script_gets_json_with_the_study_to_follow(as_clinician):
    response = as_clinician.post(reverse("study-upload"), {"image": upload()},
                                 HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    answer = response.json()
    study = Study.objects.get()
    assert answer["url"] == reverse("study-detail", args=[study.pk])
    assert answer["status_url"] == reverse("study-status", args=[study.pk])
    assert answer["duplicate"] is False


def test_the_page_script_gets_a_json_error_for_a_bad_file(as_clinician):
    response = as_clinician.post(reverse("study-upload"), {"image": upload("x.png", b"text")},
                                 HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert "not a readable image" in response.json()["error"]["message"]
    assert not Study.objects.exists()


def test_an_image_seen_before_links_to_its_result_and_offers_a_rerun(as_clinician, clinician):
    first = study_uploaded(uploaded_by=clinician)
    page = as_clinician.post(reverse("study-upload"), {"image": upload()})
    assert page.status_code == 200
    assert reverse("study-detail", args=[first.pk]).encode() in page.content
    assert reverse("study-rerun", args=[first.pk]).encode() in page.content
    answer = as_clinician.post(reverse("study-upload"), {"image": upload()},
                               HTTP_ACCEPT="application/json").json()
    assert answer["duplicate"] is True and answer["id"] == str(first.pk)
    assert Study.objects.count() == 1


def test_history_searches_by_patient_or_accession_prefix(as_clinician, clinician):
    study_uploaded(uploaded_by=clinician, patient_id="ALPHA-1")
    study_uploaded(uploaded_by=clinician, image_file=upload("nih_00000001_000.png"),
                   accession_number="BETA-9")
    url = reverse("study-history")
    assert b"ALPHA-1" in as_clinician.get(url, {"search": "alp"}).content
    assert b"ALPHA-1" not in as_clinician.get(url, {"search": "BETA"}).content
    assert b"BETA-9" in as_clinician.get(url, {"search": "BETA"}).content


def test_history_filters_by_flagged_finding_reviewed_and_model(as_clinician, clinician, reviewer,
                                                               model_server):
    study = study_diagnosed(uploaded_by=clinician)
    prediction = study.predictions.get()
    flagged = next(f.name for f in prediction.findings.all() if f.flagged)
    unflagged = next(f.name for f in prediction.findings.all() if not f.flagged)
    url = reverse("study-history")
    sid = str(study.pk).encode()
    assert sid in as_clinician.get(url, {"flagged_finding": flagged}).content
    assert sid not in as_clinician.get(url, {"flagged_finding": unflagged}).content
    assert sid in as_clinician.get(url, {"reviewed": "no"}).content
    assert sid in as_clinician.get(url, {"model_version": prediction.model_version_id}).content
    assert sid not in as_clinician.get(url, {"status": "failed"}).content


def test_history_exports_the_filtered_list_as_csv(as_clinician, clinician, model_server):
    study = study_diagnosed(uploaded_by=clinician, patient_id="CSV-1")
    study_uploaded(uploaded_by=clinician, image_file=upload("nih_00000001_000.png"),
                   patient_id="OTHER")
    response = as_clinician.get(reverse("study-history-csv"), {"search": "CSV"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(rows) == 2 and str(study.pk) in rows[1] and "CSV-1" in rows[1]
    assert AuditEvent.objects.filter(action="export").exists()


def test_the_patient_page_shows_each_finding_over_time(as_clinician, clinician, model_server):
    study_diagnosed(uploaded_by=clinician, patient_id="TREND-1")
    study_diagnosed(uploaded_by=clinician, image_file=upload("nih_00000001_000.png"),
                    patient_id="TREND-1")
    page = as_clinician.get(reverse("patient-detail"), {"id": "TREND-1"}).content.decode()
    assert page.count("<polyline") == len(FINDINGS)
    assert page.count('href="/studies/') >= 2


def test_a_reviewer_reviews_each_finding_and_signs_off(client, reviewer, clinician, model_server):
    study = study_diagnosed(uploaded_by=clinician)
    prediction = study.predictions.get()
    client.force_login(reviewer)
    response = client.post(reverse("prediction-review", args=[study.pk, prediction.pk]), {
        "verdict_Effusion": "agree", "verdict_Hernia": "disagree", "note": "small effusion",
        "sign_off": "on",
    })
    assert response.status_code == 302
    review = prediction.reviews.get()
    assert review.reviewer == reviewer and review.signed_off and review.note == "small effusion"
    assert {v.finding.name: v.verdict for v in review.verdicts.all()} == {
        "Effusion": "agree", "Hernia": "disagree"}
    page = client.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert "dr.cuddy signed off" in page and "small effusion" in page


def test_a_review_note_longer_than_notes_may_be_is_refused(client, reviewer, clinician,
                                                           model_server):
    study = study_diagnosed(uploaded_by=clinician)
    prediction = study.predictions.get()
    client.force_login(reviewer)
    response = client.post(reverse("prediction-review", args=[study.pk, prediction.pk]), {
        "verdict_Effusion": "agree", "note": "<" * (NOTE_MAX_CHARS + 1)}, follow=True)
    assert response.status_code == 200
    assert "The review was not saved" in response.content.decode()
    assert not prediction.reviews.exists()


def test_a_clinician_cannot_review(as_clinician, clinician, model_server):
    study = study_diagnosed(uploaded_by=clinician)
    prediction = study.predictions.get()
    url = reverse("prediction-review", args=[study.pk, prediction.pk])
    assert as_clinician.post(url, {"verdict_Effusion": "agree"}).status_code == 403
    assert not prediction.reviews.exists()
    page = as_clinician.get(reverse("study-detail", args=[study.pk])).content
    assert b'id="review-form"' not in page


def test_the_result_downloads_as_json_and_pdf(as_clinician, clinician, model_server):
    study = study_diagnosed(uploaded_by=clinician)
    as_json = as_clinician.get(reverse("study-json", args=[study.pk]))
    assert as_json["Content-Disposition"].startswith("attachment")
    assert len(json.loads(as_json.content)["prediction"]["findings"]) == 14
    pdf = as_clinician.get(reverse("study-report", args=[study.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert pdf["Cache-Control"] == "no-store, private"
    assert AuditEvent.objects.filter(study=study, action="download").count() == 2


def test_thresholds_mark_flagged_findings_first_on_the_result_page(as_clinician, clinician,
                                                                   model_server, chexnet_onnx):
    from inference.identity import onnx_model_identity

    thresholds = {name: 1.0 for name in FINDINGS} | {"Hernia": 0.0}
    model_versions.model_version_register(identity=onnx_model_identity(chexnet_onnx),
                                          thresholds=thresholds)
    study = study_diagnosed(uploaded_by=clinician)
    page = as_clinician.get(reverse("study-detail", args=[study.pk])).content.decode()
    assert page.index('data-finding="Hernia"') < min(
        page.index(f'data-finding="{name}"') for name in FINDINGS if name != "Hernia")


def test_password_change(client, clinician):
    client.force_login(clinician)
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "a-much-longer-secret-42",
        "new_password2": "a-much-longer-secret-42"})
    assert response.status_code == 302
    clinician.refresh_from_db()
    assert clinician.check_password("a-much-longer-secret-42")


def test_reviewed_means_the_latest_reading_is_signed_off(as_clinician, clinician, reviewer,
                                                         model_server):
    from diagnoses.models import Prediction
    from diagnoses.reviews import review_save

    study = study_diagnosed(uploaded_by=clinician)
    review_save(prediction=study.predictions.get(), reviewer=reviewer,
                verdicts={"Effusion": "agree"}, note="", sign_off=True)
    url, sid = reverse("study-history"), str(study.pk).encode()
    assert sid in as_clinician.get(url, {"reviewed": "yes"}).content
    newer = Prediction.objects.get(study=study)
    newer.pk = None  # a newer reading (e.g. another model version), not reviewed yet
    newer.preprocessing = "tencrop"
    newer.save()
    assert sid not in as_clinician.get(url, {"reviewed": "yes"}).content
    assert sid in as_clinician.get(url, {"reviewed": "no"}).content
