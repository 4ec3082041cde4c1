"""Studies (uploaded chest X-rays), the model versions that read them, and their predictions."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from inference.findings import FINDINGS
from inference.imaging.dicom import HEADER_TEXT_MAX_CHARS

# The longest note (a study's or a review's) any channel accepts: a report lays it out in one
# paragraph, whose cost grows faster than its length.
NOTE_MAX_CHARS = 5000

STANDIN_WARNING = (
    "Not the verified published CheXNet weights (stand-in or unverified checkpoint): "
    "these numbers are not medical predictions and must not be used clinically."
)


class Study(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        NOT_ELIGIBLE = "not_eligible", "Not eligible"  # outside intended use, under `refuse`

    class IntendedUseSource(models.TextChoices):
        NOT_CHECKED = "", "Not checked (uploaded before the check)"
        HEADER = "header", "DICOM header"
        UPLOADER = "uploader", "Declared by the uploader (no DICOM header)"

    class Source(models.TextChoices):
        UPLOAD = "upload", "Upload (web or API)"
        DICOM = "dicom", "DICOM (C-STORE or STOW-RS)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    image = models.FileField(upload_to="studies/%Y/%m/", max_length=200)
    resized_image = models.FileField(
        upload_to="studies/%Y/%m/", max_length=200, blank=True,
        help_text="The image as the model's preprocessing resizes it (shorter side 256, PNG), "
        "kept at upload: the worker reads it instead of decoding the upload again.",
    )
    image_sha256 = models.CharField(max_length=64, db_index=True)
    image_format = models.CharField(max_length=16)
    original_filename = models.CharField(max_length=255, blank=True)
    patient_id = models.CharField("patient identifier", max_length=HEADER_TEXT_MAX_CHARS["PatientID"],
                                  blank=True, db_index=True)
    header_patient_id = models.CharField(
        "patient identifier in the DICOM header", blank=True,
        max_length=HEADER_TEXT_MAX_CHARS["PatientID"],
        help_text="As the DICOM header named the patient, kept when a different identifier was "
        "typed and confirmed at upload.",
    )
    accession_number = models.CharField(max_length=HEADER_TEXT_MAX_CHARS["AccessionNumber"],
                                        blank=True, db_index=True)
    study_instance_uid = models.CharField("study instance UID", blank=True,
                                          max_length=HEADER_TEXT_MAX_CHARS["StudyInstanceUID"])
    study_date = models.DateField(null=True, blank=True)
    modality = models.CharField(max_length=HEADER_TEXT_MAX_CHARS["Modality"], blank=True)
    view_position = models.CharField(max_length=HEADER_TEXT_MAX_CHARS["ViewPosition"], blank=True)
    body_part_examined = models.CharField(max_length=HEADER_TEXT_MAX_CHARS["BodyPartExamined"],
                                          blank=True)
    patient_age_years = models.FloatField(
        null=True, blank=True, help_text="At the study: from the DICOM header, or as declared.")
    intended_use_checked_from = models.CharField(
        max_length=16, choices=IntendedUseSource.choices, blank=True, default="",
        help_text="Where the view and age the intended-use rules read came from.",
    )
    intended_use_reasons = models.JSONField(
        default=list, blank=True,
        help_text="Why the study is outside the model's intended use (diagnoses/intended_use.py);"
        " empty when within.",
    )
    image_warnings = models.JSONField(
        default=list, blank=True,
        help_text="Why the image may not be a frontal chest radiograph, shown with the result.",
    )
    notes = models.TextField(blank=True)
    tencrop = models.BooleanField("TenCrop", default=False)
    callback_url = models.URLField(
        max_length=500, blank=True, help_text="Receives a signed JSON POST when the study finishes."
    )
    idempotency_key = models.CharField(max_length=128, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="studies"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    queued_at = models.DateTimeField(
        default=timezone.now,
        help_text="When it was last queued (uploaded or re-run): the sweeper's give-up deadline "
        "counts from here.",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True,
        help_text="While processing: when its worker last said it is still at it. The sweeper "
        "queues again a study whose heartbeat stopped.",
    )
    worker_losses = models.PositiveSmallIntegerField(
        default=0,
        help_text="How often a worker stopped while diagnosing it since it was last queued "
        "(uploaded or re-run): the sweeper fails a study that keeps stopping its workers.",
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    # DICOM intake (C-STORE, STOW-RS): where the instance came from and who it is.
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.UPLOAD,
                              db_index=True)
    series_instance_uid = models.CharField(
        "series instance UID", max_length=HEADER_TEXT_MAX_CHARS["SeriesInstanceUID"], blank=True)
    sop_instance_uid = models.CharField(
        "SOP instance UID", max_length=HEADER_TEXT_MAX_CHARS["SOPInstanceUID"], blank=True)
    calling_ae_title = models.CharField(
        "calling AE title", max_length=16, blank=True,
        help_text="The DICOM node that sent it (C-STORE), empty for STOW-RS and uploads.")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "studies"
        # /metrics reads the studies finished in the last hour (migration 0014).
        indexes = [models.Index(fields=["finished_at"], name="diagnoses_study_finish_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["sop_instance_uid"], condition=~models.Q(sop_instance_uid=""),
                name="one_study_per_sop_instance_uid",
            ),
            models.UniqueConstraint(
                fields=["uploaded_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="one_study_per_idempotency_key",
            )
        ]
        permissions = [
            ("rerun_study", "Can re-run a study"),
            ("review_study", "Can review a study's findings"),
            ("export_study", "Can export studies (CSV, PDF, JSON)"),
        ]

    def __str__(self) -> str:
        return f"Study {self.id}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.NOT_ELIGIBLE)


class ModelVersion(models.Model):
    """A model as a GraphPipe server described it: which weights produced a prediction."""

    identity = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    checkpoint_sha256 = models.CharField(max_length=64, blank=True)
    onnx_sha256 = models.CharField(max_length=64, blank=True)
    weights_verified = models.BooleanField(default=False)
    description = models.TextField(blank=True)
    class State(models.TextChoices):
        ACTIVE = "active", "Active (its readings are the clinical ones)"
        SHADOW = "shadow", "Shadow (reads every study after the active one; never shown)"
        RETIRED = "retired", "Retired (reads nothing)"

    first_seen_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(
        max_length=8, choices=State.choices, default=State.RETIRED, db_index=True,
        help_text="Active: new studies and re-runs go to it, one version at a time. Shadow: each "
        "study is also sent to it, and its readings are kept for comparison only.",
    )
    serving_url = models.URLField(
        blank=True, help_text="GraphPipe server(s) of this version; empty: GRAPHPIPE_URL(S) "
        "(a shadow version needs its own)."
    )
    precision = models.CharField(
        max_length=8, default="fp32",
        help_text="fp32, or int8/fp16 exported with an agreement report (inference.precision).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=models.Q(state="active"),
                name="one_active_model_version",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.short_identity})"

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE

    @property
    def short_identity(self) -> str:
        return (self.onnx_sha256 or self.identity)[:12]

    @property
    def warning(self) -> str:
        return "" if self.weights_verified else STANDIN_WARNING

    def current_threshold_set(self) -> "ThresholdSet | None":
        """The newest threshold set (highest created_at, ties by the higher id); None before one
        is made. Uses prefetched threshold_sets when there are (a list of versions: no query
        each); a version has a handful of sets, made by hand."""
        return max(self.threshold_sets.all(), key=lambda s: (s.created_at, s.pk), default=None)

    def current_thresholds(self) -> "ThresholdSet":
        """The current threshold set; a default one (0.5 for every finding) is made if none was
        set."""
        return self.current_threshold_set() or ThresholdSet.objects.create(
            model_version=self,
            thresholds={name: DEFAULT_THRESHOLD for name in FINDINGS},
            note="Default: 0.5 for every finding, not calibrated. Calibrate on local data.",
        )


DEFAULT_THRESHOLD = 0.5
# How urgently a study flagged with a finding is read, most urgent first (the worklist's order);
# a finding a threshold set does not name is routine.
URGENCY_LEVELS = ("urgent", "priority", "routine")
ROUTINE = "routine"


class ThresholdSet(models.Model):
    """Per-finding decision thresholds of a model version. Never edited: a change is a new set,
    and every prediction keeps the set it was flagged with."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="threshold_sets"
    )
    thresholds = models.JSONField(help_text="Finding name -> probability at or above which it is flagged.")
    urgencies = models.JSONField(
        default=dict, blank=True,
        help_text="Finding name -> how urgently a study flagged with it is read (urgent, "
        "priority; routine when not named): orders the worklist.",
    )
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Thresholds #{self.pk} of {self.model_version}"


