"""Ids and filter values from the URL are hostile: a Unicode digit (`²` passes str.isdigit, not
int) or any other non-id gets a 404, a redirect or an unfiltered list, never a 500."""

import re
from html import unescape
from urllib.parse import parse_qsl, urlencode

import pytest
from django.contrib import admin
from django.urls import reverse

from diagnoses.models import ModelVersion
from tests.factories import review_signed_off

pytestmark = pytest.mark.django_db
HOSTILE = ["²", "١٢", "-1", "1e3", "99999999999999999999999", "x"]


def registered():
    return [model for model in admin.site._registry if model._meta.app_label == "diagnoses"]


def name(model, view: str) -> str:
    return f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}"


def filter_parameters(page: str) -> set[str]:
    """The query parameters of every link in the changelist's filter sidebar."""
    sidebar = page[page.find('id="changelist-filter"'):] if "changelist-filter" in page else ""
    return {key for href in re.findall(r'href="\?([^"]*)"', sidebar)
            for key, _ in parse_qsl(unescape(href))}


@pytest.fixture
def every_kind(make_study, reviewer):
    """Rows of each kind, two of what a filter lists (Django hides a filter with one choice)."""
    other = ModelVersion.objects.create(identity="b" * 64, name="CheXNet other")
    other.current_thresholds()
    make_study(model_version=other)
    study = make_study(probabilities={"Effusion": 0.9})
    review_signed_off(prediction=study.predictions.get(), reviewer=reviewer)
    return study


@pytest.mark.parametrize("value", HOSTILE)
def test_no_list_filter_answers_500(as_administrator, every_kind, value):
    for model in registered():
        changelist = reverse(name(model, "changelist"))
        page = as_administrator.get(changelist)
        assert page.status_code == 200, model
        parameters = filter_parameters(page.content.decode())
        assert parameters or not admin.site._registry[model].list_filter, model.__name__
        for parameter in parameters:
            answer = as_administrator.get(f"{changelist}?{urlencode({parameter: value})}")
            assert answer.status_code in (200, 302), (model.__name__, parameter, value)


@pytest.mark.parametrize("value", HOSTILE)
def test_no_change_page_or_action_answers_500(as_administrator, every_kind, value):
    """Django's admin sends a change page of no object back to the index with a message."""
    for model in registered():
        page = reverse(name(model, "changelist")) + f"{value}/change/"
        assert as_administrator.get(page, follow=True).status_code in (200, 404), page
    versions = reverse(name(ModelVersion, "changelist"))
    assert as_administrator.post(f"{versions}{value}/activate/").status_code in (302, 404)
    assert as_administrator.get(f"{versions}{value}/thresholds/").status_code in (302, 404)
