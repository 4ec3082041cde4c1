"""GET /api/v1/models/: each version's current thresholds, in a fixed number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from diagnoses.models import ModelVersion, ThresholdSet
from inference.findings import FINDINGS

pytestmark = pytest.mark.django_db


def version_with_sets(identity: str, *values: float) -> ModelVersion:
    version = ModelVersion.objects.create(identity=identity, name=identity)
    for value in values:
        ThresholdSet.objects.create(model_version=version,
                                    thresholds={name: value for name in FINDINGS})
    return version


def listed(api) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/models/")
    assert response.status_code == 200
    return {model["name"]: model["thresholds"] for model in response.json()}, len(queries)


def test_each_version_shows_its_newest_threshold_set(api):
    version = version_with_sets("v1", 0.3, 0.7)
    ThresholdSet.objects.filter(model_version=version).update(  # made at the same instant:
        created_at=version.threshold_sets.first().created_at)  # the higher id is the newest
    version_with_sets("v2")
    thresholds, _ = listed(api)
    assert thresholds["v1"] == {name: 0.7 for name in FINDINGS}
    assert thresholds["v2"] is None


def test_the_list_costs_the_same_queries_for_one_version_or_many(api):
    version_with_sets("v1", 0.5)
    listed(api)  # the token's first use is recorded once
    _, one = listed(api)
    for number in range(2, 6):
        version_with_sets(f"v{number}", 0.4, 0.6)
    thresholds, five = listed(api)
    assert len(thresholds) == 5 and five == one
