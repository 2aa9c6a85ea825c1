"""The test suite's settings (pyproject.toml): the project's, with a secret key of the suite's own and no rate
limits, so that the suite's thousands of requests from one address are never throttled; the throttling tests set
their own rates.

The key goes into the environment, so that the servers and commands the tests start in subprocesses get it too.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "newsdb-test-suite-only-" + "k3y" * 16)

from newsdb.settings import *  # noqa: E402, F403
from newsdb.settings import REST_FRAMEWORK  # noqa: E402

# Every rate the project sets, off (None): the ones added later too.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": dict.fromkeys(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])}
