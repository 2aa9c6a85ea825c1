"""Response formats: JSON (orjson), the browsable API, CSV and JSON Lines.

A list asked for as CSV or JSON Lines is an export: ``RecordViewSet.list`` streams every row of the filtered list
with the resource's fixed columns (see ``rows``). The renderers here serve the other responses in those formats:
one record, a history, and errors, which stay JSON whatever format was asked for, so a script never parses an
error as data.
"""

import orjson
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer
from rest_framework_csv.renderers import PaginatedCSVRenderer


def _default(value):
    # What orjson does not know: Decimal, lazy translation strings, DRF's ReturnDict/ReturnList subclasses.
    if isinstance(value, (dict, list)):
        return dict(value) if isinstance(value, dict) else list(value)
    return str(value)


def dumps(data) -> bytes:
    """Compact UTF-8 JSON, as DRF writes it (U+2028 and U+2029 escaped so the output is safe inside a script)."""
    text = orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)
    if b"\xe2\x80\xa8" in text or b"\xe2\x80\xa9" in text:
        text = text.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return text


class JSONRenderer(DRFJSONRenderer):
    """DRF's JSON renderer on orjson (several times faster on a list page); an ``indent`` asked for in the Accept
    header, as the browsable API does, goes through DRF's own."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        return dumps(data)


def error_as_json(data, renderer_context) -> bytes | None:
    """An error response's body as JSON (with the JSON content type), whatever format was asked for."""
    response = (renderer_context or {}).get("response")
    if response is not None and response.status_code >= 400:
        response["Content-Type"] = "application/json"
        return dumps(data)
    return None


class CSVRenderer(PaginatedCSVRenderer):
    """One record (or a history) as CSV; nested lists flatten to numbered columns (``participants.0.role``).
    Lists are exported by the view with fixed columns."""

    def render(self, data, media_type=None, renderer_context=None, writer_opts=None):
        error = error_as_json(data, renderer_context)
        if error is not None:
            return error
        if isinstance(data, dict) and self.results_field not in data:
            data = [data]
        rendered = super().render(data, media_type, renderer_context, writer_opts)
        if not rendered:
            # Nothing to list: the header row alone (an empty body would go out without a Content-Type).
            view = (renderer_context or {}).get("view")
            serializer = view.get_serializer() if view is not None and hasattr(view, "get_serializer") else None
            names = [name for name, field in serializer.fields.items() if not field.write_only] if serializer else []
            rendered = (",".join(names) + "\r\n").encode()
        return rendered


class JSONLinesRenderer(DRFJSONRenderer):
    """JSON Lines (``?format=jsonl``): one JSON object per line."""

    media_type = "application/jsonl"
    format = "jsonl"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        error = error_as_json(data, renderer_context)
        if error is not None:
            return error
        items = data if isinstance(data, list) else [data]
        return b"".join(dumps(item) + b"\n" for item in items)
