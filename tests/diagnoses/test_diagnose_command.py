"""`manage.py diagnose` on a database that was never migrated says what to run instead."""

import os
import subprocess
import sys

from tests.processes import REPO


def test_on_a_database_never_migrated_it_says_to_migrate(tmp_path):
    image = tmp_path / "xray.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    env = {key: value for key, value in os.environ.items()
           if key not in ("GRAPHPIPE_URL", "GRAPHPIPE_URLS")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}"
    result = subprocess.run([sys.executable, "manage.py", "diagnose", str(image)], cwd=REPO,
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode != 0
    assert "python manage.py migrate" in result.stderr and "make migrate" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
