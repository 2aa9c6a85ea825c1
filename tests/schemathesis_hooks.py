"""schemathesis hooks for tests/test_schemathesis.py (``SCHEMATHESIS_HOOKS=tests.schemathesis_hooks``).

Two rules of the list endpoints are documented (400 answers that name the parameter) but cannot be written in
OpenAPI 3.0, so positive (schema-valid) requests are made to follow them: a cursor comes from a page's own ``next``
or ``previous`` link, and the first page's is the empty one (a made-up cursor is a 400), and a cursor walk takes no
``offset`` (both together are a 400). Negative requests are sent as generated.
"""

import schemathesis


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if case.query and "cursor" in case.query and meta is not None and meta.generation.mode.is_positive:
        case.query["cursor"] = ""
        case.query.pop("offset", None)
    return case
