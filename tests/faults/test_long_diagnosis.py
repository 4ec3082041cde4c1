"""A diagnosis that waits on a slow model server for longer than the heartbeat deadline keeps its
study: its worker's heartbeat says it is still at it, so the sweeper never takes it back."""

import sqlite3
import threading
import time
from contextlib import closing
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.faults.conftest import FaultStack, distinct_xrays, redeliveries, sweeps

pytestmark = pytest.mark.system
STUDIES = 2
DELAY_S = 6  # each inference: twice the heartbeat deadline below
QUICK_RECOVERY = {
    "CHEXWEB_STUDY_HEARTBEAT_S": "1",
    "CHEXWEB_STUCK_PROCESSING_S": "3",
    "CHEXWEB_STUCK_SWEEP_INTERVAL_S": "1",
}


class SlowModelServer(ThreadingHTTPServer):
    """Passes every request on to the real model server at `target`, each POST after DELAY_S."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SlowModelHandler)
        self.target = ""
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class SlowModelHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # /control/is_ready, asked until the model server is up
        try:
            self._pass_on(requests.get(self.server.target + self.path, timeout=30))
        except requests.ConnectionError:
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(DELAY_S)
        self._pass_on(requests.post(self.server.target + self.path, data=body, timeout=30,
                                    headers={"Content-Type": self.headers["Content-Type"]}))

    def _pass_on(self, answer: requests.Response) -> None:
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection",
                                    "content-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_stack(tmp_path, migrated_database, chexnet_onnx):
    slow = SlowModelServer()
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    stack = FaultStack(tmp_path, migrated_database, chexnet_onnx, graphpipe_url=slow.url,
                       settings=QUICK_RECOVERY)
    slow.target = f"http://{stack.model_listen}"
    try:
        for name in ("redis", "model", "worker", "beat", "web"):
            stack.start(name)
        yield stack
    finally:
        stack.stop_all()
        slow.shutdown()
        slow.server_close()


def test_a_diagnosis_longer_than_the_heartbeat_deadline_is_left_to_its_worker(slow_stack):
    ids = slow_stack.upload(distinct_xrays(STUDIES))

    slow_stack.wait_finished(ids, timeout=120)

    slow_stack.assert_all_done_once(ids, STUDIES)
    with closing(sqlite3.connect(slow_stack.database, timeout=30)) as db:
        spans = db.execute("SELECT started_at, finished_at FROM diagnoses_study").fetchall()
    took = [(datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
            for started, finished in spans]
    assert min(took) > 3 + 1  # each outlasted the deadline and a sweep
    worker_log = slow_stack.log("worker")
    assert sweeps(worker_log)["requeued"] == 0 and "no heartbeat" not in worker_log
    assert redeliveries(worker_log) == 0
    print(f"\nFIGURES long-diagnosis studies={STUDIES} each_s={[round(s, 1) for s in took]} "
          f"heartbeat_deadline_s=3 requeued=0")
