"""The web server's entry point leaves what it loaded at start out of full garbage collections."""

import subprocess
import sys

from tests.processes import REPO


def test_the_wsgi_module_freezes_what_django_and_the_views_loaded():
    script = ("import gc, sys; import chexweb.wsgi; "
              "print(gc.get_freeze_count(), 'diagnoses.web.history' in sys.modules)")
    frozen, views_loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "", "CHEXWEB_VAR_DIR": "/tmp"},
    ).stdout.split()
    assert int(frozen) > 50_000 and views_loaded == "True"
