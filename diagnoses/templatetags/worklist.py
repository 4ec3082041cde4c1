"""{% urgent_unread %}: how many studies not signed off flag an urgent finding (the navigation)."""

from django import template

from diagnoses.worklist import urgent_unread_count

register = template.Library()


@register.simple_tag
def urgent_unread() -> int:
    return urgent_unread_count()
