"""Swagger UI and ReDoc, served from local static files (drf-spectacular-sidecar)."""

from functools import wraps

DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
               "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'")


def local_only(view):
    """Swagger UI and ReDoc load nothing from outside (ReDoc's bundle would fetch its logo)."""

    @wraps(view)
    def documentation(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_POLICY
        return response

    return documentation
