"""The shared material the suite reads: the stand-in checkpoint and the sample images, in
../shared next to the checkout (or CHEXWEB_SHARED_DIR).

Without it, the tests that need it are skipped with a reason naming what is missing; under
CI=true the run fails at its start instead (tests/conftest.py), so a CI run cannot go green
having skipped every model and system test.
"""

import os
from pathlib import Path

import pytest

from tests.processes import REPO

SHARED = Path(os.environ.get("CHEXWEB_SHARED_DIR") or REPO.parent / "shared")
SAMPLES = SHARED / "samples"
STANDIN_CHECKPOINT = SHARED / "models" / "chexnet-standin.pth.tar"
SAMPLE_PNGS = sorted(SAMPLES.glob("*.png"))
SAMPLE_DICOMS = sorted(SAMPLES.glob("*.dcm"))


def in_ci() -> bool:
    """CI=true, as GitHub Actions, GitLab and .ci/run set it (and as the Makefile reads it)."""
    return os.environ.get("CI") == "true"


def shared_missing() -> list[Path]:
    """What the suite needs from the shared folder and does not find."""
    missing = [] if STANDIN_CHECKPOINT.is_file() else [STANDIN_CHECKPOINT]
    if not (SAMPLE_PNGS and SAMPLE_DICOMS):
        missing.append(SAMPLES)
    return missing


NEEDS_SAMPLES = pytest.mark.skipif(
    not (SAMPLE_PNGS and SAMPLE_DICOMS),
    reason=f"shared material not found: sample PNGs and DICOMs in {SAMPLES} (see tests/shared.py)")


def needs(*paths: Path) -> pytest.MarkDecorator:
    """Skips a test when any of `paths` (shared material) is missing, saying which."""
    missing = [str(path) for path in paths if not path.exists()]
    return pytest.mark.skipif(bool(missing), reason=f"shared material not found: "
                                                    f"{', '.join(missing)} (see tests/shared.py)")


def skip_without(path: Path) -> None:
    """Skips the test (or, called at a module's top, the module) when `path` (shared material) is
    missing, saying which."""
    if not path.exists():
        pytest.skip(f"shared material not found: {path} (see tests/shared.py)",
                    allow_module_level=True)
