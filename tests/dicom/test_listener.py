"""The listener's application entity: who may associate and what it takes (the network side is
tests/dicom/test_pacs.py)."""

import tempfile
from pathlib import Path

import pytest

from diagnoses.dicom.listener import _failure, incoming_folder_take, listener_ae
from inference.imaging.dicom import ACCEPTED_SOP_CLASSES, ACCEPTED_TRANSFER_SYNTAXES

VERIFICATION = "1.2.840.10008.1.1"


def test_it_takes_only_chest_radiographs_and_echo_from_its_peers():
    ae = listener_ae(ae_title="CHEXWEB", peers=["ORTHANC", "ROUTER"])
    offered = {context.abstract_syntax: context.transfer_syntax
               for context in ae.supported_contexts}
    assert set(offered) == {VERIFICATION, *ACCEPTED_SOP_CLASSES}
    for sop_class in ACCEPTED_SOP_CLASSES:
        assert set(offered[sop_class]) == set(ACCEPTED_TRANSFER_SYNTAXES)
    assert ae.require_calling_aet == ["ORTHANC", "ROUTER"] and ae.require_called_aet


def test_without_peers_it_would_take_anyone_so_it_refuses_to_be_made():
    with pytest.raises(ValueError):
        listener_ae(ae_title="CHEXWEB", peers=[])


def test_a_failure_comment_is_one_short_line_of_text():
    answer = _failure(0xC000, "line one\nwith \\ a backslash " + "x" * 100)
    assert answer.Status == 0xC000
    assert len(answer.ErrorComment) == 64 and "\n" not in answer.ErrorComment
    assert "\\" not in answer.ErrorComment


def test_it_receives_into_a_folder_of_its_own_emptied_of_what_a_killed_listener_left(
        tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)  # restored after the test
    folder = tmp_path / "dicom-incoming" / "11112"
    folder.mkdir(parents=True)
    (folder / "tmpleft.dcm").write_bytes(b"\0" * 128 + b"DICM partly received")
    incoming_folder_take(folder)
    assert list(folder.iterdir()) == []
    with tempfile.NamedTemporaryFile(suffix=".dcm") as arriving:  # as pynetdicom makes them
        assert Path(arriving.name).parent == folder
