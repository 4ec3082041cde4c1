"""The layer contracts of `.importlinter` hold, and a deliberate violation breaks them."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.processes import REPO

PACKAGES = ("inference", "diagnoses", "chexweb", "chexweb_cli")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(root)})


def copy_of_the_tree(destination: Path) -> Path:
    shutil.copy(REPO / ".importlinter", destination)
    for package in PACKAGES:
        shutil.copytree(REPO / package, destination / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "migrations"))
    return destination


def test_the_layers_hold():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_imaging_importing_torch_breaks_a_contract(tmp_path):
    tree = copy_of_the_tree(tmp_path)
    with open(tree / "inference" / "imaging" / "preprocessing.py", "a") as module:
        module.write("\nimport torch  # a deliberate violation\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "inference.imaging is not allowed to import torch" in result.stdout


def test_the_server_importing_the_model_breaks_a_contract(tmp_path):
    tree = copy_of_the_tree(tmp_path)
    with open(tree / "inference" / "server" / "runtime.py", "a") as module:
        module.write("\nfrom inference.model import network  # a deliberate violation\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "inference.server is not allowed to import inference.model" in result.stdout


def test_the_web_app_importing_torch_breaks_a_contract(tmp_path):
    tree = copy_of_the_tree(tmp_path)
    with open(tree / "diagnoses" / "services.py", "a") as module:
        module.write("\nimport torch  # a deliberate violation\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert "diagnoses is not allowed to import torch" in result.stdout
