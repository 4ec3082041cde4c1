"""Dockerfile.model installs only what the GraphPipe model server needs: the server is run here
and every distribution it imported, serving a request, must be one the image installs (or one
they depend on), none of them Django or torch."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
from packaging.requirements import Requirement

from inference.graphpipe.client import GraphPipeClient
from tests.processes import REPO, answers_http, free_port, wait_until

DOCKERFILE = (REPO / "Dockerfile.model").read_text()
REQUIREMENTS = {
    match[1].lower(): match[2]
    for match in re.finditer(r"^([A-Za-z0-9_.\-\[\]]+?)(?:\[.*\])?==(\S+)", (
        REPO / "requirements.txt").read_text(), re.MULTILINE)
}
REPORT_IMPORTS = """
import importlib.metadata, json, sys
at_start = set(sys.modules)  # the interpreter's own (site, .pth hooks)
from inference.server import http_server as server
try:
    server.main(sys.argv[1:])
finally:
    owners = importlib.metadata.packages_distributions()
    print(json.dumps(sorted({dist for module in set(sys.modules) - at_start
                             for dist in owners.get(module.partition(".")[0], [])})))
"""


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def image_packages() -> list[str]:
    found = re.search(r"grep -E '\^\(([^)]*)\)==' requirements\.txt", DOCKERFILE)
    assert found, "Dockerfile.model picks its packages from requirements.txt with grep -E"
    return found[1].split("|")


def with_dependencies(names: list[str]) -> set[str]:
    """The distributions and, transitively, what they require here (no extras)."""
    wanted, seen = [normalized(name) for name in names], set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(normalized(requirement.name))
    return seen


def test_the_image_installs_pinned_serving_packages_only():
    packages = image_packages()
    assert {"onnxruntime", "numpy", "honcho"} <= set(packages)
    for package in packages:
        assert package.lower() in REQUIREMENTS, f"{package} is not pinned in requirements.txt"
    closure = with_dependencies(packages)
    assert not {"django", "torch", "torchvision", "celery", "gunicorn"} & closure
    assert set(image_copies()) == {"inference/__init__.py", "inference/graphpipe", "inference/server"}
    assert not re.search(r"COPY (\.|diagnoses|chexweb)\b", DOCKERFILE)
    assert 'CMD ["honcho", "start", "-f", "Procfile", "model"]' in DOCKERFILE


def image_copies() -> list[str]:
    """The project paths Dockerfile.model copies into the image, apart from Procfile."""
    return [match[1] for match in re.finditer(r"^COPY (inference\S*) ", DOCKERFILE, re.MULTILINE)]


def image_tree(app: Path) -> Path:
    """What Dockerfile.model puts in /app, built in `app`."""
    for source in image_copies():
        target = app / source
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / source).is_dir():
            shutil.copytree(REPO / source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / source, target)
    return app


def test_the_server_imports_nothing_the_image_lacks(chexnet_onnx, tmp_path):
    listen = f"127.0.0.1:{free_port()}"
    app = image_tree(tmp_path)
    server = subprocess.Popen(
        [sys.executable, "-c", REPORT_IMPORTS, "--model", str(chexnet_onnx), "--listen", listen],
        cwd=app, env={"PYTHONPATH": str(app), "PATH": os.environ["PATH"]},
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_until(answers_http(f"http://{listen}/control/is_ready"), timeout=90,
                   what="GraphPipe server", process=server)
        with GraphPipeClient(f"http://{listen}") as client:
            shape = [1 if size < 0 else size for size in client.metadata().inputs[0].shape]
            client.infer(np.zeros(shape, dtype=np.float32))
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    imported = {normalized(name) for name in json.loads(output.splitlines()[-1])}
    assert "numpy" in imported and "onnxruntime" in imported
    assert imported <= with_dependencies(image_packages()), imported


def test_the_gpu_image_is_the_same_server_with_onnxruntime_gpu_pinned():
    gpu = (REPO / "Dockerfile.model.gpu").read_text()
    copies = [match[1] for match in re.finditer(r"^COPY (inference\S*) ", gpu, re.MULTILINE)]
    assert copies == image_copies()
    packages = re.search(r"grep -E '\^\(([^)]*)\)==' requirements\.txt", gpu)[1].split("|")
    assert set(packages) == set(image_packages()) - {"onnxruntime"}
    pins = [line for line in (REPO / "requirements-model-server-gpu.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert pins == ["onnxruntime-gpu[cuda,cudnn]==1.31.1"]
    assert "GP_DEVICE=cuda" in gpu
