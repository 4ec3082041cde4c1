"""A DICOM study's deliveries to the PACS on its admin page, and the action that sends the
results again (audited, channel "admin")."""

from django.contrib import admin, messages

from diagnoses.admin.read_only import ReadOnly
from diagnoses.dicom.delivery import dicom_delivery_resend
from diagnoses.models import DicomDelivery


class DicomDeliveryInline(ReadOnly, admin.TabularInline):
    model = DicomDelivery
    fields = ("protocol", "destination", "status", "attempts", "last_error", "delivered_at")
    readonly_fields = fields
    extra = 0

    def has_view_permission(self, request, obj=None):
        """Whoever may see the study, on a study received as DICOM (the others have none)."""
        if obj is not None and obj.source != obj.Source.DICOM:
            return False
        return request.user.has_perm("diagnoses.view_study")


@admin.action(description="Send the DICOM results again (to every destination)",
              permissions=["rerun"])
def resend_dicom_results(modeladmin, request, queryset):
    sent = 0
    for delivery in DicomDelivery.objects.filter(study__in=queryset):
        dicom_delivery_resend(delivery=delivery, user=request.user, channel="admin")
        sent += 1
    modeladmin.message_user(request, f"{sent} DICOM deliveries started again.",
                            messages.SUCCESS if sent else messages.WARNING)
