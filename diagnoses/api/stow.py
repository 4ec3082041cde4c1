"""STOW-RS at POST /dicomweb/studies: DICOM instances from a PACS or router over HTTP, for a
bearer token of a user who may add studies (clinician and up). Answers in DICOM JSON."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from diagnoses.api.authentication import BearerTokenAuthentication
from diagnoses.api.base import ApiView, audit
from diagnoses.api.files import FirstRenderer
from diagnoses.dicom.stow import StowRefused, stow_parts, stow_store

READ_CHUNK = 1 << 20


class DicomJsonRenderer(JSONRenderer):
    media_type = "application/dicom+json"
    format = "dicomjson"


class RawBody(BaseParser):
    """Leaves the body to the view, which reads it up to its limit."""

    media_type = "multipart/related"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class StowView(ApiView):
    authentication_classes = [BearerTokenAuthentication]
    required_permissions = {"POST": "add_study"}
    parser_classes = [RawBody]
    renderer_classes = [DicomJsonRenderer]
    content_negotiation_class = FirstRenderer

    @extend_schema(exclude=True)
    def post(self, request):
        limit = settings.STUDY_MAX_UPLOAD_BYTES
        try:
            body = _body(request, limit)
            parts = stow_parts(request.content_type, body)
        except StowRefused as refused:
            return Response(_error(str(refused)), status=refused.status)
        outcome = stow_store(parts=parts, user=request.user)
        audit(request, "create", detail=f"STOW-RS: {outcome.stored} stored, "
                                        f"{outcome.failed} failed")
        return Response(outcome.response.to_json_dict(), status=outcome.http_status)


def _body(request, limit: int) -> bytes:
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        raise StowRefused(f"The body is over the limit of {limit / 1e6:.0f} MB.", status=413)
    chunks, size = [], 0
    while chunk := request._request.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise StowRefused(f"The body is over the limit of {limit / 1e6:.0f} MB.", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def _error(message: str) -> dict:
    """A DICOM JSON answer with the reason in Error Comment (0000,0902)."""
    return {"00000902": {"vr": "LO", "Value": [message[:64]]}}
