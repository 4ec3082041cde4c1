import numpy as np
import pytest

from tests import factories


@pytest.fixture
def model_version(db):
    return factories.model_version_create(name="CheXNet stand-in")


@pytest.fixture
def reviewed_studies(clinician, reviewer, model_version):
    """reviewed_studies(finding, count, seed): `count` studies read by `model_version`, the
    finding's score seeded-random and higher for positives, each signed off by the reviewer
    with a verdict on that finding. Returns (labels, scores) as the reviewer saw them."""

    def make(finding: str = "Effusion", count: int = 40, seed: int = 3, **study_fields):
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, 2, count)
        scores = np.clip(rng.normal(0.3, 0.15, count) + 0.3 * labels, 0.001, 0.999)
        for label, score in zip(labels, scores):
            study = factories.study_stored(uploaded_by=clinician, **study_fields)
            prediction = factories.prediction_add(study=study, model_version=model_version,
                                                  probabilities={finding: float(score)})
            review = factories.review_signed_off(prediction=prediction, reviewer=reviewer)
            factories.verdicts_add(review=review, labels={finding: int(label)})
        return labels, scores

    return make
