"""Which checkpoint this is, before anything is loaded: the published CheXNet weights (by their
git blob id), the project's known stand-in (by its sha256), or an unverified file that is
refused unless the caller accepts it. A URL is downloaded and refused, and deleted, on the same
terms before it takes its final name. No torch here.
"""

import hashlib
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from inference.model.download import download_checked
from inference.model.weights import PUBLISHED_GIT_BLOB_ID, git_blob_id

MODEL_NAME = "CheXNet DenseNet-121"
STANDIN_MODEL_NAME = "CheXNet DenseNet-121 (stand-in, random weights)"
UNVERIFIED_MODEL_NAME = "CheXNet DenseNet-121 (unverified weights)"
STANDIN_SHA256 = "25e14114670aa996cd674c7f12351dc8dab87f7b166371856c58e93155a4fa43"
DOWNLOAD_DIR = Path("models")
DOWNLOAD_TIMEOUT_S = 60.0
URL_SCHEMES = ("http://", "https://", "file://")


class UnverifiedCheckpoint(ValueError):
    """Neither the published CheXNet checkpoint nor the known stand-in, and not accepted as such."""


@dataclass(frozen=True)
class CheckpointProvenance:
    sha256: str
    git_blob_id: str
    verified: bool  # the published CheXNet weights
    model_name: str


def checkpoint_provenance(path: Path, *, accept_unverified: bool = False) -> CheckpointProvenance:
    """What PATH is, from its hashes; raises UnverifiedCheckpoint for an unknown file unless
    ACCEPT_UNVERIFIED."""
    with open(path, "rb") as file:
        sha256 = hashlib.file_digest(file, "sha256").hexdigest()
    blob_id = git_blob_id(path)
    if blob_id == PUBLISHED_GIT_BLOB_ID:
        return CheckpointProvenance(sha256, blob_id, True, MODEL_NAME)
    if sha256 == STANDIN_SHA256:
        return CheckpointProvenance(sha256, blob_id, False, STANDIN_MODEL_NAME)
    if accept_unverified:
        return CheckpointProvenance(sha256, blob_id, False, UNVERIFIED_MODEL_NAME)
    raise UnverifiedCheckpoint(
        f"not the published CheXNet checkpoint: git blob id {blob_id}, expected "
        f"{PUBLISHED_GIT_BLOB_ID} (nor the known stand-in); pass --accept-unverified to export "
        "it anyway, marked weights_verified=false"
    )


def local_checkpoint(
    source: str, download_dir: Path = DOWNLOAD_DIR, *, accept_unverified: bool = False
) -> Path:
    """SOURCE as a path, or for a URL its download in DOWNLOAD_DIR, reused if already known-good."""
    if not source.startswith(URL_SCHEMES):
        return Path(source)
    name = Path(urllib.parse.urlparse(source).path).name or "checkpoint.pth.tar"
    dest = download_dir / name
    if dest.exists():
        try:
            checkpoint_provenance(dest)
            return dest
        except UnverifiedCheckpoint:
            pass  # not a cached known checkpoint: fetch again
    _download(source, dest, accept_unverified=accept_unverified)
    return dest


def _download(url: str, dest: Path, *, accept_unverified: bool) -> None:
    """DEST never holds refused bytes (download_checked)."""

    def check(downloaded: Path) -> None:
        try:
            checkpoint_provenance(downloaded, accept_unverified=accept_unverified)
        except UnverifiedCheckpoint as error:
            raise UnverifiedCheckpoint(f"{error}; the download was deleted") from None

    download_checked(url, dest, check, timeout_s=DOWNLOAD_TIMEOUT_S)
