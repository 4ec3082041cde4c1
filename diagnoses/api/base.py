"""What every API view shares: role permissions, audit events on the API channel, and the
answer for unknown paths."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.generics import GenericAPIView

from diagnoses.api.permissions import RolePermission
from diagnoses.audit import audit_record


class ApiView(GenericAPIView):
    # Each view names the role permission each method needs and the extra error statuses its
    # schema documents. (No docstring: the schema would show it for every operation.)
    permission_classes = [RolePermission]
    pagination_class = None
    required_permissions: dict[str, str] = {}
    error_statuses: dict[str, tuple[int, ...]] = {}


def audit(request, action: str, **event) -> None:
    audit_record(user=request.user, action=action, channel="api", **event)


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@authentication_classes([])
@permission_classes([])
def not_found(request, path=""):
    """Unknown paths under /api/v1/ answer in the error format too."""
    raise exceptions.NotFound(f"There is no API endpoint at {request.path}.")
