"""WSGI entry point (gunicorn newsdb.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsdb.settings")
application = get_wsgi_application()
