"""{% urgent_unread %}: how many studies not signed off flag an urgent finding (the navigation):
past BADGE_CAP, "99+" (counting further cost every page: diagnoses/worklist.py)."""

from django import template

from diagnoses.worklist import urgent_unread_count

register = template.Library()
BADGE_CAP = 99


@register.simple_tag
def urgent_unread() -> str:
    return badge_label(urgent_unread_count(cap=BADGE_CAP))


def badge_label(count: int) -> str:
    return f"{BADGE_CAP}+" if count > BADGE_CAP else str(count)
