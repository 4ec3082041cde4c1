"""{% urgent_unread %}: how many studies not signed off flag an urgent finding (the navigation)."""

from django import template

from diagnoses.worklist import worklist

register = template.Library()


@register.simple_tag
def urgent_unread() -> int:
    return worklist(length=0).urgent_unread
