"""STOW-RS (DICOMweb store, PS3.18 10.5): a multipart/related body of application/dicom parts,
each taken by dicom_instance_receive (the intake C-STORE uses), and the standard answer: a DICOM
JSON data set with ReferencedSOPSequence for what was stored and FailedSOPSequence, with a
Failure Reason, for what was not. The body is read up to a limit before anything is parsed."""

import email.parser
import email.policy
import io
import re
from dataclasses import dataclass

import pydicom
from pydicom.dataset import Dataset

from diagnoses.dicom.intake import (
    CANNOT_UNDERSTAND,
    OUT_OF_RESOURCES,
    REFUSAL_STATUS,
    InstanceRefused,
    dicom_instance_receive,
)

DICOM_PART = "application/dicom"
_MULTIPART = re.compile(r'\s*multipart/related\s*;(.*)', re.IGNORECASE | re.DOTALL)


class StowRefused(Exception):
    """The request as a whole is not a STOW-RS request we take: `status` (HTTP) says how."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class StowOutcome:
    response: Dataset
    stored: int
    failed: int

    @property
    def http_status(self) -> int:
        """200 all stored, 202 some, 409 none (PS3.18 10.5.3)."""
        if not self.failed:
            return 200
        return 202 if self.stored else 409


def stow_parts(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """The parts of a multipart/related body: (content type, bytes) each."""
    match = _MULTIPART.fullmatch(content_type or "")
    if not match:
        raise StowRefused("The body must be multipart/related; type=\"application/dicom\".",
                          status=415)
    if 'type="application/dicom"' not in match.group(1).replace("'", '"').lower() and \
            "type=application/dicom" not in match.group(1).lower():
        raise StowRefused("Only multipart/related; type=\"application/dicom\" is taken (no "
                          "DICOM JSON or XML with bulk data).", status=415)
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise StowRefused("The multipart body could not be read (boundary?).", status=400)
    parts = [(part.get_content_type(), part.get_payload(decode=True) or b"")
             for part in message.iter_parts()]
    if not parts:
        raise StowRefused("The body holds no part.", status=400)
    return parts


def stow_store(*, parts: list[tuple[str, bytes]], user) -> StowOutcome:
    referenced, failed = [], []
    for content_type, content in parts:
        if content_type != DICOM_PART:
            failed.append(_failed(content, CANNOT_UNDERSTAND))
            continue
        try:
            received = dicom_instance_receive(content=content, received_by=user)
        except InstanceRefused as refused:
            failed.append(_failed(content, REFUSAL_STATUS.get(refused.code, CANNOT_UNDERSTAND)))
            continue
        except Exception:  # our fault: the client may try again
            failed.append(_failed(content, OUT_OF_RESOURCES))
            continue
        item = Dataset()
        item.ReferencedSOPClassUID = _uids(content)[0] or "1.2.840.10008.5.1.4.1.1.1"
        item.ReferencedSOPInstanceUID = received.study.sop_instance_uid
        referenced.append(item)
    response = Dataset()
    if referenced:
        response.ReferencedSOPSequence = referenced
    if failed:
        response.FailedSOPSequence = failed
    return StowOutcome(response, stored=len(referenced), failed=len(failed))


def _failed(content: bytes, reason: int) -> Dataset:
    item = Dataset()
    sop_class, sop_instance = _uids(content)
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_instance
    item.FailureReason = reason
    return item


def _uids(content: bytes) -> tuple[str, str]:
    """The SOP Class and Instance UIDs if the header gives them (valid UIDs only), else ""."""
    try:
        header = pydicom.dcmread(io.BytesIO(content), force=True, stop_before_pixels=True,
                                 specific_tags=["SOPClassUID", "SOPInstanceUID"])
        values = (str(header.get("SOPClassUID", "")), str(header.get("SOPInstanceUID", "")))
    except Exception:
        return "", ""
    return tuple(value if re.fullmatch(r"[0-9.]{1,64}", value) else "" for value in values)
