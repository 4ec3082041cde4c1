"""The published CheXNet weights: fetch them at the user's request and verify them by git blob id.

The arnoweng/CheXNet repository carries no license, so the project never ships the weights; a user
with internet fetches them with `python -m inference.model.weights fetch DEST`. No torch here.
"""

import argparse
import hashlib
import os
import sys
from pathlib import Path

from inference.model.download import download_checked

PUBLISHED_URL = "https://github.com/arnoweng/CheXNet/raw/master/model.pth.tar"
PUBLISHED_GIT_BLOB_ID = "14922ae7de18767793f6ac85cf51df950327d96c"


class WeightsMismatch(ValueError):
    """A downloaded file is not the published checkpoint."""


def git_blob_id(path: str | Path) -> str:
    """What `git hash-object PATH` prints: sha1 of b"blob <size>\\0" + content."""
    with open(path, "rb") as file:
        header = b"blob %d\0" % os.fstat(file.fileno()).st_size
        return hashlib.file_digest(file, lambda: hashlib.sha1(header)).hexdigest()


def fetch_published_weights(
    dest_path: str | Path,
    url: str = PUBLISHED_URL,
    *,
    expected_git_blob_id: str = PUBLISHED_GIT_BLOB_ID,
    timeout_s: float = 60.0,
) -> Path:
    """Download to a temp file beside DEST, verify the git blob id, then rename into place.

    A file that does not match is deleted and refused with WeightsMismatch; DEST is never left
    holding unverified bytes.
    """

    def check(downloaded: Path) -> None:
        blob_id = git_blob_id(downloaded)
        if blob_id != expected_git_blob_id:
            raise WeightsMismatch(
                f"{url} is not the published CheXNet checkpoint: git blob id {blob_id}, "
                f"expected {expected_git_blob_id}; the download was deleted"
            )

    return download_checked(url, Path(dest_path), check, timeout_s=timeout_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inference.model.weights")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="download and verify the published CheXNet weights")
    fetch.add_argument("dest", type=Path)
    fetch.add_argument("--url", default=PUBLISHED_URL)
    args = parser.parse_args(argv)
    try:
        path = fetch_published_weights(args.dest, args.url)
    except (WeightsMismatch, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    with open(path, "rb") as file:
        sha256 = hashlib.file_digest(file, "sha256").hexdigest()
    print(f"{path}: verified (git blob id {PUBLISHED_GIT_BLOB_ID}, sha256 {sha256})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
