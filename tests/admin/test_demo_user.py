"""`manage.py ensure_demo_user`: the same demo login at every start unless one is given."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def printed_password(capsys) -> str:
    return re.search(r"password (\S+)", capsys.readouterr().out).group(1)


def test_the_made_up_password_is_kept_across_starts(settings, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CHEXWEB_DEMO_PASSWORD", raising=False)
    settings.VAR_DIR = tmp_path
    call_command("ensure_demo_user", "--username", "demo", "--password", "")
    first = printed_password(capsys)
    call_command("ensure_demo_user", "--username", "demo", "--password", "")
    assert printed_password(capsys) == first
    assert get_user_model().objects.get(username="demo").check_password(first)
    assert (tmp_path / "demo-password").stat().st_mode & 0o077 == 0  # its owner's only
    call_command("ensure_demo_user", "--username", "demo", "--password", "", "--print-only")
    assert f"Demo login: username demo  password {first}" in capsys.readouterr().out


def test_a_given_password_wins(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    call_command("ensure_demo_user", "--username", "demo", "--password", "chosen-demo-pass-1")
    assert printed_password(capsys) == "chosen-demo-pass-1"
    assert get_user_model().objects.get(username="demo").check_password("chosen-demo-pass-1")
