from django.urls import path

from diagnoses.web import comparison, dicom, history, review, status, study, upload, worklist

urlpatterns = [
    path("", history.study_history, name="study-history"),
    path("export.csv", history.study_history_csv, name="study-history-csv"),
    path("new/", upload.study_upload, name="study-upload"),
    path("worklist/", worklist.study_worklist, name="study-worklist"),
    path("worklist.json", worklist.study_worklist_json, name="study-worklist-json"),
    path("new/pieces/", upload.chunked_upload_begin, name="study-upload-begin"),
    path("new/pieces/<str:upload_id>/", upload.chunked_upload_piece, name="study-upload-piece"),
    path("new/pieces/<str:upload_id>/finish/", upload.chunked_upload_finish,
         name="study-upload-finish"),
    path("status/", status.study_statuses, name="study-statuses"),  # ?known=<id>:<status>...
    path("patient/", history.patient_detail, name="patient-detail"),  # ?id=: no PHI in paths
    path("<uuid:study_id>/", study.study_detail, name="study-detail"),
    path("<uuid:study_id>/status/", status.study_status, name="study-status"),
    path("<uuid:study_id>/image/", study.study_image, name="study-image"),
    path("<uuid:study_id>/viewer/", study.study_viewer_facts, name="study-viewer"),
    path("<uuid:study_id>/viewer/source.dcm", study.study_viewer_source,
         name="study-viewer-source"),
    path("<uuid:study_id>/comparison/", comparison.study_comparison, name="study-comparison"),
    path("<uuid:study_id>/thumbnail.png", study.study_thumbnail, name="study-thumbnail"),
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
