"""`manage.py assign_role USER ROLE`: put a user in one role (clinician, reviewer, admin) or
in none.

The user ends up in exactly that role's group, so the role's permissions (diagnoses/roles.py)
are the user's. Reviewers (lead reviewers) and admins work in the Django admin and are made staff;
clinicians and users without a role are not. Superusers are left staff and superusers.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from diagnoses.roles import ADMIN, REVIEWER, ROLE_PERMISSIONS

NO_ROLE = "none"
STAFF_ROLES = {REVIEWER, ADMIN}


def user_role_assign(*, user, role: str) -> None:
    if role != NO_ROLE and role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}")
    with transaction.atomic():
        user.groups.remove(*Group.objects.filter(name__in=ROLE_PERMISSIONS))
        if role != NO_ROLE:
            user.groups.add(Group.objects.get(name=role))
        user.is_staff = role in STAFF_ROLES or user.is_superuser
        user.save(update_fields=["is_staff"])


class Command(BaseCommand):
    help = "Put a user in one role (clinician, reviewer, admin, or none); sets is_staff to match."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=[*ROLE_PERMISSIONS, NO_ROLE])

    def handle(self, *args, username: str, role: str, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {username!r}") from None
        user_role_assign(user=user, role=role)
        self.stdout.write(
            f"{username}: role {role}, "
            f"{'can' if user.is_staff else 'cannot'} reach the admin"
        )
