"""Model versions in the admin: register from a GraphPipe server, activate one, new threshold
sets; and the worker reading with the active version's server."""

import pytest
from django.db import IntegrityError
from django.urls import reverse

from diagnoses import model_versions
from diagnoses.model_server import model_server_client
from diagnoses.models import AuditEvent, ModelVersion, Study, ThresholdSet
from inference.findings import FINDINGS
from tests.factories import model_version_create, study_diagnosed
from tests.processes import free_port

pytestmark = pytest.mark.django_db


def change_page(model_version) -> str:
    return reverse("admin:diagnoses_modelversion_change", args=[model_version.pk])


def thresholds_of(value: float, **changes) -> dict[str, str]:
    return {name: str(changes.get(name, value)) for name in FINDINGS}


def test_activating_one_version_deactivates_the_others(as_administrator, model_version):
    other = model_version_create(identity="b" * 64, name="Second build", state="active")
    response = as_administrator.post(
        reverse("admin:diagnoses_modelversion_activate", args=[model_version.pk]), follow=True)
    assert "is active: new studies and re-runs go to" in response.content.decode()
    assert "not medical predictions" in response.content.decode()
    assert list(ModelVersion.objects.filter(state="active")) == [model_version]
    assert model_versions.active_model_version() == model_version
    other.refresh_from_db()
    assert not other.is_active
    event = AuditEvent.objects.get()
    assert (event.action, event.channel, event.study) == ("change", "admin", None)
    assert f"activated model version {model_version.pk}" in event.detail


def test_activation_is_a_post(as_administrator, model_version):
    url = reverse("admin:diagnoses_modelversion_activate", args=[model_version.pk])
    assert as_administrator.get(url).status_code == 405


def test_the_database_refuses_two_active_versions(model_version):
    ModelVersion.objects.filter(pk=model_version.pk).update(state="active")
    with pytest.raises(IntegrityError):
        ModelVersion.objects.create(identity="b" * 64, name="Second build", state="active")


def test_no_version_is_active_until_one_is_activated(model_version):
    assert model_versions.active_model_version() is None


def test_a_threshold_edit_creates_a_new_set_and_old_predictions_keep_theirs(
        as_administrator, administrator, make_study, model_version):
    old = make_study(probabilities={"Mass": 0.6}).predictions.get()
    old_set = old.threshold_set
    response = as_administrator.post(
        reverse("admin:diagnoses_modelversion_thresholds", args=[model_version.pk]),
        thresholds_of(0.5, Mass=0.7) | {"note": "calibrated on 2025 data"})
    assert response.status_code == 302 and response["Location"] == change_page(model_version)
    new_set = ThresholdSet.objects.exclude(pk=old_set.pk).get()
    assert new_set.thresholds["Mass"] == 0.7 and new_set.created_by == administrator
    assert new_set.note == "calibrated on 2025 data"
    old_set.refresh_from_db()
    assert old_set.thresholds["Mass"] == 0.5
    old.refresh_from_db()
    assert old.threshold_set == old_set and old.findings.get(name="Mass").flagged
    newer = make_study(probabilities={"Mass": 0.6}).predictions.get()
    assert newer.threshold_set == new_set and not newer.findings.get(name="Mass").flagged
    assert "threshold set" in AuditEvent.objects.get().detail


def test_the_page_shows_the_current_thresholds_and_every_set_made(as_administrator,
                                                                   administrator, model_version):
    first = model_version.current_thresholds()
    latest = model_versions.threshold_set_create(model_version=model_version, user=administrator,
                                                 thresholds={n: 0.3 for n in FINDINGS},
                                                 note="local calibration")
    page = as_administrator.get(change_page(model_version)).content.decode()
    assert page.count('value="0.3"') == 14  # the form starts from the current set
    for threshold_set in [first, latest]:
        assert reverse("admin:diagnoses_thresholdset_change", args=[threshold_set.pk]) in page
    assert "by it.admin: local calibration" in page


