from django.urls import path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from diagnoses.api import base, dicom, docs, files, views

urlpatterns = [
    path("studies/", views.StudyListView.as_view(), name="api-study-list"),
    path("studies/<uuid:study_id>/", views.StudyDetailView.as_view(), name="api-study-detail"),
    path("studies/<uuid:study_id>/rerun/", views.StudyRerunView.as_view(), name="api-study-rerun"),
    path("studies/<uuid:study_id>/image/", files.StudyImageView.as_view(), name="api-study-image"),
    path(
        "studies/<uuid:study_id>/predictions/<int:prediction_id>/heatmaps/<str:finding>.png",
        files.StudyHeatmapView.as_view(),
        name="api-study-heatmap",
    ),
    path(
        "studies/<uuid:study_id>/predictions/<int:prediction_id>/review/",
        views.PredictionReviewView.as_view(),
        name="api-prediction-review",
    ),
    path("studies/<uuid:study_id>/dicom/deliveries/", dicom.StudyDicomDeliveryListView.as_view(),
         name="api-study-dicom-deliveries"),
    path("studies/<uuid:study_id>/dicom/deliveries/<int:delivery_id>/resend/",
         dicom.StudyDicomResendView.as_view(), name="api-study-dicom-resend"),
    path("studies/<uuid:study_id>/fhir/", dicom.StudyFhirView.as_view(), name="api-study-fhir"),
    path("studies/<uuid:study_id>/dicom/<str:kind>", dicom.StudyDicomResultView.as_view(),
         name="api-study-dicom"),
    path("models/", views.ModelVersionListView.as_view(), name="api-model-list"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        docs.local_only(SpectacularSwaggerView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path(
        "redoc/",
        docs.local_only(SpectacularRedocView.as_view(url_name="api-schema",
                                                      template_name="api/redoc.html")),
        name="api-redoc",
    ),
    re_path(r"^(?P<path>[\s\S]*)$", base.not_found),
]
