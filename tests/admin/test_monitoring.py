"""The monitoring figures from studies placed in time: flag rate per week, score drift (PSI
against its computation from the same scores) and reviewer agreement, on the page's data and as
gauges on /metrics."""

import datetime
import math

import pytest
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from diagnoses import monitoring
from diagnoses.models import ModelVersion, Prediction, Review, Study
from inference.validation.drift import psi
from tests import factories

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-the-monitoring-tests-0123"


@pytest.fixture(autouse=True)
def no_kept_figures():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def placed(clinician, reviewer, model_version):
    """Studies of the active model: 20 in the baseline weeks scored low for Effusion, 10 in the
    last complete week scored high; 4 of the recent ones reviewed then (3 agree, 1 disagree);
    5 more this week, which no figure counts until the week is over."""
    model_version.state = ModelVersion.State.ACTIVE
    model_version.save()
    week = monitoring.week_start()
    baseline = [0.005 + 0.01 * i for i in range(20)]
    current = [0.45 + 0.05 * i for i in range(10)]
    for score, days_ago in [(s, 20) for s in baseline] + [(s, 3) for s in current] + \
            [(0.99, 0) for _ in range(5)]:
        study = factories.study_stored(uploaded_by=clinician, modality="CR",
                                       view_position="PA" if score < 0.5 else "AP")
        prediction = factories.prediction_add(study=study, model_version=model_version,
                                              probabilities={"Effusion": score})
        when = week - datetime.timedelta(days=days_ago) if days_ago else timezone.now()
        Prediction.objects.filter(pk=prediction.pk).update(created_at=when)
        Study.objects.filter(pk=study.pk).update(created_at=when)
    recent = Prediction.objects.filter(created_at__gte=week - datetime.timedelta(days=4),
                                       created_at__lt=week)[:4]
    for number, prediction in enumerate(recent):
        review = factories.review_signed_off(prediction=prediction, reviewer=reviewer)
        Review.objects.filter(pk=review.pk).update(signed_off_at=week - datetime.timedelta(days=1))
        flagged = prediction.findings.get(name="Effusion").flagged
        factories.verdicts_add(review=review, labels={"Effusion": int(flagged != (number == 0))})
    return baseline, current


def test_the_drift_is_the_psi_of_the_two_periods_scores(placed, model_version):
    baseline, current = placed
    drift = monitoring.score_drift(model_version_id=model_version.pk,
                                   periods=monitoring.default_periods())
    assert drift["Effusion"]["psi"] == pytest.approx(psi(baseline, current))
    assert drift["Effusion"]["level"] == "significant"
    assert (drift["Effusion"]["baseline_total"], drift["Effusion"]["current_total"]) == (20, 10)
    assert drift["Mass"]["psi"] == pytest.approx(0.0)  # 0.01 everywhere
    assert drift["Mass"]["level"] == "stable"


def test_flag_rate_and_agreement(placed, model_version):
    window = monitoring.monitoring_window()
    rates = monitoring.flag_rate_per_week(model_version_id=model_version.pk, since=window.since,
                                          until=window.until)
    latest = rates[max(rates)]
    assert latest["Effusion"] == pytest.approx(0.9)  # 0.50 0.55 ... 0.90: 9 of the 10 at >= 0.5
    assert all(week["Mass"] == 0 for week in rates.values())
    agreement = monitoring.reviewer_agreement(model_version_id=model_version.pk,
                                              since=window.agreement_since, until=window.until)
    assert agreement["Effusion"] == (pytest.approx(0.75), 4)
    assert agreement["Mass"] == (None, 0)


def test_the_input_mix_counts_the_header_fields_the_study_has(placed):
    window = monitoring.monitoring_window()
    mix = monitoring.input_mix_per_week(since=window.since, until=window.until)
    assert sum(week.get("CR", 0) for week in mix["modality"].values()) == 30
    assert sum(week.get("AP", 0) for week in mix["view_position"].values()) == 9


def test_only_complete_weeks_count(placed):
    window = monitoring.monitoring_window()
    weeks = monitoring.studies_per_week(since=window.since, until=window.until)
    assert sum(count for _, count in weeks) == 30  # not this week's 5
    assert window.until == monitoring.week_start() and window.until.weekday() == 0


def test_the_gauges_on_metrics(placed, client, settings, redis_url):
    settings.CHEXWEB_METRICS_TOKEN = TOKEN
    settings.REDIS_URL = redis_url
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    samples = {(s.name, s.labels.get("finding")): s.value
               for family in text_string_to_metric_families(response.content.decode())
               for s in family.samples}
    baseline, current = placed
    assert samples[("chexweb_score_psi", "Effusion")] == pytest.approx(psi(baseline, current))
    assert samples[("chexweb_score_psi_level", "Effusion")] == 2
    assert samples[("chexweb_score_psi_level", "Mass")] == 0
    assert samples[("chexweb_reviewer_agreement", "Effusion")] == pytest.approx(0.75)
    assert samples[("chexweb_reviewer_verdicts", "Effusion")] == 4
    assert math.isnan(samples[("chexweb_reviewer_agreement", "Mass")])
