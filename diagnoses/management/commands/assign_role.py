"""`manage.py assign_role USER ROLE`: put a user in one role (clinician, reviewer, admin) or
in none.

The user ends up in exactly that role's group, so the role's permissions (diagnoses/roles.py)
are the user's. Reviewers (lead reviewers) and admins work in the Django admin and are made staff;
clinicians and users without a role are not. Superusers are left staff and superusers.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from diagnoses.roles import NO_ROLE, ROLE_PERMISSIONS, user_role_assign


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
