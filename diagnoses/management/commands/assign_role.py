"""`manage.py assign_role USER ROLE`: put a user in one role (clinician, reviewer, admin) or
in none.

The user ends up in exactly that role's group, so the role's permissions (diagnoses/roles.py)
are the user's. Reviewers (lead reviewers) and admins work in the Django admin and are made staff;
clinicians and users without a role are not. A superuser holds every permission whatever its role:
for one, the command refuses unless --remove-superuser makes it an ordinary user in that role.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from diagnoses.roles import NO_ROLE, ROLE_PERMISSIONS, user_role_assign


class Command(BaseCommand):
    help = "Put a user in one role (clinician, reviewer, admin, or none); sets is_staff to match."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=[*ROLE_PERMISSIONS, NO_ROLE])
        parser.add_argument("--remove-superuser", action="store_true",
                            help="For a superuser: take superuser status away, so the role is "
                            "what the user may do.")

    def handle(self, *args, username: str, role: str, remove_superuser: bool, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {username!r}") from None
        if user.is_superuser and not remove_superuser:
            raise CommandError(
                f"{username} is a superuser and may do everything whatever its role, so role "
                f"{role} would change nothing. Nothing was changed. To make {username} an "
                f"ordinary user in role {role}, run again with --remove-superuser.")
        was_superuser = user.is_superuser
        user_role_assign(user=user, role=role, remove_superuser=remove_superuser)
        self.stdout.write(
            f"{username}: role {role}, "
            f"{'can' if user.is_staff else 'cannot'} reach the admin"
            + ("; no longer a superuser" if was_superuser else "")
        )
