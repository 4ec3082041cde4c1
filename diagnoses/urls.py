from django.urls import path

from diagnoses.web import dicom, history, review, study, upload

urlpatterns = [
    path("", history.study_history, name="study-history"),
    path("export.csv", history.study_history_csv, name="study-history-csv"),
    path("new/", upload.study_upload, name="study-upload"),
    path("patient/", history.patient_detail, name="patient-detail"),  # ?id=: no PHI in paths
    path("<uuid:study_id>/", study.study_detail, name="study-detail"),
    path("<uuid:study_id>/status/", study.study_status, name="study-status"),
    path("<uuid:study_id>/image/", study.study_image, name="study-image"),
    path("<uuid:study_id>/rerun/", study.study_rerun, name="study-rerun"),
    path("<uuid:study_id>/study.json", study.study_json, name="study-json"),
    path("<uuid:study_id>/report.pdf", study.study_report, name="study-report"),
    path("<uuid:study_id>/dicom/<str:kind>.dcm", dicom.study_dicom_result, name="study-dicom"),
    path("<uuid:study_id>/dicom/deliveries/<int:delivery_id>/resend/", dicom.study_dicom_resend,
         name="study-dicom-resend"),
    path(
        "<uuid:study_id>/predictions/<int:prediction_id>/heatmaps/<str:finding>.png",
        study.study_heatmap,
        name="study-heatmap",
    ),
    path(
        "<uuid:study_id>/predictions/<int:prediction_id>/heatmap-layers/<str:finding>.png",
        study.study_heatmap_layer,
        name="study-heatmap-layer",
    ),
    path(
        "<uuid:study_id>/predictions/<int:prediction_id>/review/",
        review.prediction_review,
        name="prediction-review",
    ),
]