class Prediction(models.Model):
    class Preprocessing(models.TextChoices):
        CENTER = "center", "Centre crop"
        TENCROP = "tencrop", "TenCrop (mean of 10 crops)"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="predictions"
    )
    threshold_set = models.ForeignKey(
        ThresholdSet, on_delete=models.PROTECT, related_name="predictions"
    )
    preprocessing = models.CharField(max_length=16, choices=Preprocessing.choices)
    heatmaps = models.JSONField(help_text="Class activation maps, 14 x 7 x 7, in finding order.")
    preprocessing_ms = models.FloatField()
    inference_ms = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # /metrics reads the predictions stored in the last hour (migration 0014).
            models.Index(fields=["created_at"], name="diagnoses_pred_created_idx"),
            # A study's latest reading (LATEST_FIRST in selectors) from the index alone.
            models.Index(fields=["study", "created_at", "id"], name="diagnoses_pred_latest_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "model_version", "preprocessing"],
                name="one_prediction_per_study_model_and_mode",
            )
        ]

    def __str__(self) -> str:
        return f"Prediction for {self.study_id} by {self.model_version}"


class Finding(models.Model):
    """One of the 14 probabilities of a prediction, a row each so the history filters by it."""

    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="findings")
    name = models.CharField(max_length=32, choices=[(name, name) for name in FINDINGS])
    probability = models.FloatField()
    threshold = models.FloatField()
    flagged = models.BooleanField(help_text="Probability at or above the threshold.")

    class Meta:
        ordering = ["-flagged", "-probability"]
        constraints = [
            models.UniqueConstraint(fields=["prediction", "name"], name="one_finding_per_name")
        ]
        indexes = [
            models.Index(fields=["name", "probability"]),
            models.Index(fields=["name", "flagged"]),
            # Does a reading flag this finding: the history's filter, from the index alone; the
            # flagged are a few percent of the rows (migration 0014).
            models.Index(fields=["prediction", "name"], condition=models.Q(flagged=True),
                         name="diagnoses_flagged_finding_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.probability:.3f}"


class ShadowPrediction(models.Model):
    """A shadow model version's reading of a study, kept to compare with the clinical reading.
    Never shown to clinicians, exported or sent: no page, export, API or callback reads this
    table; only the admin's agreement page (diagnoses/shadow_agreement.py) does."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="shadow_predictions")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="shadow_predictions"
    )
    threshold_set = models.ForeignKey(ThresholdSet, on_delete=models.PROTECT, related_name="+")
    preprocessing = models.CharField(max_length=16, choices=Prediction.Preprocessing.choices)
    probabilities = models.JSONField(help_text="Finding name -> probability.")
    flagged = models.JSONField(help_text="Names of the findings at or above their threshold.")
    inference_ms = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["study", "model_version"],
                                    name="one_shadow_prediction_per_study_and_model")
        ]

    def __str__(self) -> str:
        return f"Shadow reading of {self.study_id} by {self.model_version}"


class Review(models.Model):
    """A reviewer's reading of one prediction: a verdict per finding, a note, a sign-off."""

    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    note = models.TextField(blank=True)
    signed_off_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["prediction", "reviewer"], name="one_review_per_reviewer")
        ]

    def __str__(self) -> str:
        return f"Review of {self.prediction} by {self.reviewer}"

    @property
    def signed_off(self) -> bool:
        return self.signed_off_at is not None


