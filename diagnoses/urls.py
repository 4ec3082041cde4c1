from django.urls import path

from diagnoses import views

urlpatterns = [
    path("", views.study_history, name="study-history"),
    path("new/", views.study_upload, name="study-upload"),
    path("<uuid:study_id>/", views.study_detail, name="study-detail"),
    path("<uuid:study_id>/status/", views.study_status, name="study-status"),
    path("<uuid:study_id>/image/", views.study_image, name="study-image"),
    path("<uuid:study_id>/rerun/", views.study_rerun, name="study-rerun"),
    path(
        "<uuid:study_id>/predictions/<int:prediction_id>/heatmaps/<str:finding>.png",
        views.study_heatmap,
        name="study-heatmap",
    ),
]
