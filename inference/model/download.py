"""A file fetched from a URL and checked before it takes its name: it is written to a temp file
beside the destination, checked, then renamed into place. A file the check refuses is deleted;
the destination never holds unchecked bytes. No torch here."""

import os
import shutil
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path


def download_checked(url: str, dest: Path, check: Callable[[Path], object], *,
                     timeout_s: float) -> Path:
    """Download URL to DEST if `check(path_of_the_download)` returns; whatever it (or the download)
    raises is raised after the download is deleted."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout_s) as response:
            shutil.copyfileobj(response, out, 1 << 20)
        check(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
