"""The audit log in the admin: the admin group reads it; nobody adds, changes or deletes."""

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from diagnoses.audit import audit_record
from diagnoses.models import AuditEvent

pytestmark = pytest.mark.django_db

LIST = reverse("admin:diagnoses_auditevent_changelist")


@pytest.fixture
def event(make_study, clinician):
    return audit_record(user=clinician, action="download", study=make_study(), channel="api",
                        detail="pdf")


def test_an_admin_reads_who_did_what_to_which_study_and_when(as_administrator, event):
    page = as_administrator.get(LIST).content.decode()
    assert "dr.house" in page and "Downloaded" in page and "API" in page
    assert reverse("admin:diagnoses_study_change", args=[event.study_id]) in page


def test_it_filters_by_action_and_channel_and_finds_a_user(as_administrator, event, reviewer):
    audit_record(user=reviewer, action="view", channel="admin")
    assert list(as_administrator.get(LIST, {"channel__exact": "api"})
                .context["cl"].result_list) == [event]
    assert list(as_administrator.get(LIST, {"action__exact": "download"})
                .context["cl"].result_list) == [event]
    assert list(as_administrator.get(LIST, {"q": "dr.house"}).context["cl"].result_list) == [event]


def test_a_search_that_is_not_a_study_id_is_no_error(as_administrator, event):
    assert as_administrator.get(LIST, {"q": "not-a-uuid"}).status_code == 200


def test_an_event_page_is_read_only(as_administrator, event):
    url = reverse("admin:diagnoses_auditevent_change", args=[event.pk])
    page = as_administrator.get(url).content.decode()
    assert 'name="detail"' not in page and "pdf" in page
    assert as_administrator.post(url, {"detail": "edited"}).status_code == 403
    event.refresh_from_db()
    assert event.detail == "pdf"


def test_not_even_a_superuser_deletes_or_adds_events(client, django_user_model, event):
    client.force_login(django_user_model.objects.create_superuser("root"))
    delete = reverse("admin:diagnoses_auditevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    client.post(LIST, {"action": "delete_selected", "post": "yes",
                       helpers.ACTION_CHECKBOX_NAME: [event.pk]})
    assert client.get(reverse("admin:diagnoses_auditevent_add")).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()
