"""Submitting studies: one or several files, from the form or from the page's script.

Each file is answered on its own: a good one is stored and listed, a refused one named with its
reason, whatever the others are."""

import json

from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from django.views.decorators.http import require_http_methods, require_POST

from diagnoses import chunked_uploads, services
from diagnoses.audit import audit_record
from diagnoses.forms import StudyUploadForm
from diagnoses.web import status
from diagnoses.web.access import requires


@requires("add_study")
@require_http_methods(["GET", "POST"])
def study_upload(request):
    form = StudyUploadForm(request.POST or None, request.FILES or None)
    wants_json = "application/json" in request.headers.get("Accept", "")
    if request.method == "GET":
        return render(request, "diagnoses/upload.html", {"form": form, **_page_facts()})
    return _submit(request, form, wants_json)


def _submit(request, form, wants_json):
    if not form.is_valid():
        return _refused(request, form, wants_json)
    created, duplicates = [], []
    for image_file in form.cleaned_data["image"]:
        try:
            study = services.study_create(
                uploaded_by=request.user,
                image_file=image_file,
                patient_id=form.cleaned_data["patient_id"],
                accession_number=form.cleaned_data["accession_number"],
                notes=form.cleaned_data["notes"],
                tencrop=form.cleaned_data["tencrop"],
                view_position=form.cleaned_data["view_position"],
                patient_age_years=form.cleaned_data["patient_age_years"],
                refuse_duplicates=True,
                confirm_patient_mismatch=form.cleaned_data["confirm_patient_mismatch"],
            )
        except services.DuplicateStudy as duplicate:
            duplicates.append(duplicate.study)
        except ValidationError as error:
            field = "patient_id" if error.code == services.PATIENT_MISMATCH else "image"
            form.add_error(field, f"{image_file.name}: {' '.join(error.messages)}")
        else:
            audit_record(user=request.user, action="create", study=study)
            created.append(study)
    if wants_json:
        return _json_answer(form, created, duplicates)
    if form.errors or duplicates:
        return render(request, "diagnoses/upload.html",
                      {"form": form, "created": created, "duplicates": duplicates,
                       **_page_facts()},
                      status=400 if form.errors else 200)
    if len(created) == 1:
        return redirect("study-detail", study_id=created[0].pk)
    return redirect("study-history")


def _page_facts() -> dict:
    return {"size_limit": services.upload_size_limit(),
            "chunk_bytes": chunked_uploads.CHUNK_MAX_BYTES,
            "statuses_max": status.MAX_STUDIES}


# A large file in pieces (diagnoses/chunked_uploads.py): begin, append pieces, finish.

def _json_error(message: str, status: int, **extra) -> JsonResponse:
    return JsonResponse({"error": {"message": message, **extra}}, status=status)


@requires("add_study")
@require_POST
def chunked_upload_begin(request):
    try:
        facts = json.loads(request.body or b"{}")
        upload_id = chunked_uploads.chunked_upload_begin(
            user=request.user, filename=str(facts.get("filename", "")),
            size=facts.get("size"))
    except (ValueError, AttributeError):
        return _json_error("Send the file's name and size as JSON.", 400)
    except ValidationError as error:
        return _json_error(" ".join(error.messages), 400)
    return JsonResponse({
        "id": upload_id, "offset": 0, "chunk_bytes": chunked_uploads.CHUNK_MAX_BYTES,
        "url": reverse("study-upload-piece", args=[upload_id]),
        "finish_url": reverse("study-upload-finish", args=[upload_id]),
    }, status=201)


@requires("add_study")
@require_http_methods(["GET", "POST"])
def chunked_upload_piece(request, upload_id):
    """GET: how many bytes the server has. POST: a piece (the raw body) at `Upload-Offset`."""
    try:
        if request.method == "GET":
            offset = chunked_uploads.chunked_upload_offset(user=request.user,
                                                           upload_id=upload_id)
        else:
            offset = chunked_uploads.chunked_upload_append(
                user=request.user, upload_id=upload_id,
                offset=int(request.headers.get("Upload-Offset", "-1")),
                stream=request, length=int(request.META.get("CONTENT_LENGTH") or 0))
    except chunked_uploads.UploadNotFound:
        raise Http404("No such upload") from None
    except chunked_uploads.WrongOffset as wrong:
        return _json_error(str(wrong), 409, offset=wrong.offset)
    except ValueError:
        return _json_error("Upload-Offset and Content-Length must be numbers.", 400)
    except ValidationError as error:
        return _json_error(" ".join(error.messages), 400)
    return JsonResponse({"offset": offset})


@requires("add_study")
@require_POST
def chunked_upload_finish(request, upload_id):
    """The assembled file with the form's fields, answered as the one-request upload is."""
    try:
        image_file = chunked_uploads.chunked_upload_file(user=request.user, upload_id=upload_id)
    except chunked_uploads.UploadNotFound:
        raise Http404("No such upload") from None
    except ValidationError as error:
        return _json_error(" ".join(error.messages), 400)
    try:
        form = StudyUploadForm(request.POST, MultiValueDict({"image": [image_file]}))
        return _submit(request, form, wants_json=True)
    finally:
        image_file.close()
        chunked_uploads.chunked_upload_discard(user=request.user, upload_id=upload_id)


def _refused(request, form, wants_json):
    if wants_json:
        return JsonResponse({"error": {"message": _first_error(form),
                                       "fields": form.errors.get_json_data()}}, status=400)
    return render(request, "diagnoses/upload.html", {"form": form, **_page_facts()}, status=400)


def _json_answer(form, created, duplicates) -> JsonResponse:
    if form.errors:
        return JsonResponse({"error": {"message": _first_error(form),
                                       "fields": form.errors.get_json_data()},
                             "stored": [_stored(study) for study in created]}, status=400)
    if duplicates:
        study = duplicates[0]
        return JsonResponse({
            "duplicate": True,
            "message": "This image was already uploaded.",
            "id": str(study.pk),
            "url": reverse("study-detail", args=[study.pk]),
            "status_url": reverse("study-status", args=[study.pk]),
            "rerun_url": reverse("study-rerun", args=[study.pk]),
            "status": study.status,
        })
    study = created[0]
    return JsonResponse({
        "duplicate": False,
        "id": str(study.pk),
        "url": reverse("study-detail", args=[study.pk]),
        "status_url": reverse("study-status", args=[study.pk]),
        "status": study.status,
    }, status=201)


def _stored(study) -> dict:
    return {"id": str(study.pk), "file": study.original_filename,
            "url": reverse("study-detail", args=[study.pk]), "status": study.status}


def _first_error(form) -> str:
    for errors in form.errors.values():
        return " ".join(errors)
    return "The upload was refused."
