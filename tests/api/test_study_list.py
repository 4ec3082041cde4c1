import pytest

from diagnoses.models import Study
from tests.factories import study_uploaded

pytestmark = pytest.mark.django_db

STUDIES = "/api/v1/studies/"


@pytest.fixture
def studies(clinician):
    made = {}
    for patient, accession, status in [("P-100", "ACC-1", "done"), ("P-200", "ACC-2", "failed"),
                                       ("Q-300", "ACC-3", "queued")]:
        study = study_uploaded(uploaded_by=clinician, patient_id=patient,
                               accession_number=accession)
        Study.objects.filter(pk=study.pk).update(status=status)
        made[patient] = study
    return made


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [study["patient_id"] for study in response.json()["results"]]


def test_studies_come_newest_first(api, studies):
    assert ids(api.get(STUDIES)) == ["Q-300", "P-200", "P-100"]


@pytest.mark.parametrize("query, expected", [
    ({"search": "P-"}, ["P-200", "P-100"]),
    ({"search": "ACC-3"}, ["Q-300"]),
    ({"patient_id": "P-100"}, ["P-100"]),
    ({"status": "failed"}, ["P-200"]),
    ({"ordering": "oldest"}, ["P-100", "P-200", "Q-300"]),
    ({"ordering": "status"}, ["P-100", "P-200", "Q-300"]),
    ({"reviewed": "false"}, ["Q-300", "P-200", "P-100"]),
    ({"reviewed": "true"}, []),
    ({"flagged_finding": "Hernia"}, []),
    ({"date_from": "2000-01-01", "date_to": "2999-12-31"}, ["Q-300", "P-200", "P-100"]),
])
def test_the_filters_and_orderings_of_the_web_history(api, studies, query, expected):
    assert ids(api.get(STUDIES, query)) == expected


def test_pages_have_links_to_the_next_one(api, studies):
    first = api.get(STUDIES, {"page_size": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2
    assert "page=2" in first["next"] and first["previous"] is None
    assert len(api.get(first["next"]).json()["results"]) == 1


def test_a_page_past_the_end_is_a_404(api, studies):
    response = api.get(STUDIES, {"page": 9})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("query, field", [
    ({"status": "lost"}, "status"),
    ({"ordering": "random"}, "ordering"),
    ({"date_from": "yesterday"}, "date_from"),
    ({"flagged_finding": "Headache"}, "flagged_finding"),
    ({"model_version": "0"}, "model_version"),
])
def test_a_wrong_filter_is_refused_naming_it(api, query, field):
    response = api.get(STUDIES, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == [field]
    assert error["message"].startswith(f"{field}: ")
