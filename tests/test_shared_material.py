"""Without the shared material (../shared, or CHEXWEB_SHARED_DIR) a run skips the tests that need
it, saying what is missing; under CI=true the run fails at its start instead, naming it."""

import os
import subprocess
import sys

from tests.processes import REPO


def test_the_samples_are_found(sample_pngs):
    """The test the runs below ask for, with the shared folder pointing nowhere."""
    assert sample_pngs and all(path.is_file() for path in sample_pngs)


def run_without_shared(tmp_path, *, ci: str) -> tuple[int, str]:
    env = {**os.environ, "CHEXWEB_SHARED_DIR": str(tmp_path / "nowhere"), "CI": ci,
           "COLUMNS": "300"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs",
         "tests/test_shared_material.py::test_the_samples_are_found"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    return result.returncode, result.stdout + result.stderr


def test_a_run_without_it_skips_saying_what_is_missing(tmp_path):
    returncode, output = run_without_shared(tmp_path, ci="")
    assert returncode == 0, output
    assert "1 skipped" in output and "passed" not in output
    assert f"shared material not found: {tmp_path / 'nowhere' / 'samples'}" in output


def test_a_ci_run_without_it_fails_naming_what_is_missing(tmp_path):
    returncode, output = run_without_shared(tmp_path, ci="true")
    assert returncode != 0, output
    assert "CI=true and the shared material is missing" in output
    assert str(tmp_path / "nowhere" / "models" / "chexnet-standin.pth.tar") in output
    assert str(tmp_path / "nowhere" / "samples") in output
    assert "skipped" not in output and "passed" not in output
