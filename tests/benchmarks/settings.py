"""Settings for the API benchmark: the project's, with DEBUG off and the bench URLs (the bare reference views).

The database and the secret key still come from the environment (``bench_api.py`` sets them).
"""

from newsdb.settings import *  # noqa: F403
from newsdb.settings import REST_FRAMEWORK

DEBUG = False
ROOT_URLCONF = "tests.benchmarks.urls"
# The benchmark measures the API, not its rate limits: many requests a second come from one address.
# Every rate the project sets, off (None): the ones added later too.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])}
