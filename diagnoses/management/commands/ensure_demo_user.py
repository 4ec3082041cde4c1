"""`manage.py ensure_demo_user`: a login for trying ChexWeb locally; prints its credentials."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create (or reset) the demo login and print it."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("CHEXWEB_DEMO_USER", "demo"))
        parser.add_argument("--password", default=os.environ.get("CHEXWEB_DEMO_PASSWORD", ""))

    def handle(self, *args, username, password, **options):
        password = password or secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"Demo login: username {username}  password {password}")
