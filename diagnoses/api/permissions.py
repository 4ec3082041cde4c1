"""The roles' permissions (diagnoses/roles.py), checked per request method of each view."""

from rest_framework.permissions import BasePermission


class RolePermission(BasePermission):
    """A view names the permission each method needs: `required_permissions = {"GET": ...}`."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        needed = view.required_permissions.get(request.method)
        if needed is None and request.method in ("HEAD", "OPTIONS"):
            needed = view.required_permissions.get("GET")
        return needed is not None and request.user.has_perm(f"diagnoses.{needed}")
