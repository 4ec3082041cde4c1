"""The admin's validation and monitoring pages: staff only, the report from reviewed studies
with its charts, suggesting thresholds as a draft and an admin applying it."""

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from diagnoses import monitoring
from diagnoses.models import AuditEvent, Prediction, ThresholdSuggestion
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_kept_charts():
    """The monitoring page keeps its charts (per process): each test draws its own."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def reviewed(clinician, reviewer, model_version):
    return factories.reviewed_studies(model_version=model_version, uploaded_by=clinician,
                                      reviewer=reviewer, count=30)


@pytest.mark.parametrize("name", ["validation", "monitoring"])
def test_a_clinician_is_sent_to_the_admin_login(as_clinician, name):
    response = as_clinician.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_admin_index_links_both_pages(as_reviewer):
    page = as_reviewer.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("validation")}"' in page and f'href="{reverse("monitoring")}"' in page
    assert "diagnoses_study_changelist" in page or "/admin/diagnoses/study/" in page


def test_the_validation_page_shows_the_reviewed_studies_report(as_reviewer, reviewed,
                                                               model_version):
    response = as_reviewer.get(reverse("validation"), {"model_version": model_version.pk})
    assert response.status_code == 200
    page = response.content.decode()
    assert "30 studies with a signed-off review" in page
    assert page.count('src="data:image/svg+xml;base64,') == 2
    assert "no studies" in page  # no verdict on any finding but Effusion
    assert "0.841" in page and "0.847" in page and "random weights" in page


def test_the_date_range_narrows_the_studies(as_reviewer, reviewed, model_version):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = as_reviewer.get(reverse("validation"), {"model_version": model_version.pk,
                                                       "date_from": tomorrow.isoformat()})
    assert "0 studies with a signed-off review" in response.content.decode()


def test_a_reviewer_saves_a_draft_an_admin_applies_it(as_reviewer, client, administrator,
                                                      reviewed, model_version):
    response = as_reviewer.post(reverse("threshold-suggest"), {
        "model_version": model_version.pk, "method": "sensitivity", "target_sensitivity": "0.9"})
    suggestion = ThresholdSuggestion.objects.get()
    assert response.status_code == 302 and suggestion.is_draft
    page = as_reviewer.get(reverse("threshold-suggestion", args=[suggestion.pk]))
    assert "Only an admin applies" in page.content.decode()
    assert as_reviewer.post(reverse("threshold-suggestion-apply",
                                    args=[suggestion.pk])).status_code == 403
    client.force_login(administrator)
    client.post(reverse("threshold-suggestion-apply", args=[suggestion.pk]))
    suggestion.refresh_from_db()
    assert not suggestion.is_draft
    assert model_version.current_threshold_set() == suggestion.threshold_set
    assert AuditEvent.objects.filter(user=administrator, action="change").exists()


def test_the_monitoring_page_charts_the_weeks(as_reviewer, reviewed, model_version):
    factories.studies_move_to(when=monitoring.week_start() - datetime.timedelta(days=2))
    response = as_reviewer.get(reverse("monitoring"))
    assert response.status_code == 200
    page = response.content.decode()
    for chart in ("studies-chart", "flag-chart", "drift-chart", "agreement-chart"):
        assert f'id="{chart}" src="data:image/svg+xml;base64,' in page
    assert "mix-chart" in page  # modality and view position
    assert "<td>30</td>" in page  # the last complete week's predictions, in the drift table
    assert Prediction.objects.count() == 30


def test_bad_filters_are_form_errors_not_failures(as_reviewer, model_version):
    response = as_reviewer.get(reverse("validation"), {"model_version": "x' OR 1=1",
                                                       "date_from": "2026-13-45"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Select a valid choice" in page and "Enter a valid date" in page
    assert "signed-off review" not in page
    response = as_reviewer.get(reverse("validation"), {"model_version": model_version.pk,
                                                       "date_from": "2026-02-01",
                                                       "date_to": "2026-01-01"})
    assert "The start date is after the end date." in response.content.decode()
    assert as_reviewer.get(reverse("monitoring"), {"model_version": "999999",
                                                   "finding": "<script>"}).status_code == 200


def test_a_suggestion_without_a_target_is_refused(as_reviewer, model_version):
    response = as_reviewer.post(reverse("threshold-suggest"), {
        "model_version": model_version.pk, "method": "sensitivity"}, follow=True)
    assert "A target sensitivity is needed." in response.content.decode()
    assert not ThresholdSuggestion.objects.exists()
    assert as_reviewer.get(reverse("threshold-suggestion", args=[999999])).status_code == 404
