"""`manage.py ensure_demo_user`: a login for trying ChexWeb locally; prints its credentials.

The password is --password, else CHEXWEB_DEMO_PASSWORD, else one made up at the first start and
kept in var/demo-password (readable by its owner only), so it stays the same across starts.
`--print-only` prints the login again without touching the database (`make run` does so once the
processes' start-up banners are out)."""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


def _kept_password_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-password"


def demo_password(given: str) -> str:
    """The password given, or the one kept from an earlier start, or a new one kept from now."""
    if given:
        return given
    kept = _kept_password_file()
    if kept.is_file() and kept.read_text().strip():
        return kept.read_text().strip()
    password = secrets.token_urlsafe(12)
    kept.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(password + "\n")
    return password


class Command(BaseCommand):
    help = "Create (or reset) the demo login and print it."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("CHEXWEB_DEMO_USER", "demo"))
        parser.add_argument("--password", default=os.environ.get("CHEXWEB_DEMO_PASSWORD", ""))
        parser.add_argument("--print-only", action="store_true",
                            help="Print the login (as kept) without changing the database.")

    def handle(self, *args, username, password, print_only, **options):
        password = demo_password(password)
        if not print_only:
            user, _ = get_user_model().objects.get_or_create(username=username)
            user.is_staff = True
            user.is_superuser = True
            user.set_password(password)
            user.save()
        line = f"Demo login: username {username}  password {password}"
        rule = "=" * len(line)
        self.stdout.write(f"{rule}\n{line}\n{rule}" if print_only else line)
