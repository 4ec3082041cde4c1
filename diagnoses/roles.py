"""The three roles, as Django groups, and the permissions each one holds."""

CLINICIAN = "clinician"
REVIEWER = "reviewer"
ADMIN = "admin"

_CLINICIAN_PERMISSIONS = {
    "view_study", "add_study", "rerun_study", "export_study",
    "view_prediction", "view_finding", "view_modelversion", "view_thresholdset",
    "view_review", "view_findingverdict",
}
_REVIEWER_PERMISSIONS = _CLINICIAN_PERMISSIONS | {
    "review_study", "add_review", "change_review", "add_findingverdict", "change_findingverdict",
}
_ADMIN_PERMISSIONS = _REVIEWER_PERMISSIONS | {
    "change_study", "delete_study", "add_modelversion", "change_modelversion",
    "add_thresholdset", "view_auditevent",
}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    CLINICIAN: _CLINICIAN_PERMISSIONS,
    REVIEWER: _REVIEWER_PERMISSIONS,
    ADMIN: _ADMIN_PERMISSIONS,
}
