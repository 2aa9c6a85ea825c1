"""ReDoc without outside requests: drf-spectacular-sidecar's bundle, less the one address it would load.

The bundle's sidebar ends with "API docs by Redocly" and an ``<img>`` of Redocly's logo from their CDN, whatever
the options. This view serves the bundle with that image replaced by an empty inline SVG, so that the page loads
nothing from outside newsdb (no CDN is reachable where newsdb runs; the fonts are the browser's own, see
``newsdb/templates/drf_spectacular/redoc.html``).
"""

import functools

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse

BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
OUTSIDE_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E"


@functools.cache
def redoc_bundle_source() -> bytes:
    with open(finders.find(BUNDLE), "rb") as bundle:
        return bundle.read().replace(OUTSIDE_LOGO.encode(), EMPTY_SVG.encode())


def redoc_bundle(request: HttpRequest) -> HttpResponse:
    if request.method not in {"GET", "HEAD"}:
        response = JsonResponse({"detail": f'Method "{request.method[:20]}" not allowed.'}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    response = HttpResponse(redoc_bundle_source(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response
