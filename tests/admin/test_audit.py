"""The audit log service the web pages, the API and the admin use."""

import pytest
from django.contrib.auth.models import AnonymousUser

from diagnoses.audit import audit_record
from diagnoses.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_records_who_did_what_to_which_study_and_through_which_channel(make_study, reviewer):
    study = make_study()
    event = audit_record(user=reviewer, action="download", study=study, channel="api",
                         detail="pdf")
    assert (event.user, event.action, event.study, event.channel, event.detail) == (
        reviewer, "download", study, "api", "pdf")
    assert event.at is not None


def test_the_channel_is_web_unless_told(reviewer):
    assert audit_record(user=reviewer, action="export").channel == "web"


def test_it_takes_a_study_id_too(make_study, reviewer):
    study = make_study()
    assert audit_record(user=reviewer, action="view", study=study.pk).study == study


def test_an_anonymous_user_is_recorded_as_nobody():
    assert audit_record(user=AnonymousUser(), action="view").user is None


@pytest.mark.parametrize("arguments", [{"action": "peek"}, {"action": "view", "channel": "fax"}])
def test_it_refuses_unknown_actions_and_channels(reviewer, arguments):
    with pytest.raises(ValueError):
        audit_record(user=reviewer, **arguments)
    assert not AuditEvent.objects.exists()


def test_a_long_detail_is_cut_to_fit(reviewer):
    assert len(audit_record(user=reviewer, action="view", detail="x" * 500).detail) == 200

