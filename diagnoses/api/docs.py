"""Swagger UI and ReDoc, served from local static files (drf-spectacular-sidecar)."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login

DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
               "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'")


def local_only(view):
    """Swagger UI and ReDoc load nothing from outside (ReDoc's bundle would fetch its logo); a
    browser without a session (and no token) is sent to the login page."""

    @wraps(view)
    def documentation(request, *args, **kwargs):
        if not request.user.is_authenticated and "Authorization" not in request.headers:
            return redirect_to_login(request.get_full_path())  # a browser: the login page
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_POLICY
        return response

    return documentation
