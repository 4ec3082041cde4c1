"""The one way the tests build data: users in roles, uploads, studies, predictions, reviews and
model versions. Plain functions with keyword arguments; each fills in what a test leaves out.

Three ways to a study, by how much of the product a test wants to run:
- `study_uploaded`: through the upload service, as a clinician's upload (stored, resized, queued);
- `study_diagnosed`: uploaded, then read by the model server this process points at;
- `study_stored`: a row written straight to the database, in any status, with no service run
  (for lists, exports, metrics and the sweeper), with `prediction_add` for its readings.
"""

import itertools

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from diagnoses import services
from diagnoses.models import Finding, FindingVerdict, ModelVersion, Prediction, Review, Study
from diagnoses.roles import user_role_assign
from inference.findings import FINDINGS
from tests.shared import SAMPLES, skip_without

PASSWORD = "x-ray-4-ever!"
SAMPLE = "nih512_00027426_000.png"

_numbers = itertools.count(1)


def user_create(*, username: str, role: str | None = None, password: str = PASSWORD, **fields):
    """A user with a password, in `role` (clinician, reviewer, admin) as `assign_role` puts one
    there, or in none."""
    user = get_user_model().objects.create_user(username=username, password=password, **fields)
    if role is not None:
        user_role_assign(user=user, role=role)
    return user


def upload(name: str = SAMPLE, content: bytes | None = None) -> SimpleUploadedFile:
    """An uploaded file: the shared sample called `name`, or `content` under that name."""
    if content is None:
        skip_without(SAMPLES / name)
        content = (SAMPLES / name).read_bytes()
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def study_uploaded(*, uploaded_by, image_file=None, **fields) -> Study:
    """A study as an upload makes it (`image_file`: the default sample if not given)."""
    return services.study_create(uploaded_by=uploaded_by,
                                 image_file=upload() if image_file is None else image_file,
                                 **fields)


def study_diagnosed(*, uploaded_by, image_file=None, **fields) -> Study:
    """An uploaded study read by the model server this process's client points at (the
    `model_server` fixture)."""
    study = study_uploaded(uploaded_by=uploaded_by, image_file=image_file, **fields)
    services.study_diagnose(study_id=study.pk)
    study.refresh_from_db()
    return study


def study_stored(*, uploaded_by, status: str = "done", with_image: bool = False,
                 **fields) -> Study:
    """A study row in `status`, written without the upload service; its image file (the default
    sample) stored only `with_image`, else the row names a file that is not there."""
    number = next(_numbers)
    fields = {"image_sha256": f"{number:064x}", "image_format": "PNG",
              "patient_id": f"P-{number:06d}", "accession_number": f"ACC-{number:06d}", **fields}
    study = Study(uploaded_by=uploaded_by, status=status, **fields)
    if with_image:
        skip_without(SAMPLES / SAMPLE)
        study.image.save(f"study-{number}.png", ContentFile((SAMPLES / SAMPLE).read_bytes()),
                         save=False)
    else:
        study.image = f"studies/{number}.png"
    study.save()
    return study


def model_version_create(*, identity: str | None = None, name: str = "CheXNet stand-in",
                         **fields) -> ModelVersion:
    return ModelVersion.objects.create(identity=identity or f"{next(_numbers):064x}", name=name,
                                       **fields)


def prediction_add(*, study: Study, model_version: ModelVersion,
                   probabilities: dict[str, float] | None = None) -> Prediction:
    """A reading of `study` by `model_version` under its current thresholds: each finding at
    its probability in `probabilities`, 0.01 if not named there."""
    probabilities = probabilities or {}
    threshold_set = model_version.current_thresholds()
    prediction = Prediction.objects.create(
        study=study, model_version=model_version, threshold_set=threshold_set,
        preprocessing="center",
        heatmaps=[[[(r * 7 + c) / 48 for c in range(7)] for r in range(7)] for _ in FINDINGS],
        preprocessing_ms=1.0, inference_ms=2.0,
    )
    for name in FINDINGS:
        probability = probabilities.get(name, 0.01)
        threshold = threshold_set.thresholds[name]
        Finding.objects.create(prediction=prediction, name=name, probability=probability,
                               threshold=threshold, flagged=probability >= threshold)
    return prediction


def review_signed_off(*, prediction: Prediction, reviewer) -> Review:
    return Review.objects.create(prediction=prediction, reviewer=reviewer,
                                 signed_off_at=timezone.now())


def verdicts_add(*, review: Review, labels: dict[str, int]) -> None:
    """The reviewer's verdicts saying each named finding is there (1) or not (0): "agree" when
    that is what the prediction flagged, else "disagree"."""
    findings = {finding.name: finding for finding in review.prediction.findings.all()}
    FindingVerdict.objects.bulk_create(
        FindingVerdict(review=review, finding=findings[name],
                       verdict="agree" if bool(label) == findings[name].flagged else "disagree")
        for name, label in labels.items())


def reviewed_studies(*, model_version: ModelVersion, uploaded_by, reviewer,
                     finding: str = "Effusion", count: int = 40, seed: int = 3, **study_fields):
    """`count` studies read by `model_version`, `finding`'s score seeded-random and higher for
    positives, each signed off by `reviewer` with a verdict on that finding. Returns (labels,
    scores) as NumPy arrays, as the reviewer saw them."""
    import numpy as np

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, count)
    scores = np.clip(rng.normal(0.3, 0.15, count) + 0.3 * labels, 0.001, 0.999)
    for label, score in zip(labels, scores):
        study = study_stored(uploaded_by=uploaded_by, **study_fields)
        prediction = prediction_add(study=study, model_version=model_version,
                                    probabilities={finding: float(score)})
        review = review_signed_off(prediction=prediction, reviewer=reviewer)
        verdicts_add(review=review, labels={finding: int(label)})
    return labels, scores


def studies_move_to(*, when) -> None:
    """Every study, its predictions and their sign-offs placed at `when` (monitoring counts
    complete weeks only)."""
    Study.objects.update(created_at=when)
    Prediction.objects.update(created_at=when)
    Review.objects.filter(signed_off_at__isnull=False).update(signed_off_at=when)
