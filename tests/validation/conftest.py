import pytest

from tests import factories


@pytest.fixture
def model_version(db):
    return factories.model_version_create(name="CheXNet stand-in")


@pytest.fixture
def reviewed_studies(clinician, reviewer, model_version):
    """reviewed_studies(finding=..., count=..., seed=...): factories.reviewed_studies by the
    suite's clinician and reviewer for `model_version`."""

    def make(**options):
        return factories.reviewed_studies(model_version=model_version, uploaded_by=clinician,
                                          reviewer=reviewer, **options)

    return make
