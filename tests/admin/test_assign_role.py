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


def test_a_superuser_stays_staff(django_user_model):
    user = django_user_model.objects.create_superuser(username="root")
    call_command("assign_role", "root", "clinician")
    user.refresh_from_db()
    assert user.is_staff and user.is_superuser


def test_an_unknown_user_is_an_error(db):
    with pytest.raises(CommandError, match="no user named"):
        call_command("assign_role", "nobody", "admin")
