"""One error format for every 4xx answer of the API:
`{"error": {"code": "...", "message": "...", "fields": {"name": ["..."]}}}`."""

from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, serializers, status
from rest_framework.fields import get_error_detail
from rest_framework.views import exception_handler

from diagnoses.api.throttling import refusal_counted

NON_FIELD = "non_field_errors"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the study's current state."
    default_code = "conflict"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used for a different submission."
    default_code = "idempotency_key_reused"


class FileRefused(exceptions.ValidationError):
    """An uploaded file refused for what it holds: 413 over a size or image budget, 415 not an
    image format that is accepted, 400 otherwise; `code` says which."""

    STATUSES = {"too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                "unsupported_format": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE}

    def __init__(self, refused: DjangoValidationError, *, field: str = "file"):
        super().__init__({field: refused.messages})
        code = getattr(refused, "code", None)
        self.refusal_code = code if code in self.STATUSES else "invalid"
        self.status_code = self.STATUSES.get(code, status.HTTP_400_BAD_REQUEST)


def api_exception_handler(exc, context):
    exc = refusal_counted(exc, context)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=get_error_detail(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = exception_handler(exc, context)
    if response is None:  # not a client error: Django answers 500
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        code, message = getattr(exc, "refusal_code", "invalid"), _first_message(fields)
    else:
        fields = {}
        code = getattr(exc.detail, "code", None) or exc.default_code
        message = str(exc.detail)
    response.data = error_body(code=code, message=message, fields=fields)
    return response


def error_body(*, code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


# Django's own refusals (chexweb/urls.py names these handlers): what it refuses before or around
# the API's views (while reading a body, checking the Host) or answers for a path under /api/
# that is no endpoint, in the error format on /api/ paths; the web keeps Django's pages.
API_PATHS = "/api/"


def bad_request(request, exception):
    if not request.path_info.startswith(API_PATHS):
        return defaults.bad_request(request, exception)
    code, message = _bad_request_reason(exception)
    return JsonResponse(error_body(code=code, message=message), status=400)


def permission_denied(request, exception):
    if not request.path_info.startswith(API_PATHS):
        return defaults.permission_denied(request, exception)
    return JsonResponse(error_body(code="permission_denied",
                                   message="You do not have permission for this."), status=403)


def page_not_found(request, exception):
    if not request.path_info.startswith(API_PATHS):
        return defaults.page_not_found(request, exception)
    return JsonResponse(error_body(code="not_found",
                                   message=f"There is no API endpoint at {request.path}."),
                        status=404)


def server_error(request):
    if not request.path_info.startswith(API_PATHS):
        return defaults.server_error(request)
    return JsonResponse(error_body(code="server_error",
                                   message="The server failed to answer; it has been logged."),
                        status=500)


def _bad_request_reason(exception) -> tuple[str, str]:
    if isinstance(exception, TooManyFieldsSent):
        return "too_many_fields", (f"The request has more than "
                                   f"{settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields.")
    if isinstance(exception, TooManyFilesSent):
        return "too_many_files", (f"The request has more than "
                                  f"{settings.DATA_UPLOAD_MAX_NUMBER_FILES} files.")
    if isinstance(exception, RequestDataTooBig):
        return "too_large", (f"The request's fields are larger than "
                             f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes (files aside).")
    if isinstance(exception, DisallowedHost):
        return "bad_host", "The Host header names no host this server answers to."
    return "bad_request", "The request is malformed."


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    if isinstance(detail, dict):
        flat = {}
        for name, value in detail.items():
            flat.update(_flatten(value, f"{prefix}.{name}" if prefix else str(name)))
        return flat
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        flat = {}
        for index, value in enumerate(detail):
            flat.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or NON_FIELD: [str(message) for message in messages]}


def _first_message(fields: dict[str, list[str]]) -> str:
    for name, messages in fields.items():
        if messages:
            return messages[0] if name == NON_FIELD else f"{name}: {messages[0]}"
    return "The request is invalid."


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. invalid, not_authenticated.")
    message = serializers.CharField(help_text="What went wrong, for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per request field (for code `invalid`); empty otherwise.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
