"""`manage.py assign_role USER ROLE`: one role's group, and staff for reviewers and admins."""

import pytest
from django.core.management import CommandError, call_command

from tests.factories import user_create

pytestmark = pytest.mark.django_db


def groups(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


@pytest.mark.parametrize("role, staff", [("clinician", False), ("reviewer", True),
                                         ("admin", True)])
def test_it_puts_the_user_in_the_role_and_sets_staff(db, role, staff):
    user = user_create(username="someone")
    call_command("assign_role", "someone", role)
    user.refresh_from_db()
    assert groups(user) == {role} and user.is_staff is staff


def test_a_new_role_replaces_the_old_one(db):
    user = user_create(username="someone")
    call_command("assign_role", "someone", "admin")
    call_command("assign_role", "someone", "clinician")
    user.refresh_from_db()
    assert groups(user) == {"clinician"} and not user.is_staff


def test_none_takes_every_role_away(db):
    user = user_create(username="someone")
    call_command("assign_role", "someone", "reviewer")
    call_command("assign_role", "someone", "none")
    user.refresh_from_db()
    assert groups(user) == set() and not user.is_staff


def test_a_superuser_is_refused_with_the_way_out_named(django_user_model):
    user = django_user_model.objects.create_superuser(username="root")
    with pytest.raises(CommandError, match="--remove-superuser"):
        call_command("assign_role", "root", "clinician")
    user.refresh_from_db()
    assert user.is_superuser and groups(user) == set()


def test_remove_superuser_makes_an_ordinary_user_in_the_role(django_user_model, capsys):
    user = django_user_model.objects.create_superuser(username="root")
    call_command("assign_role", "root", "clinician", "--remove-superuser")
    user.refresh_from_db()
    assert not user.is_superuser and not user.is_staff and groups(user) == {"clinician"}
    assert "no longer a superuser" in capsys.readouterr().out
    assert not user.has_perm("diagnoses.review_study")


def test_create_user_makes_an_ordinary_user_in_a_role(db, monkeypatch, capsys):
    from django.contrib.auth import get_user_model

    monkeypatch.setenv("CHEXWEB_NEW_USER_PASSWORD", "a-long-enough-secret-42")
    call_command("create_user", "dr.wilson", "--role", "reviewer")
    user = get_user_model().objects.get(username="dr.wilson")
    assert groups(user) == {"reviewer"} and user.is_staff and not user.is_superuser
    assert user.check_password("a-long-enough-secret-42")
    assert user.has_perm("diagnoses.review_study")
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_user", "dr.wilson", "--role", "clinician")


def test_create_user_refuses_a_weak_password_and_creates_nothing(db, monkeypatch):
    from django.contrib.auth import get_user_model

    monkeypatch.setenv("CHEXWEB_NEW_USER_PASSWORD", "123")
    with pytest.raises(CommandError, match="password refused"):
        call_command("create_user", "dr.weak", "--role", "clinician")
    assert not get_user_model().objects.filter(username="dr.weak").exists()


def test_create_user_can_make_up_a_password(db, capsys):
    from django.contrib.auth import get_user_model

    call_command("create_user", "dr.chase", "--role", "clinician", "--generate-password")
    password = capsys.readouterr().out.rsplit("password ", 1)[1].strip()
    assert get_user_model().objects.get(username="dr.chase").check_password(password)


def test_an_unknown_user_is_an_error(db):
    with pytest.raises(CommandError, match="no user named"):
        call_command("assign_role", "nobody", "admin")
