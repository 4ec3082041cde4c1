import pytest

from tests.conftest import start_model_server
from tests.dicom.node import STORESCU_AE_TITLE, Node
from tests.dicom.orthanc import orthanc_start
from tests.processes import Process, free_port, procfile_command, run_checked


@pytest.fixture(autouse=True)
def private_storage(study_storage):
    """Each test's studies in a folder of its own."""


@pytest.fixture(scope="module")
def node(tmp_path_factory, chexnet_onnx, redis_url):
    """ChexWeb's listener, worker and model server on a database of their own, Orthanc as its
    PACS; their temporary files in a folder of their own (`node.temp_dir`)."""
    var_dir = tmp_path_factory.mktemp("var")
    temp_dir = tmp_path_factory.mktemp("tmp")
    listen_port = free_port()
    orthanc = orthanc_start(tmp_path_factory.mktemp("orthanc"), chexweb_port=listen_port)
    model, graphpipe_url = start_model_server(chexnet_onnx)
    env = {
        "CHEXWEB_VAR_DIR": str(var_dir), "DATABASE_URL": "", "REDIS_URL": redis_url,
        "TMPDIR": str(temp_dir),
        "GRAPHPIPE_URL": graphpipe_url, "CHEXWEB_DIAGNOSIS_MAX_RETRIES": "3",
        "CHEXWEB_DICOM_LISTEN": f"127.0.0.1:{listen_port}",
        "CHEXWEB_DICOM_PEERS": f"{orthanc.peer},{STORESCU_AE_TITLE}@127.0.0.1:104,"
                               f"DOWN@127.0.0.1:{free_port()}",
        "CHEXWEB_DICOM_SEND_TO": "ORTHANC,DOWN",
        "CHEXWEB_DICOMWEB_SEND_TO": orthanc.dicomweb_url,
        "CHEXWEB_DICOM_SEND_MAX_ATTEMPTS": "2", "CHEXWEB_DICOM_SEND_BACKOFF_S": "1",
    }
    run_checked(["python", "manage.py", "migrate", "--noinput"], env=env)
    processes = {
        "model": model,
        "worker": Process("worker", procfile_command("worker"), env=env),
    }
    node = Node(env, var_dir, temp_dir, listen_port, orthanc, processes)
    node.listener_start()
    yield node
    for process in [*node.processes.values(), orthanc.process]:
        process.stop()
