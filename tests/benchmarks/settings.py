"""Settings for the API benchmark: the project's, with DEBUG off and the bench URLs (the bare reference views).

The database and the secret key still come from the environment (``bench_api.py`` sets them).
"""

from newsdb.settings import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "tests.benchmarks.urls"
