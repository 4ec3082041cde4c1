"""The three roles, as Django groups, the permissions each one holds, and putting a user in one."""

from django.contrib.auth.models import Group
from django.db import transaction

CLINICIAN = "clinician"
REVIEWER = "reviewer"
ADMIN = "admin"

_CLINICIAN_PERMISSIONS = {
    "view_study", "add_study", "rerun_study", "export_study",
    "view_prediction", "view_finding", "view_modelversion", "view_thresholdset",
    "view_review", "view_findingverdict",
}
_REVIEWER_PERMISSIONS = _CLINICIAN_PERMISSIONS | {
    "review_study", "add_review", "change_review", "add_findingverdict", "change_findingverdict",
}
_ADMIN_PERMISSIONS = _REVIEWER_PERMISSIONS | {
    "change_study", "delete_study", "add_modelversion", "change_modelversion",
    "add_thresholdset", "view_auditevent",
}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    CLINICIAN: _CLINICIAN_PERMISSIONS,
    REVIEWER: _REVIEWER_PERMISSIONS,
    ADMIN: _ADMIN_PERMISSIONS,
}

NO_ROLE = "none"
STAFF_ROLES = {REVIEWER, ADMIN}


def user_role_assign(*, user, role: str, remove_superuser: bool = False) -> None:
    """Put `user` in `role`'s group alone. A superuser holds every permission whatever its
    groups, so a role means something only with `remove_superuser`, which takes that away."""
    if role != NO_ROLE and role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}")
    with transaction.atomic():
        user.groups.remove(*Group.objects.filter(name__in=ROLE_PERMISSIONS))
        if role != NO_ROLE:
            user.groups.add(Group.objects.get(name=role))
        if remove_superuser:
            user.is_superuser = False
        user.is_staff = role in STAFF_ROLES or user.is_superuser
        user.save(update_fields=["is_staff", "is_superuser"])


def user_create_in_role(*, username: str, role: str, password: str, email: str = ""):
    """An ordinary (not superuser) user in `role`; the password must pass the validators."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password

    model = get_user_model()
    if model.objects.filter(username=username).exists():
        raise ValueError(f"a user named {username!r} exists already (use assign_role)")
    validate_password(password, model(username=username, email=email))
    with transaction.atomic():
        user = model.objects.create_user(username=username, email=email, password=password)
        user_role_assign(user=user, role=role)
    return user
