"""WSGI entry point (gunicorn -c newsdb/gunicorn.conf.py, or gunicorn newsdb.wsgi)."""

import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsdb.settings")
try:
    application = get_wsgi_application()
except ImproperlyConfigured as exc:
    # The one line that says what to fix; the server then refuses to start (gunicorn: "Worker failed to boot").
    print(f"newsdb: configuration error: {exc}", file=sys.stderr, flush=True)
    raise
