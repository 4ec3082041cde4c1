from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from diagnoses.api.stow import StowView
from diagnoses.web.health import health
from diagnoses.web.metrics import metrics

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="study-upload", permanent=False)),
    path("studies/", include("diagnoses.urls")),
    path("api/v1/", include("diagnoses.api.urls")),
    path("dicomweb/studies", StowView.as_view(), name="dicomweb-stow"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("admin/", include("diagnoses.admin.urls")),  # validation and monitoring (staff)
    path("admin/", admin.site.urls),
    path("healthz", health, name="health"),
    path("metrics", metrics, name="metrics"),
]

# On /api/ paths Django's own refusals answer in the API's error format.
handler400 = "diagnoses.api.errors.bad_request"
handler403 = "diagnoses.api.errors.permission_denied"
handler404 = "diagnoses.api.errors.page_not_found"
handler500 = "diagnoses.api.errors.server_error"
