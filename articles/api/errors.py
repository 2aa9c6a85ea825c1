"""Every API error as JSON: DRF's own errors, plus the domain's and Django's that DRF does not know.

- a model ``ValidationError`` (from a write service) is a 400 keyed by field;
- ``StaleWriteError`` (someone saved the record since the client loaded it) is a 412;
- a delete refused because other records still point at the row is a 409 that says which;
- a database that timed out (``DATABASE_STATEMENT_TIMEOUT_MS``) or cannot be reached is a 503 with ``Retry-After``;
- a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413;
- a 429 past the limit of the expensive requests names that limit;
- anything unexpected is logged with its traceback and answered with a JSON 500.

Django's own error pages (``handler400``, ``handler404``, ``handler500`` in ``newsdb/urls.py``) are JSON under
/api/ too: a disallowed ``Host`` is a JSON 400 there.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, DisallowedHost, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signals import got_request_exception
from django.db import IntegrityError, OperationalError
from django.db.models import ProtectedError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from articles.services.base import StaleWriteError
from newsdb import overload

logger = logging.getLogger(__name__)


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The record changed since you loaded it; reload it and apply your change again."
    default_code = "precondition_failed"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable or busy; try again later."
    default_code = "database_unavailable"

    @property
    def wait(self) -> int:  # DRF sends it as Retry-After
        return overload.retry_after()


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the data."
    default_code = "conflict"


def validation_error_detail(exc: DjangoValidationError) -> dict[str, Any]:
    """A Django ValidationError as DRF's ``{field: [messages]}``, with ``__all__`` renamed to DRF's key."""
    detail = as_serializer_error(exc)
    if NON_FIELD_ERRORS in detail:
        detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
    return detail


def _protected_detail(exc: ProtectedError) -> str:
    counts: dict[str, int] = {}
    for obj in exc.protected_objects:
        name = str(obj._meta.verbose_name_plural)
        counts[name] = counts.get(name, 0) + 1
    listing = ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
    return f"It cannot be deleted while other records refer to it ({listing}); reassign or delete those first."


def exception_handler(exc: Exception, context: dict) -> Response:
    """REST_FRAMEWORK's EXCEPTION_HANDLER: translate, then let DRF render; a JSON 500 for the unexpected."""
    if isinstance(exc, StaleWriteError):
        exc = PreconditionFailed(str(exc))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_error_detail(exc))
    elif isinstance(exc, ProtectedError):
        exc = Conflict(_protected_detail(exc))
    elif isinstance(exc, IntegrityError):
        exc = Conflict("The change conflicts with another record (a duplicate or a missing reference).")
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(
            f"The request body is larger than the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(f"Malformed request: {exc}")
    elif isinstance(exc, OperationalError):
        # The database timed out (statement_timeout) or cannot be reached: it passes, so 503 with Retry-After.
        logger.warning("Database error in the API: %s", exc)
        exc = DatabaseUnavailable(overload.database_error_detail(exc))
    elif isinstance(exc, exceptions.Throttled) and getattr(context.get("request"), "throttled_because", None):
        exc = exceptions.Throttled(exc.wait, context["request"].throttled_because)  # which limit (throttling.py)
    response = drf_exception_handler(exc, context)
    if response is not None:
        return response
    set_rollback()
    request = context.get("request")
    logger.error(
        "Unhandled error in the API: %s",
        context.get("view").__class__.__name__,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    # Lets Django's test client re-raise it, as it would for any view.
    got_request_exception.send(sender=None, request=getattr(request, "_request", request))
    return Response({"detail": "Server error: this is a bug in newsdb."}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)


@csrf_exempt  # whatever the method: there is nothing here to protect, and the answer stays a JSON 404
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any path under /api/ that names no endpoint: a JSON 404 rather than Django's HTML page."""
    return JsonResponse({"detail": f"No API endpoint at {request.path}; see /api/ for the list."}, status=404)


def server_error(request: HttpRequest) -> Any:
    """Django's last resort (an error outside any API view, e.g. in middleware): JSON under /api/."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Internal server error."}, status=500)
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> Any:
    """Django's 400, for what it refuses before any view runs: a ``Host`` not in ALLOWED_HOSTS, a form body over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (a 413 here) or with too many fields. JSON under /api/."""
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = f"The request body is larger than the limit of {limit} bytes."
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": detail}, status=413)
        return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
    if not request.path.startswith("/api/"):
        return defaults.bad_request(request, exception)
    if isinstance(exception, DisallowedHost):
        detail = "Bad request: this server does not answer to the host name in the Host header."
    else:
        detail = "Bad request: the request is malformed."
    return JsonResponse({"detail": detail}, status=400)


def csrf_failure(request: HttpRequest, reason: str = "") -> Any:
    """``CSRF_FAILURE_VIEW``: a browser's write without its CSRF token is a JSON 403 under /api/."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": f"CSRF Failed: {reason}"}, status=403)
    return csrf.csrf_failure(request, reason)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> Any:
    """Django's 404: JSON under /api/ (as ``not_found``), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return not_found(request)
    return defaults.page_not_found(request, exception)
