"""Issue 19 item 8, the history at a million studies: its count stops at a cap (past it, pages
go on by Next), so does the navigation's urgent count on every page, and the history, patient
and result pages ask as many queries for many studies as for a few (no query per row;
docs/benchmarks.md, "Pages")."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from diagnoses import model_versions
from diagnoses.models import ModelVersion
from diagnoses.presenters import patient_url
from diagnoses.templatetags import worklist as navigation
from diagnoses.web import history, pagination
from diagnoses.worklist import urgent_unread_count
from inference.findings import FINDINGS
from tests.factories import (
    model_version_create,
    prediction_add,
    review_signed_off,
    study_stored,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_pages(monkeypatch):
    """A cap of 3 studies and pages of 2, so that a few studies pass the cap."""
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    monkeypatch.setattr(history, "PAGE_SIZE", 2)


def studies_read(clinician, reviewer, count: int, **fields) -> list:
    version = model_version_create(name="Stand-in")
    studies = []
    for _ in range(count):
        study = study_stored(uploaded_by=clinician, **fields)
        prediction = prediction_add(study=study, model_version=version,
                                    probabilities={"Effusion": 0.9})
        review_signed_off(prediction=prediction, reviewer=reviewer)
        studies.append(study)
    return studies


def history_page(client, **query) -> str:
    response = client.get(reverse("study-history"), query)
    assert response.status_code == 200
    return response.content.decode()


def test_past_the_cap_the_history_says_more_than_and_pages_on_by_next(
        as_clinician, clinician, small_pages):
    studies = [study_stored(uploaded_by=clinician) for _ in range(7)]  # newest last
    first = history_page(as_clinician)
    assert "More than 3 studies" in first and "Page 1</span>" in first
    assert 'href="?page=2" rel="next"' in first
    last = history_page(as_clinician, page=4)  # the seventh study alone
    assert str(studies[0].pk) in last and str(studies[1].pk) not in last
    assert 'rel="next"' not in last and 'href="?page=3" rel="prev"' in last
    past = history_page(as_clinician, page=9)
    assert "No studies match." in past and 'rel="next"' not in past
    assert "Page 1</span>" in history_page(as_clinician, page="x")


def test_under_the_cap_the_count_and_pages_are_exact(as_clinician, clinician, small_pages):
    for _ in range(3):
        study_stored(uploaded_by=clinician)
    first = history_page(as_clinician)
    assert "3 studies" in first and "More than" not in first and "Page 1 of 2" in first
    assert "Page 2 of 2" in history_page(as_clinician, page=99)  # past the end: the last page


def test_a_filter_counts_its_own_studies_against_the_cap(as_clinician, clinician, small_pages):
    for _ in range(5):
        study_stored(uploaded_by=clinician)
    study_stored(uploaded_by=clinician, patient_id="Q-1")
    assert "1 study" in history_page(as_clinician, search="Q-")


def queries_of(client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("query", ["", "?flagged_finding=Effusion&search=P", "?page=2"])
def test_the_history_asks_no_query_per_study(as_clinician, clinician, reviewer, query):
    studies_read(clinician, reviewer, 27)  # page 2 has 2
    many = queries_of(as_clinician, reverse("study-history") + query)
    studies_read(clinician, reviewer, 60)
    assert len(queries_of(as_clinician, reverse("study-history") + query)) == len(many)


def test_the_patient_page_asks_no_query_per_study(as_clinician, clinician, reviewer):
    studies_read(clinician, reviewer, 2, patient_id="PAT-1")
    count = len(queries_of(as_clinician, patient_url("PAT-1")))
    studies_read(clinician, reviewer, 12, patient_id="PAT-1")
    assert len(queries_of(as_clinician, patient_url("PAT-1"))) == count


def test_the_result_page_asks_no_query_per_study_of_the_patient(as_clinician, clinician,
                                                                  reviewer):
    study = studies_read(clinician, reviewer, 1, patient_id="PAT-2")[0]
    path = reverse("study-detail", args=[study.pk])
    count = len(queries_of(as_clinician, path))
    studies_read(clinician, reviewer, 12, patient_id="PAT-2")
    assert len(queries_of(as_clinician, path)) == count


@pytest.fixture
def urgent_version():
    """Pneumothorax and Mass urgent: a reading may flag two urgent findings."""
    version = ModelVersion.objects.create(identity="u" * 64, name="CheXNet", state="active")
    model_versions.threshold_set_create(
        model_version=version, thresholds={name: 0.5 for name in FINDINGS},
        urgencies={"Pneumothorax": "urgent", "Mass": "urgent", "Effusion": "priority"})
    return version


def urgent_studies(clinician, version, count: int, flagged=("Pneumothorax", "Mass")) -> None:
    for _ in range(count):
        prediction_add(study=study_stored(uploaded_by=clinician), model_version=version,
                       probabilities={name: 0.9 for name in flagged})


@pytest.mark.parametrize("studies, shown", [(2, "2"), (3, "3"), (4, "3+"), (9, "3+")])
def test_the_navigation_counts_urgent_studies_up_to_its_cap(as_clinician, clinician,
                                                            urgent_version, monkeypatch,
                                                            studies, shown):
    monkeypatch.setattr(navigation, "BADGE_CAP", 3)
    urgent_studies(clinician, urgent_version, studies)  # two urgent findings each
    urgent_studies(clinician, urgent_version, 2, flagged=("Effusion",))  # priority only
    page = history_page(as_clinician)
    assert f'title="urgent studies not signed off">{shown}<' in page
    assert urgent_unread_count() == studies  # without a cap (the worklist): exact
    assert urgent_unread_count(cap=3) == min(studies, 4)