class FindingVerdict(models.Model):
    class Verdict(models.TextChoices):
        AGREE = "agree", "Agree"
        DISAGREE = "disagree", "Disagree"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="verdicts")
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="verdicts")
    verdict = models.CharField(max_length=8, choices=Verdict.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "finding"], name="one_verdict_per_finding")
        ]


class AuditEvent(models.Model):
    """Who viewed, downloaded, changed or re-ran which study, and when. Append-only."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        VIEW = "view", "Viewed"
        DOWNLOAD = "download", "Downloaded"
        CHANGE = "change", "Changed"
        RERUN = "rerun", "Re-ran"
        REVIEW = "review", "Reviewed"
        EXPORT = "export", "Exported"

    class Channel(models.TextChoices):
        WEB = "web", "Web"
        API = "api", "API"
        ADMIN = "admin", "Admin"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.WEB)
    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.study_id}"


class ApiToken(models.Model):
    """A revocable, expiring API token. Only a hash of the key is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for (e.g. PACS bridge).")
    key_prefix = models.CharField(max_length=8, help_text="First characters, to recognise it.")
    key_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…) of {self.user}"


class CallbackDelivery(models.Model):
    """The signed POST sent to a study's callback URL when it finishes, and its attempts."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="callback_deliveries")
    url = models.URLField(max_length=500)
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class ThresholdSuggestion(models.Model):
    """Thresholds proposed from reviewed studies (admin validation page), kept as a draft until
    an admin applies it, which makes a new threshold set of the model version."""

    class Method(models.TextChoices):
        SENSITIVITY = "sensitivity", "Target sensitivity"
        YOUDEN = "youden", "Youden's J"

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="threshold_suggestions"
    )
    based_on = models.ForeignKey(
        ThresholdSet, on_delete=models.PROTECT, related_name="+",
        help_text="The threshold set it was proposed against (its old operating points).",
    )
    method = models.CharField(max_length=16, choices=Method.choices)
    target_sensitivity = models.FloatField(null=True, blank=True)
    date_from = models.DateField(null=True, blank=True)
    date_to = models.DateField(null=True, blank=True)
    findings = models.JSONField(
        help_text="Per finding: positives, negatives, old and new operating points, or why none.")
    thresholds = models.JSONField(
        help_text="The proposed set: the suggested threshold where there is one, else the old.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+"
    )
    threshold_set = models.OneToOneField(
        ThresholdSet, null=True, blank=True, on_delete=models.PROTECT, related_name="suggestion",
        help_text="The threshold set applying it made.",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Suggested thresholds #{self.pk} for {self.model_version}"

    @property
    def is_draft(self) -> bool:
        return self.applied_at is None
class DicomDelivery(models.Model):
    """A study's results (SR and key image) sent to one DICOM destination, and its attempts."""

    class Protocol(models.TextChoices):
        DIMSE = "dimse", "C-STORE"
        STOW = "stow", "STOW-RS"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="dicom_deliveries")
    protocol = models.CharField(max_length=8, choices=Protocol.choices)
    destination = models.CharField(
        max_length=500, help_text="AE@host:port for C-STORE, the DICOMweb base URL for STOW-RS.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "DICOM deliveries"

    def __str__(self) -> str:
        return f"{self.get_protocol_display()} to {self.destination}: {self.status}"
