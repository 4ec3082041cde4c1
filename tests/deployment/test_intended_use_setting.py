"""CHEXWEB_INTENDED_USE: warn by default, refuse or warn when set, anything else refused."""

import os
import subprocess
import sys

import pytest

from tests.processes import REPO

SHOW = "from django.conf import settings as s; print(s.CHEXWEB_INTENDED_USE)"


def policy(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "shell", "-c", SHOW], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def test_warn_is_the_default():
    result = policy(CHEXWEB_INTENDED_USE="")
    assert result.stdout.splitlines()[-1] == "warn"


@pytest.mark.parametrize("value", ["refuse"])
def test_a_policy_is_taken_from_the_environment(value):
    assert policy(CHEXWEB_INTENDED_USE=value).stdout.splitlines()[-1] == value


@pytest.mark.parametrize("value", ["Refuse", " warn"])
def test_anything_else_is_refused(value):
    result = policy(CHEXWEB_INTENDED_USE=value)
    assert result.returncode != 0
    assert "CHEXWEB_INTENDED_USE must be refuse or warn" in result.stderr