def test_unchanged_thresholds_make_no_new_set(as_administrator, model_version):
    response = as_administrator.post(
        reverse("admin:diagnoses_modelversion_thresholds", args=[model_version.pk]),
        thresholds_of(0.5))
    assert response.status_code == 400 and b"No threshold changed" in response.content
    assert not ThresholdSet.objects.exists()


@pytest.mark.parametrize("value", ["1.5", "-0.1", "lots", ""])
def test_a_threshold_outside_0_to_1_is_refused(as_administrator, model_version, value):
    response = as_administrator.post(
        reverse("admin:diagnoses_modelversion_thresholds", args=[model_version.pk]),
        thresholds_of(0.5) | {"Hernia": value})
    assert response.status_code == 400
    assert not ThresholdSet.objects.exists()


def test_threshold_sets_are_read_only(as_administrator, model_version):
    threshold_set = model_version.current_thresholds()
    url = reverse("admin:diagnoses_thresholdset_change", args=[threshold_set.pk])
    page = as_administrator.get(url).content.decode()
    assert 'name="thresholds"' not in page and "Hernia" in page
    assert as_administrator.post(url, {"thresholds": "{}"}).status_code == 403


def test_registering_asks_the_server_which_model_it_serves(as_administrator, graphpipe_url):
    response = as_administrator.post(reverse("admin:diagnoses_modelversion_add"),
                                     {"serving_url": graphpipe_url})
    model_version = ModelVersion.objects.get()
    assert response.status_code == 302 and response["Location"] == change_page(model_version)
    assert model_version.serving_url == graphpipe_url
    assert len(model_version.onnx_sha256) == 64 and model_version.weights_verified is False
    assert not model_version.is_active
    assert "registered model version" in AuditEvent.objects.get().detail


def test_registering_again_finds_the_same_version_and_moves_its_url(as_administrator,
                                                                    graphpipe_url):
    first = model_versions.model_version_register_from_server(serving_url=graphpipe_url)
    ModelVersion.objects.filter(pk=first.pk).update(serving_url="http://old.example:9000")
    as_administrator.post(reverse("admin:diagnoses_modelversion_add"),
                          {"serving_url": graphpipe_url})
    assert list(ModelVersion.objects.values_list("pk", "serving_url")) == [
        (first.pk, graphpipe_url)]


def test_a_server_that_does_not_answer_registers_nothing(as_administrator):
    response = as_administrator.post(reverse("admin:diagnoses_modelversion_add"),
                                     {"serving_url": f"http://127.0.0.1:{free_port()}"})
    assert response.status_code == 400 and b"did not describe its model" in response.content
    assert not ModelVersion.objects.exists()


@pytest.fixture
def clients_cleared():
    model_server_client.cache_clear()
    yield
    model_server_client.cache_clear()


def test_the_worker_uses_graphpipe_url_while_no_version_is_active(settings, clients_cleared,
                                                                  model_version):
    settings.GRAPHPIPE_URL = "http://127.0.0.1:9"
    ModelVersion.objects.filter(pk=model_version.pk).update(serving_url="http://elsewhere:9000")
    assert model_server_client().url == "http://127.0.0.1:9"


def test_the_worker_uses_graphpipe_url_when_the_active_version_names_no_server(
        settings, clients_cleared, model_version):
    settings.GRAPHPIPE_URL = "http://127.0.0.1:9"
    model_versions.model_version_activate(model_version=model_version, user=None)
    assert model_server_client().url == "http://127.0.0.1:9"


def test_a_study_is_read_by_the_active_versions_server(settings, clients_cleared, clinician,
                                                       graphpipe_url):
    settings.GRAPHPIPE_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    model_version = model_versions.model_version_register_from_server(serving_url=graphpipe_url)
    model_versions.model_version_activate(model_version=model_version, user=None)
    study = study_diagnosed(uploaded_by=clinician)
    assert study.status == Study.Status.DONE
    assert study.predictions.get().model_version == model_version
