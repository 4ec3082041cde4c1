"""The DICOM listener (a pynetdicom SCP): C-ECHO, and C-STORE of chest radiographs into studies.

Only the peers' AE titles may associate, and only when they call our AE title. Presentation
contexts are offered for Verification and for ACCEPTED_SOP_CLASSES in ACCEPTED_TRANSFER_SYNTAXES:
any other SOP class (a CT image, a report) has no context and cannot be sent. Each instance is
received into a temporary file (never held whole in memory), checked against the upload limit, and
handed to dicom_instance_receive, the intake every channel shares. Success (0x0000) is answered only
after the study row is committed; a refusal gets a failure status with the reason in Error Comment
(no patient data); a fault of ours gets Out of Resources (0xA700), which tells the sender to try
again later. An association is handled in a thread of its own.

The temporary files instances arrive into are in a folder of the listener's own (one per listening
port), emptied when it starts: a listener killed mid-transfer leaves a partly received instance
there (patient data that no association comes back for), which must not outlive it.
"""

import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connection
from pydicom.dataset import Dataset
from pynetdicom import AE, _config, evt
from pynetdicom.sop_class import Verification

from diagnoses.dicom.intake import (
    CANNOT_UNDERSTAND,
    OUT_OF_RESOURCES,
    REFUSAL_STATUS,
    InstanceRefused,
    dicom_instance_receive,
)
from inference.imaging.dicom import ACCEPTED_SOP_CLASSES, ACCEPTED_TRANSFER_SYNTAXES

logger = logging.getLogger(__name__)

SUCCESS = 0x0000
ERROR_COMMENT_MAX_CHARS = 64  # Error Comment (0000,0902) is an LO


def listener_ae(*, ae_title: str, peers: Iterable[str]) -> AE:
    """The application entity that takes our associations; peers: the calling AE titles allowed
    (must not be empty: pynetdicom takes an empty list as "anyone")."""
    peers = list(peers)
    if not peers:
        raise ValueError("no peers: every association would be accepted")
    _config.STORE_RECV_CHUNKED_DATASET = True  # an instance goes to a file, not to memory
    ae = AE(ae_title=ae_title)
    ae.require_calling_aet = peers
    ae.require_called_aet = True
    ae.acse_timeout = 30
    ae.dimse_timeout = 60
    ae.network_timeout = 60
    ae.add_supported_context(Verification)
    for sop_class in ACCEPTED_SOP_CLASSES:
        ae.add_supported_context(sop_class, list(ACCEPTED_TRANSFER_SYNTAXES))
    return ae


def incoming_folder_take(folder: Path) -> None:
    """Receive instances into FOLDER (this process's temporary files, pynetdicom's among them),
    removing what a listener before this one left there."""
    folder.mkdir(parents=True, exist_ok=True)
    leftovers = [path for path in folder.iterdir() if path.is_file()]
    for path in leftovers:
        path.unlink(missing_ok=True)
    if leftovers:
        logger.warning("%d partly received instances left by a listener that stopped were "
                       "removed", len(leftovers))
    tempfile.tempdir = str(folder)


def listener_handlers() -> list:
    return [(evt.EVT_C_ECHO, _echo), (evt.EVT_C_STORE, handle_store)]


def _echo(event) -> int:
    return SUCCESS


def handle_store(event):
    """One C-STORE: the study committed, then Success; else a failure status with a reason."""
    calling_ae_title = str(event.assoc.requestor.ae_title).strip()
    close_old_connections()
    try:
        content = _received(event)
        received = dicom_instance_receive(content=content, calling_ae_title=calling_ae_title)
    except InstanceRefused as refused:
        logger.warning("C-STORE from %s refused: %s", calling_ae_title, refused)
        return _failure(REFUSAL_STATUS.get(refused.code, CANNOT_UNDERSTAND), str(refused))
    except Exception as error:  # our fault (database, disk): nothing acknowledged, try again
        logger.exception("C-STORE from %s failed (%s)", calling_ae_title, type(error).__name__)
        return _failure(OUT_OF_RESOURCES, f"not stored, try again later ({type(error).__name__})")
    finally:
        connection.close()
    logger.info("C-STORE from %s: study %s%s", calling_ae_title, received.study.pk,
                " (sent before)" if received.replayed else "")
    return SUCCESS


def _received(event) -> bytes:
    path = event.dataset_path
    size = path.stat().st_size
    limit = settings.STUDY_MAX_UPLOAD_BYTES
    if size > limit:
        raise InstanceRefused(f"{size / 1e6:.1f} MB is over the limit of {limit / 1e6:.0f} MB",
                              code="too_large")
    return path.read_bytes()


def _failure(status: int, comment: str) -> Dataset:
    answer = Dataset()
    answer.Status = status
    # LO: no backslash, no control characters, at most 64 characters
    answer.ErrorComment = "".join(c if c.isprintable() and c != "\\" else " "
                                  for c in comment)[:ERROR_COMMENT_MAX_CHARS]
    return answer
