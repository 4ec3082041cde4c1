"""Benchmark (not a test): 100 chest radiographs sent by dcmtk's storescu over ONE association to
the DICOM listener, each diagnosed and its SR and key image sent back to a real Orthanc; all
accounted for, and the time from each instance's acceptance to its SR stored in Orthanc.

    .venv/bin/python -m bench.dicom_intake [--images 100] [--onnx PATH] [--json PATH]

Starts what `make run` starts, with the Procfile's commands (tests/processes): a redis-server of
its own, the GraphPipe model server, one Celery worker, the DICOM listener; and Debian's Orthanc
(tests/dicom/orthanc.py) as the PACS that gets the results (CHEXWEB_DICOM_SEND_TO, C-STORE).
The images: the shared sample as CR instances, each with a few pixels changed (the model server's
response cache must not answer), uncompressed (1 MB each), new UIDs, one study each.

Per image: accepted = the study row's `created_at` (the listener commits it, then answers the
C-STORE); SR in Orthanc = the C-STORE delivery's `delivered_at` (Orthanc answered Success for the SR
and the key image). All 100 are sent in a burst, so an image's time includes waiting behind the
ones before it: p50 and p95 of that, the storescu time for the 100, and the wall time from the
first byte sent to the last SR stored.
"""

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import redis
import requests

REPO = Path(__file__).resolve().parents[1]

from tests.dicom.dicom_files import file_bytes, radiograph
from tests.dicom.orthanc import orthanc_start
from tests.processes import Process, free_port, procfile_command, run_checked, wait_until

STORESCU, ECHOSCU = "/usr/bin/storescu", "/usr/bin/echoscu"


def default_onnx() -> Path | None:
    found = sorted((REPO / "build" / "test-models").glob("*.onnx")) + sorted(
        (REPO / "models").glob("*.onnx"))
    return found[0] if found else None


def images(directory: Path, count: int) -> list[tuple[Path, str]]:
    made = []
    for number in range(count):
        dataset = radiograph(patient_id=f"BENCH-{number:03d}", accession_number=f"B{number:05d}")
        pixels = dataset.pixel_array.copy()
        pixels[number // 32, number % 32] ^= 0xFF  # a distinct image for each
        dataset.PixelData = np.ascontiguousarray(pixels).tobytes()
        dataset.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
        path = directory / f"cr-{number:03d}.dcm"
        path.write_bytes(file_bytes(dataset))
        made.append((path, dataset.SOPInstanceUID))
    return made


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--onnx", type=Path, default=default_onnx())
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.onnx is None or not args.onnx.exists():
        parser.error("no ONNX model: give --onnx (make model, or the tests' build/test-models)")
    work = Path(tempfile.mkdtemp(prefix="chexweb-bench-dicom-"))
    processes = []
    try:
        redis_port = free_port()
        processes.append(Process("redis", ["redis-server", "--port", str(redis_port), "--bind",
                                           "127.0.0.1", "--save", "", "--appendonly", "no"],
                                 env={}))
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        wait_until(lambda: redis.Redis.from_url(redis_url).ping(), timeout=20, what="redis")
        listen_port = free_port()
        (work / "orthanc").mkdir()
        orthanc = orthanc_start(work / "orthanc", chexweb_port=listen_port)
        processes.append(orthanc.process)
        graphpipe_listen = f"127.0.0.1:{free_port()}"
        model = Process("model", procfile_command("model"),
                        env={"CHEXNET_ONNX": str(args.onnx), "GRAPHPIPE_LISTEN": graphpipe_listen})
        processes.append(model)
        env = {
            "CHEXWEB_VAR_DIR": str(work / "var"), "DATABASE_URL": "", "REDIS_URL": redis_url,
            "GRAPHPIPE_URL": f"http://{graphpipe_listen}",
            "CHEXWEB_DICOM_LISTEN": f"127.0.0.1:{listen_port}",
            "CHEXWEB_DICOM_PEERS": f"{orthanc.peer},STORESCU@127.0.0.1:104",
            "CHEXWEB_DICOM_SEND_TO": "ORTHANC", "CHEXWEB_LOG_LEVEL": "WARNING",
        }
        run_checked(["python", "manage.py", "migrate", "--noinput"], env=env)
        processes += [Process("worker", procfile_command("worker"), env=env),
                      Process("dicom", procfile_command("dicom"), env=env)]
        wait_until(lambda: subprocess.run(
            [ECHOSCU, "-aet", "STORESCU", "-aec", "CHEXWEB", "127.0.0.1", str(listen_port)],
            capture_output=True, timeout=30).returncode == 0, timeout=60, what="listener")
        wait_until(lambda: requests.get(f"http://{graphpipe_listen}/control/is_ready",
                                        timeout=2).ok, timeout=60, what="model server")
        made = images(work, args.images)
        load_before = os.getloadavg()
        started = time.time()
        sent = subprocess.run([STORESCU, "-aet", "STORESCU", "-aec", "CHEXWEB", "127.0.0.1",
                               str(listen_port), *[str(path) for path, _ in made]],
                              capture_output=True, text=True, timeout=900)
        storescu_s = time.time() - started
        database = work / "var" / "chexweb.sqlite3"

        def delivered() -> int:
            with sqlite3.connect(database, timeout=30) as db:
                return db.execute("SELECT COUNT(*) FROM diagnoses_dicomdelivery WHERE "
                                  "status != 'pending'").fetchone()[0]

        wait_until(lambda: delivered() >= len(made), timeout=1800, what="every SR in Orthanc")
        load_after = os.getloadavg()
        with sqlite3.connect(database, timeout=30) as db:
            rows = db.execute(
                "SELECT s.sop_instance_uid, s.status, s.created_at, d.status, d.delivered_at "
                "FROM diagnoses_study s JOIN diagnoses_dicomdelivery d ON d.study_id = s.id"
            ).fetchall()
        uids = {uid for _, uid in made}
        latencies = [
            (datetime.fromisoformat(delivered_at) - datetime.fromisoformat(created)).total_seconds()
            for uid, status, created, delivery, delivered_at in rows
            if uid in uids and delivery == "delivered"]
        last = max(datetime.fromisoformat(row[4]) for row in rows if row[4])
        srs = orthanc.post("/tools/find", json={"Level": "Instance",
                                                "Query": {"Modality": "SR"}}).json()
        result = {
            "images": len(made), "storescu_returncode": sent.returncode,
            "studies": len(rows), "done": sum(row[1] == "done" for row in rows),
            "delivered": len(latencies), "srs_in_orthanc": len(srs),
            "storescu_s": round(storescu_s, 2),
            "wall_s": round(last.timestamp() - started, 2),
            "accepted_to_sr_p50_s": round(percentile(latencies, 50), 2),
            "accepted_to_sr_p95_s": round(percentile(latencies, 95), 2),
            "accepted_to_sr_min_s": round(min(latencies), 2),
            "accepted_to_sr_max_s": round(max(latencies), 2),
            "median_s": round(statistics.median(latencies), 2),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in load_after],
            "cpus": os.cpu_count(), "python": platform.python_version(),
        }
        print(json.dumps(result, indent=2))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
    finally:
        for process in reversed(processes):
            process.stop()


if __name__ == "__main__":
    main()
