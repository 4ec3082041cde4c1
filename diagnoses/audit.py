"""The audit log: who viewed, downloaded, changed, re-ran, reviewed or exported which study, when,
and through which channel (web pages, the API, the admin). Append-only: nothing here edits or
deletes an event."""

from diagnoses.models import AuditEvent

DETAIL_MAX_LENGTH = AuditEvent._meta.get_field("detail").max_length


def audit_record(*, user, action, study=None, channel="web", detail="") -> AuditEvent:
    """Record one event. `study` is a Study or a study's id (None for events about no one study,
    such as an export of the history); an anonymous user is recorded as None."""
    if action not in AuditEvent.Action.values:
        raise ValueError(f"unknown audit action {action!r}")
    if channel not in AuditEvent.Channel.values:
        raise ValueError(f"unknown audit channel {channel!r}")
    return AuditEvent.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        action=action,
        channel=channel,
        study_id=getattr(study, "pk", study),
        detail=detail[:DETAIL_MAX_LENGTH],
    )

