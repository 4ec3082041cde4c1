"""Studies as people read them in a terminal (--json prints the API's own JSON instead)."""

import json


def as_json(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True)


def study_line(study: dict) -> str:
    flagged = ", ".join(study.get("flagged") or []) or "-"
    return (f"{study['id']}  {study['status']:<10} {study.get('patient_id') or '-':<16} "
            f"{study.get('accession_number') or '-':<16} {flagged}")


def study_table(studies: list[dict]) -> str:
    header = f"{'study':<36}  {'status':<10} {'patient':<16} {'accession':<16} flagged"
    return "\n".join([header, *(study_line(study) for study in studies)])


def study_detail(study: dict) -> str:
    lines = [
        f"Study      {study['id']}",
        f"Status     {study['status']}" + (f": {study['failure_reason']}"
                                            if study.get("failure_reason") else ""),
        f"Patient    {study.get('patient_id') or '-'}",
        f"Accession  {study.get('accession_number') or '-'}",
        f"Uploaded   {study['created_at']}",
    ]
    lines += [f"Warning    {warning}" for warning in study.get("image_warnings") or []]
    predictions = study.get("predictions") or []
    if not predictions:
        return "\n".join(lines)
    latest = predictions[0]
    model = latest["model_version"]
    lines.append(f"Model      {model['name']} ({model['short_identity']})")
    if model.get("warning"):
        lines.append(f"!!         {model['warning']}")
    lines.append("")
    lines.append(f"{'finding':<20} {'probability':>11} {'threshold':>9}  flagged")
    for finding in latest["findings"]:
        lines.append(f"{finding['name']:<20} {finding['probability']:>11.3f} "
                     f"{finding['threshold']:>9.2f}  {'yes' if finding['flagged'] else ''}")
    for review in latest.get("reviews") or []:
        state = "signed off" if review["signed_off_at"] else "draft"
        lines.append(f"Review by {review['reviewer']} ({state}): {review['note'] or '-'}")
    return "\n".join(lines)


def models_table(models: list[dict]) -> str:
    lines = [f"{'id':>4}  {'active':<6} {'verified':<8} {'identity':<12}  name"]
    for model in models:
        lines.append(f"{model['id']:>4}  {'yes' if model['is_active'] else '':<6} "
                     f"{'yes' if model['weights_verified'] else 'NO':<8} "
                     f"{model['short_identity']:<12}  {model['name']}")
    return "\n".join(lines)
