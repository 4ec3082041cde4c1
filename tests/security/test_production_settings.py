"""Production settings come from the environment and pass Django's deployment checks."""

import secrets
import subprocess
import sys

from tests.processes import REPO

PRODUCTION_ENV = {
    "CHEXWEB_PRODUCTION": "1",
    "CHEXWEB_SECRET_KEY": secrets.token_urlsafe(50),
    "CHEXWEB_ALLOWED_HOSTS": "chexweb.hospital.example",
    "CHEXWEB_INSECURE_DEV_KEY": "0",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=120)


def test_check_deploy_finds_nothing_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV, "CHEXWEB_SECRET_KEY": ""}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "CHEXWEB_SECRET_KEY" in result.stderr


def test_a_malformed_setting_is_refused_not_guessed():
    result = manage("check", env={"CHEXWEB_DEBUG": "perhaps"})
    assert result.returncode != 0 and "CHEXWEB_DEBUG must be a boolean" in result.stderr
