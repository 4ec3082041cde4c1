"""The Django admin as a review station for admins and lead reviewers.

Who reaches it: staff, i.e. the admin and reviewer groups (`manage.py assign_role USER ROLE`);
clinicians are not staff and are sent to the admin login. Inside, the groups' permissions decide:

- reviewer: studies, predictions, reviews, model versions and threshold sets to read; the
  actions re-run, mark reviewed and export CSV. No audit log, no model-version registration,
  activation or threshold edits, no changes to studies.
- admin: all of that, plus the audit log (read-only), registering and activating model versions,
  new threshold sets, and correcting or deleting studies.

Every view, change, re-run, review, export and deletion of a study here is audited (channel
"admin"); nobody, superusers included, can add, change or delete audit events.
"""

from django.contrib import admin

from diagnoses.admin import audit_log, model_versions, predictions, studies  # noqa: F401

admin.site.site_header = "ChexWeb review station"
admin.site.site_title = "ChexWeb admin"
admin.site.index_title = "Studies, model versions and the audit log"
