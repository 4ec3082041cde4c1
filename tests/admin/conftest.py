"""Studies with a prediction written directly in the database (tests/factories.py), so most admin
tests need no model server; the role users are the suite's (tests/conftest.py)."""

import pytest

from tests import factories


@pytest.fixture(autouse=True)
def private_storage(study_storage):
    """Each test's uploads in a folder of its own."""


@pytest.fixture
def model_version(db):
    return factories.model_version_create(identity="a" * 64, name="CheXNet stand-in")


@pytest.fixture
def make_study(clinician, model_version):
    """make_study(patient_id=..., probabilities={finding: p}, model_version=..., status=...,
    predicted=...): a clinician's study, with its image, read once unless `predicted=False`."""

    def make(*, status: str = "done", probabilities: dict[str, float] | None = None,
             model_version=model_version, predicted: bool = True, **fields):
        study = factories.study_stored(uploaded_by=clinician, status=status, with_image=True,
                                       **fields)
        if predicted:
            factories.prediction_add(study=study, model_version=model_version,
                                     probabilities=probabilities)
        return study

    return make
