"""The admin's own pages beside the model admins: validation and monitoring (staff only, through
the admin site's login and staff check)."""

from django.contrib import admin
from django.urls import path

from diagnoses.admin import monitoring, validation


def _staff(view):
    return admin.site.admin_view(view)


urlpatterns = [
    path("validation/", _staff(validation.validation_page), name="validation"),
    path("validation/suggest/", _staff(validation.suggest), name="threshold-suggest"),
    path("validation/suggestions/<int:suggestion_id>/", _staff(validation.suggestion_page),
         name="threshold-suggestion"),
    path("validation/suggestions/<int:suggestion_id>/apply/",
         _staff(validation.suggestion_apply), name="threshold-suggestion-apply"),
    path("monitoring/", _staff(monitoring.monitoring_page), name="monitoring"),
]
