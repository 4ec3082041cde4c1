"""`manage.py api_token create USER --name N --days 90 | list [--user USER] | revoke ID`."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from diagnoses.api.tokens import api_token_create, api_token_revoke, api_token_status
from diagnoses.models import ApiToken


class Command(BaseCommand):
    help = "Create, list and revoke API tokens. A new token's key is printed once, never stored."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a token for a user; prints its key.")
        create.add_argument("username")
        create.add_argument("--name", required=True, help="What the token is for.")
        create.add_argument("--days", type=int, default=90, help="Valid for (default 90).")
        create.add_argument("--quiet", action="store_true", help="Print the key alone.")
        listing = actions.add_parser("list", help="List tokens (never their keys).")
        listing.add_argument("--user", dest="username", default="")
        revoke = actions.add_parser("revoke", help="Revoke a token by its id.")
        revoke.add_argument("token_id", type=int)

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _create(self, *, username, name, days, quiet, **options):
        user = _user(username)
        if days < 1:
            raise CommandError("--days must be 1 or more.")
        token, key = api_token_create(user=user, name=name, days=days)
        if quiet:
            self.stdout.write(key)
            return
        self.stdout.write(
            f"API token {token.pk} for {user.get_username()} ({name}), valid until "
            f"{token.expires_at:%Y-%m-%d %H:%M} UTC.\n"
            f"Key (shown once, store it now): {key}\n"
            f"Use it as: Authorization: Bearer {key}"
        )

    def _list(self, *, username, **options):
        tokens = ApiToken.objects.select_related("user").order_by("user__username", "-created_at")
        if username:
            tokens = tokens.filter(user=_user(username))
        self.stdout.write(f"{'id':>4}  {'user':<16} {'name':<24} {'key':<10} {'status':<8} "
                          f"{'expires':<16} last used")
        for token in tokens:
            last_used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(
                f"{token.pk:>4}  {token.user.get_username():<16} {token.name[:24]:<24} "
                f"{token.key_prefix + '…':<10} {api_token_status(token):<8} "
                f"{token.expires_at:%Y-%m-%d %H:%M} {last_used}"
            )

    def _revoke(self, *, token_id, **options):
        token = ApiToken.objects.filter(pk=token_id).first()
        if token is None:
            raise CommandError(f"No API token with id {token_id}.")
        token = api_token_revoke(token=token)
        self.stdout.write(f"API token {token.pk} ({token.name}) of {token.user.get_username()} "
                          f"revoked at {token.revoked_at:%Y-%m-%d %H:%M} UTC.")


def _user(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"No user named {username!r}.")
    return user
