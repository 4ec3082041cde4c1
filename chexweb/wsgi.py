"""The web server's entry point (`gunicorn chexweb.wsgi`).

Once Django and every view are loaded, those objects are moved out of the garbage collector's
sight (`gc.freeze()`): a full collection then scans only what requests made, instead of adding
60-80 ms to about one page in twenty (docs/benchmarks.md, Pages).
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chexweb.settings")
application = get_wsgi_application()


def startup_objects_freeze() -> None:
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 -- imports every view, form and serializer
    gc.freeze()


startup_objects_freeze()
