"""`manage.py create_user USERNAME --role clinician`: an ordinary user in one role.

The password is read from CHEXWEB_NEW_USER_PASSWORD, or asked for at the terminal, or (with
--generate-password) made up and printed once. It must pass the password validators."""

import getpass
import os
import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from diagnoses.roles import ROLE_PERMISSIONS, user_create_in_role


class Command(BaseCommand):
    help = "Create an ordinary (not superuser) user in one role: clinician, reviewer or admin."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=list(ROLE_PERMISSIONS))
        parser.add_argument("--email", default="")
        parser.add_argument("--generate-password", action="store_true",
                            help="Make up a password and print it once.")

    def handle(self, *args, username, role, email, generate_password, **options):
        password = os.environ.get("CHEXWEB_NEW_USER_PASSWORD", "")
        if generate_password:
            password = secrets.token_urlsafe(12)
        elif not password:
            password = getpass.getpass(f"Password for {username}: ")
            if password != getpass.getpass("Again: "):
                raise CommandError("the two passwords differ; nothing was created")
        try:
            user = user_create_in_role(username=username, role=role, password=password,
                                       email=email)
        except ValueError as error:
            raise CommandError(str(error)) from None
        except ValidationError as error:
            raise CommandError("password refused: " + " ".join(error.messages)) from None
        self.stdout.write(f"{username}: created in role {role}, "
                          f"{'can' if user.is_staff else 'cannot'} reach the admin"
                          + (f"; password {password}" if generate_password else ""))
