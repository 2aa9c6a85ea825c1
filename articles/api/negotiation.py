"""Request formats, set once in REST_FRAMEWORK: a bad ``?format=`` is a 400 naming it, and no JSON body,
however deeply nested, can crash the parser."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation; an unknown ``format`` is a 400 listing the known ones (DRF answers 404)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        # DRF reads an empty ``format=`` as no format at all; it names no format, so it is refused like any other.
        if request.query_params.get(self.settings.URL_FORMAT_OVERRIDE) == "":
            known = ", ".join(renderer.format for renderer in renderers)
            raise ValidationError({"format": [f"Empty format; use one of: {known}."]})
        return super().select_renderer(request, renderers, format_suffix)

    def filter_renderers(self, renderers, format):
        matching = [renderer for renderer in renderers if renderer.format == format]
        if not matching:
            known = ", ".join(renderer.format for renderer in renderers)
            raise ValidationError({"format": [f"Unknown format {format[:40]!r}; use one of: {known}."]})
        return matching


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; a body nested too deeply for Python's parser is a 400, not a crash."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
