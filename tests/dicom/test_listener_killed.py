"""The listener killed (SIGKILL) while an instance is arriving: the sender is not told Success,
nothing of the instance is kept (no study, no stored file, no partly received file), and once the
listener is started again the same instance, sent again, becomes one study that is diagnosed.

The instance (1 MB, uncompressed) comes over a slow link (tests/slow_link.py) and takes about 4 s
to arrive; the listener is killed once part of it is on its disk, so the kill always falls in the
middle of the transfer."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.dicom.dicom_files import file_bytes, radiograph, uncompressed
from tests.dicom.node import storescu
from tests.processes import wait_until
from tests.slow_link import ThrottlingProxy

pytestmark = pytest.mark.system
RATE_BYTES_PER_S = 256 * 1024


def files_holding(sop_instance_uid: str, *folders: Path) -> list[Path]:
    """The files under FOLDERS (the database's aside) whose bytes name the instance."""
    uid = sop_instance_uid.encode()
    return [path for folder in folders for path in folder.rglob("*")
            if ".sqlite3" not in path.name and uid in _content(path)]


def _content(path: Path) -> bytes:
    try:
        return path.read_bytes() if path.is_file() else b""
    except FileNotFoundError:  # a temporary file of another process, gone meanwhile
        return b""


def test_a_listener_killed_mid_store_keeps_nothing_and_takes_the_instance_again(node, tmp_path):
    source = uncompressed(radiograph())
    path = tmp_path / "cr.dcm"
    path.write_bytes(file_bytes(source))
    uid = source.SOPInstanceUID
    seconds_to_arrive = path.stat().st_size / RATE_BYTES_PER_S
    assert seconds_to_arrive > 3
    studies, stored = node.study_count(), node.stored_files()
    slow_link = ThrottlingProxy(("127.0.0.1", node.port), RATE_BYTES_PER_S)
    try:
        with ThreadPoolExecutor(1) as pool:
            sending = pool.submit(storescu, slow_link.port, path)
            wait_until(lambda: files_holding(uid, node.var_dir, node.temp_dir), timeout=30,
                       what="the instance arriving")
            assert not sending.done()
            node.listener_kill()
            sent = sending.result()
    finally:
        slow_link.close()

    output = sent.stdout + sent.stderr
    assert sent.returncode != 0, output
    assert "Store Failed" in output and "(Success)" not in output
    assert (node.study(uid), node.study_count(), node.stored_files()) == (None, studies, stored)

    node.listener_start()  # as the supervisor does
    assert files_holding(uid, node.var_dir, node.temp_dir) == []
    again = storescu(node.port, path)
    assert again.returncode == 0, again.stdout + again.stderr
    study = node.wait_done(uid)
    assert study["status"] == "done", study["failure_reason"]
    assert node.rows("SELECT COUNT(*) FROM diagnoses_study WHERE sop_instance_uid = ?",
                     uid) == [(1,)]
    assert node.rows("SELECT COUNT(*) FROM diagnoses_prediction WHERE study_id = ?",
                     study["id"]) == [(1,)]
