"""Scaling-out settings come from the environment, and a malformed one is refused."""

import json
import os
import subprocess
import sys

import pytest

from tests.processes import REPO

SHOW = ("import json; from django.conf import settings as s; "
        "print(json.dumps({'db': s.DATABASES['default'], 'graphpipe': s.GRAPHPIPE_URL, "
        "'redis': s.REDIS_URL, 'media': str(s.STUDY_STORAGE_ROOT)}, default=str))")


def settings_with(**env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items()
             if key not in ("DATABASE_URL", "GRAPHPIPE_URL", "GRAPHPIPE_URLS", "REDIS_URL")}
    return subprocess.run([sys.executable, "manage.py", "shell", "-c", SHOW], cwd=REPO,
                          capture_output=True, text=True, env={**clean, **env}, timeout=120)


def shown(**env: str) -> dict:
    result = settings_with(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])  # after `shell`'s own line


def test_postgresql_redis_model_servers_and_media_come_from_the_environment(tmp_path):
    found = shown(DATABASE_URL="postgres://chexweb:pw@db.internal:5432/chexweb",
                  CHEXWEB_DB_CONN_MAX_AGE="60", REDIS_URL="redis://queue.internal:6379/2",
                  GRAPHPIPE_URLS="http://model-1:9000, http://model-2:9000",
                  CHEXWEB_MEDIA_ROOT=str(tmp_path / "media"))
    assert found["db"]["ENGINE"] == "django.db.backends.postgresql"
    assert (found["db"]["HOST"], found["db"]["NAME"], found["db"]["CONN_MAX_AGE"]) == (
        "db.internal", "chexweb", 60)
    assert found["db"]["CONN_HEALTH_CHECKS"] is True
    assert found["redis"] == "redis://queue.internal:6379/2"
    assert found["graphpipe"] == "http://model-1:9000,http://model-2:9000"
    assert found["media"] == str(tmp_path / "media")


def test_sqlite_under_the_var_dir_by_default(tmp_path):
    found = shown(CHEXWEB_VAR_DIR=str(tmp_path))
    assert found["db"]["ENGINE"] == "django.db.backends.sqlite3"
    assert found["db"]["NAME"] == str(tmp_path / "chexweb.sqlite3")
    assert found["graphpipe"] == "http://127.0.0.1:9000"


def test_graphpipe_url_alone_still_works():
    assert shown(GRAPHPIPE_URL="http://model:9000")["graphpipe"] == "http://model:9000"


def test_a_model_server_that_is_not_a_url_is_refused():
    result = settings_with(GRAPHPIPE_URLS="http://model-1:9000,model-2:9000")
    assert result.returncode != 0 and "GRAPHPIPE_URL(S) must be http" in result.stderr


def test_a_short_metrics_token_is_refused():
    result = settings_with(CHEXWEB_METRICS_TOKEN="secret")
    assert result.returncode != 0 and "CHEXWEB_METRICS_TOKEN must be at least 32" in result.stderr


def test_a_heartbeat_deadline_shorter_than_three_heartbeats_is_refused():
    result = settings_with(CHEXWEB_STUDY_HEARTBEAT_S="10", CHEXWEB_STUCK_PROCESSING_S="20")
    assert result.returncode != 0 and "at least three heartbeats" in result.stderr


def setting(expression: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         f"from django.conf import settings as s; print(repr({expression}))"],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def test_no_proxy_is_trusted_by_default_and_the_lockout_is_per_username_and_address():
    shown = setting("(s.CHEXWEB_TRUSTED_PROXIES, s.AXES_LOCKOUT_PARAMETERS)",
                    CHEXWEB_TRUSTED_PROXIES="", CHEXWEB_LOGIN_LOCKOUT_PARAMETERS="")
    assert shown.stdout.splitlines()[-1] == "((), [['username', 'ip_address']])"


def test_trusted_proxies_and_the_lockout_come_from_the_environment():
    shown = setting("([str(n) for n in s.CHEXWEB_TRUSTED_PROXIES], s.AXES_LOCKOUT_PARAMETERS)",
                    CHEXWEB_TRUSTED_PROXIES="172.18.0.0/16, 10.0.0.5",
                    CHEXWEB_LOGIN_LOCKOUT_PARAMETERS="username+ip_address, ip_address")
    assert shown.stdout.splitlines()[-1] == (
        "(['172.18.0.0/16', '10.0.0.5/32'], [['username', 'ip_address'], 'ip_address'])")


@pytest.mark.parametrize("name, value, message", [
    ("CHEXWEB_TRUSTED_PROXIES", "proxy.internal", "CHEXWEB_TRUSTED_PROXIES: 'proxy.internal'"),
    ("CHEXWEB_LOGIN_LOCKOUT_PARAMETERS", "username+ip", "CHEXWEB_LOGIN_LOCKOUT_PARAMETERS: lock"),
    ("CHEXWEB_API_RATE_ANONYMOUS", "60/fortnight", "CHEXWEB_API_RATE_ANONYMOUS must be a rate"),
])
def test_a_malformed_proxy_lockout_or_rate_is_refused(name, value, message):
    refused = setting("s.DEBUG", **{name: value})
    assert refused.returncode != 0 and message in refused.stderr
