"""Writes: a large file sent in pieces, so that a dropped connection costs one piece, not the file.

The page's script begins an upload (its name and size), appends pieces of at most
CHUNK_MAX_BYTES at the offset the server has (asking for it again after a failure), then
finishes it with the form's fields: the assembled file goes through services.study_create like
any other upload. The pieces lie beside the studies (the default storage's folder, under
incoming/<user id>/), readable only through their owner's requests; an upload is discarded once
finished or refused, and one abandoned half-way after a day (celery beat, hourly)."""

import json
import re
import time
import uuid
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage

from diagnoses.services import upload_size_limit

CHUNK_MAX_BYTES = 4 * 2**20
ABANDONED_AFTER_S = 24 * 3600  # an upload nobody added a piece to for this long is deleted
UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


class UploadNotFound(Exception):
    """No such upload of this user's."""


class WrongOffset(Exception):
    """A piece sent for another offset than the one the server has."""

    def __init__(self, offset: int):
        super().__init__(f"the server has {offset} bytes of this upload")
        self.offset = offset


def _folder(user) -> Path:
    return Path(default_storage.path("incoming")) / str(user.pk)


def _paths(user, upload_id: str) -> tuple[Path, Path]:
    if not UPLOAD_ID.match(upload_id or ""):
        raise UploadNotFound(upload_id)
    folder = _folder(user)
    part, facts = folder / f"{upload_id}.part", folder / f"{upload_id}.json"
    if not (part.is_file() and facts.is_file()):
        raise UploadNotFound(upload_id)
    return part, facts


def _facts(facts: Path) -> dict:
    return json.loads(facts.read_text())


def chunked_upload_begin(*, user, filename: str, size: int) -> str:
    from django.conf import settings

    if not isinstance(size, int) or size <= 0:
        raise ValidationError("The file is empty.", code="empty")
    if size > settings.STUDY_MAX_UPLOAD_BYTES:
        raise ValidationError(f"The file is larger than the limit of {upload_size_limit()}.",
                              code="too_large")
    upload_id = uuid.uuid4().hex
    folder = _folder(user)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{upload_id}.part").write_bytes(b"")
    (folder / f"{upload_id}.json").write_text(json.dumps(
        {"filename": str(filename)[:255], "size": size}))
    return upload_id


def chunked_upload_offset(*, user, upload_id: str) -> int:
    part, _ = _paths(user, upload_id)
    return part.stat().st_size


def chunked_upload_append(*, user, upload_id: str, offset: int, stream, length: int) -> int:
    """Append `length` bytes read from `stream` at `offset`; returns the new offset. The piece
    must start where the server's copy ends (WrongOffset names that) and stay within the size
    announced."""
    part, facts = _paths(user, upload_id)
    have = part.stat().st_size
    if offset != have:
        raise WrongOffset(have)
    if not 0 < length <= CHUNK_MAX_BYTES:
        raise ValidationError(f"A piece is 1 byte to {CHUNK_MAX_BYTES // 2**20} MiB.",
                              code="invalid")
    if have + length > _facts(facts)["size"]:
        raise ValidationError("The pieces are larger than the file announced.", code="invalid")
    data = stream.read(length)
    if len(data) != length:
        raise ValidationError("The piece arrived incomplete; send it again.", code="invalid")
    with part.open("ab") as out:
        out.write(data)
    return have + length


def chunked_upload_file(*, user, upload_id: str) -> File:
    """The assembled file, complete, opened; the caller closes it and discards the upload."""
    part, facts = _paths(user, upload_id)
    announced = _facts(facts)
    if part.stat().st_size != announced["size"]:
        raise ValidationError(f"The upload is incomplete: {part.stat().st_size} of "
                              f"{announced['size']} bytes.", code="incomplete")
    return File(part.open("rb"), name=announced["filename"])


def chunked_uploads_expire(*, older_than_s: float = ABANDONED_AFTER_S,
                           now: float | None = None) -> int:
    """Delete the pieces of uploads nobody added to for `older_than_s`: abandoned half-way.
    Returns how many uploads went."""
    incoming = Path(default_storage.path("incoming"))
    deadline = (time.time() if now is None else now) - older_than_s
    expired = 0
    for facts in incoming.glob("*/*.json"):
        part = facts.with_suffix(".part")
        try:
            last = max(facts.stat().st_mtime, part.stat().st_mtime if part.exists() else 0)
        except FileNotFoundError:
            continue  # finished meanwhile
        if last < deadline:
            part.unlink(missing_ok=True)
            facts.unlink(missing_ok=True)
            expired += 1
    return expired


def chunked_upload_discard(*, user, upload_id: str) -> None:
    try:
        part, facts = _paths(user, upload_id)
    except UploadNotFound:
        return
    part.unlink(missing_ok=True)
    facts.unlink(missing_ok=True)
