"""The diagnosis task retries with backoff only while the model server is unavailable, then fails
the study as re-runnable."""

import pytest

from diagnoses.models import Study
from diagnoses.tasks import diagnose_study, retry_countdown
from tests.factories import study_uploaded


def test_the_retry_countdown_doubles_up_to_the_maximum_with_some_jitter(settings):
    settings.DIAGNOSIS_RETRY_BACKOFF_MAX_S = 60
    for retries, full in [(0, 1), (1, 2), (3, 8), (5, 32), (6, 60), (20, 60)]:
        countdowns = {retry_countdown(retries) for _ in range(50)}
        assert all(0.75 * full <= countdown <= full for countdown in countdowns)
        assert len(countdowns) > 1


@pytest.mark.django_db
def test_an_unreachable_model_server_fails_the_study_after_the_last_retry(
        settings, clinician, study_storage, unreachable_model_server):
    settings.DIAGNOSIS_MAX_RETRIES = 2
    study = study_uploaded(uploaded_by=clinician)

    diagnose_study.apply(args=[str(study.pk)])  # eager: the retries run at once, in here

    study.refresh_from_db()
    assert study.status == Study.Status.FAILED
    assert study.failure_reason.startswith("Model server unavailable after 3 attempts (")
    assert study.failure_reason.endswith("The study can be re-run.")
    assert not study.predictions.exists()
