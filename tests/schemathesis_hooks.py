"""schemathesis hooks for tests/test_schemathesis.py (``SCHEMATHESIS_HOOKS=tests.schemathesis_hooks``).

Two rules of the list endpoints are documented (400 answers that name the parameter) but cannot be written in
OpenAPI 3.0, so positive (schema-valid) requests are made to follow them: a cursor comes from a page's own ``next``
or ``previous`` link, and the first page's is the empty one (a made-up cursor is a 400), and a cursor walk takes no
``offset`` (both together are a 400). Negative requests are sent as generated.

The reconciliation form (``POST /api/reconcile/`` as OpenRefine sends it) carries the batch of queries as JSON in
its ``queries`` field, which the schema says with the form's ``encoding``; schemathesis generates such a field as
any string, so a positive case sends the generated text as the query of a one-query batch. The same batch in a query
parameter or a JSON body is generated from its schema.
"""

import json
from urllib.parse import urlencode

import schemathesis

#: newsdb's NEWSDB_MAX_URL_LENGTH, as the server under test is configured (its default).
MAX_URL_LENGTH = 8000


@schemathesis.hook
def filter_case(context, case):
    """A request whose URL is over the server's documented limit is answered 414 (documented for every operation)
    before anything reads it, whether its parameters are valid or not: such cases are not sent. (Only the
    reconciliation batch, JSON in one query parameter, grows that long.)"""
    if not case.query:
        return True
    query = {name: json.dumps(v) if isinstance(v, dict) else v for name, v in case.query.items()}  # JSON content
    # A margin for what is measured differently here (the host is not part of the limit; escapes may be).
    return len(case.formatted_path) + 1 + len(urlencode(query, doseq=True)) <= MAX_URL_LENGTH - 500


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if case.query and "cursor" in case.query and meta is not None and meta.generation.mode.is_positive:
        case.query["cursor"] = ""
        case.query.pop("offset", None)
    if (
        case.operation.method.upper() == "POST"
        and case.operation.path == "/api/reconcile/"
        and case.media_type == "application/x-www-form-urlencoded"
        and isinstance(case.body, dict)
        and isinstance(case.body.get("queries"), str)
        and meta is not None
        and meta.generation.mode.is_positive
    ):
        text = case.body["queries"][:500]
        case.body["queries"] = json.dumps({"q0": {"query": text if text.strip() else "Bitmain"}})
    return case
