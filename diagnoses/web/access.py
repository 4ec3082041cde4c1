"""Decorators for the pages: a login, then the role's permission (403 without it)."""

from collections.abc import Callable

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse


def requires(permission: str) -> Callable:
    def decorate(view: Callable) -> Callable:
        return login_required(
            permission_required(f"diagnoses.{permission}", raise_exception=True)(view)
        )

    return decorate


def private_download(content: bytes, content_type: str, filename: str, *,
                     inline: bool = True) -> HttpResponse:
    """Patient data: never cached, never sniffed, a file name that carries no patient data."""
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response
