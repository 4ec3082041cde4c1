"""The audit log in the admin: read-only for everyone, superusers included; the admin group's
view permission shows it (reviewers do not see it)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from diagnoses.admin.read_only import ReadOnly
from diagnoses.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("at", "user", "action", "channel", "study_link", "detail")
    list_select_related = ("user",)
    list_filter = ("action", "channel", "at")
    date_hierarchy = "at"
    search_fields = ("user__username", "=study__id", "detail")
    search_help_text = "User name, a study's full id, or words of the detail."
    fields = ("at", "user", "action", "channel", "study_link", "detail")
    readonly_fields = fields
    list_per_page = 100

    @admin.display(description="study", ordering="study_id")
    def study_link(self, event):
        if event.study_id is None:
            return "—"
        return format_html('<a href="{}">{}</a>',
                           reverse("admin:diagnoses_study_change", args=[event.study_id]),
                           event.study_id)
