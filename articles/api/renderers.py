"""Response formats: JSON, the browsable API, and CSV for exports (``?format=csv``)."""

from rest_framework.renderers import JSONRenderer
from rest_framework_csv.renderers import PaginatedCSVRenderer


class CSVRenderer(PaginatedCSVRenderer):
    """A list page, or one record, as CSV; nested lists flatten to numbered columns (``participants.0.role``).

    Errors stay JSON whatever format was asked for, so a script never parses an error as data.
    """

    def render(self, data, media_type=None, renderer_context=None, writer_opts=None):
        renderer_context = renderer_context or {}
        response = renderer_context.get("response")
        if response is not None and response.status_code >= 400:
            response["Content-Type"] = "application/json"
            return JSONRenderer().render(data)
        if isinstance(data, dict) and self.results_field not in data:
            data = [data]
        return super().render(data, media_type, renderer_context, writer_opts)
