"""API tokens: a random key shown once, stored as its sha256, revocable and expiring."""

import datetime
import hashlib
import secrets

from django.utils import timezone

from diagnoses.models import ApiToken

KEY_PREFIX = "chx_"
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class TokenRefused(Exception):
    """The key names no usable token; the message says why."""


def key_sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user, name: str, days: int) -> tuple[ApiToken, str]:
    """A new token for `user`, valid for `days`; returns the token and its key (shown once)."""
    if days < 1:
        raise ValueError("A token must be valid for at least one day.")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_prefix=key[:8],
        key_sha256=key_sha256(key),
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )
    return token, key


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token; revoking it again keeps the first revocation time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token


def api_token_use(*, key: str) -> ApiToken:
    """The token of `key` if it may be used now, its last use recorded (to the minute)."""
    token = ApiToken.objects.select_related("user").filter(key_sha256=key_sha256(key)).first()
    now = timezone.now()
    if token is None:
        raise TokenRefused("Invalid API token.")
    if token.revoked_at is not None:
        raise TokenRefused(f"This API token was revoked on {token.revoked_at:%Y-%m-%d %H:%M} UTC.")
    if token.expires_at <= now:
        raise TokenRefused(
            f"This API token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC; "
            "ask for a new one (manage.py api_token create)."
        )
    if not token.user.is_active:
        raise TokenRefused("The user of this API token is inactive.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_status(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= timezone.now() else "active"
