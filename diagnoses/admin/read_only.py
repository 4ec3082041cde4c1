"""Rows the admin shows but never adds, changes or deletes (predictions, findings, reviews,
threshold sets, audit events): another part of the product writes them, or nobody may."""


class ReadOnly:
    """For a ModelAdmin or an inline: nobody, superusers included, adds, changes or deletes here;
    the view permission alone decides who reads."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
