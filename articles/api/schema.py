"""OpenAPI documentation details that every operation shares: error responses, ETag and If-Match headers."""

from django.contrib.auth import get_user_model
from django.db import DatabaseError
from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from articles.countries import ISO_COUNTRY_CODES

from .attribution import sees_usernames
from .filters import (
    INT64_MAX,
    INT64_MIN,
    CountryFilter,
    MultiValueDecimalFilter,
    MultiValueIntegerFilter,
    RangeOverlapFilter,
    RelatedFilter,
)

DETAIL_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": "Messages keyed by the parameter or field they concern (`non_field_errors` or `detail` "
    "for the request as a whole).",
    "additionalProperties": {"type": "array", "items": {}},
    "example": {"value__gte": ["'abc': Enter a number."]},
}

BAD_REQUEST = OpenApiResponse(
    {"anyOf": [FIELD_ERRORS_SCHEMA, DETAIL_SCHEMA]},
    description="Invalid input: an unknown or malformed query parameter (the body lists the accepted ones), "
    "or an invalid field in the body; keys name the offending parameter or field. A body that cannot be read "
    'at all (not JSON, not UTF-8) is `{"detail": "JSON parse error - ..."}`.',
)
UNAUTHORIZED = OpenApiResponse(DETAIL_SCHEMA, description="Not authenticated: send `Authorization: Token <key>`.")
FORBIDDEN = OpenApiResponse(DETAIL_SCHEMA, description="Authenticated, but without the model permission.")
NOT_FOUND = OpenApiResponse(DETAIL_SCHEMA, description="No such record.")
CONFLICT = OpenApiResponse(DETAIL_SCHEMA, description="Other records still refer to this one.")
PRECONDITION_FAILED = OpenApiResponse(
    DETAIL_SCHEMA, description="The record changed since the ETag given in `If-Match`: reload it and retry."
)

#: What any operation may answer before (or instead of) its view: newsdb.middleware.RequestLimitsMiddleware refuses a
#: request over the limits, newsdb.overload a request that waited too long or a database that did not answer.
REQUEST_LIMITS = {
    "413": "The request body is over DATA_UPLOAD_MAX_MEMORY_SIZE bytes (2.5 MB by default).",
    "414": "The URL (path and query string) is over NEWSDB_MAX_URL_LENGTH characters (8,000 by default): a long "
    "batch goes in a POST body.",
    "503": "newsdb is overloaded (the request waited too long for a worker) or the database did not answer in time: "
    "try again after `Retry-After` seconds.",
}

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The ETag of the copy you edited (e.g. `"3"`); if the record changed since, the answer is 412.',
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=["200", "201"],
    description='The record\'s version, e.g. `"3"`; send it back in `If-Match` to update safely.',
)


#: Text without a NUL character.
NO_NUL = "^[^\\u0000]*$"


def number_pattern(filter_: MultiValueDecimalFilter | RangeOverlapFilter) -> str:
    """A number the column can hold, its digits before and after the point (unanchored)."""
    places = filter_.extra.get("decimal_places") or 0
    whole = (filter_.extra.get("max_digits") or 30) - places
    return f"-?[0-9]{{1,{whole}}}" + (f"(\\.[0-9]{{1,{places}}})?" if places else "")


def decimal_pattern(filter_: MultiValueDecimalFilter) -> str:
    return f"^{number_pattern(filter_)}$"


def interval_pattern(filter_: RangeOverlapFilter) -> str:
    """``N``, ``MIN,MAX``, ``MIN,`` or ``,MAX``."""
    number = number_pattern(filter_)
    return f"^({number}|{number},({number})?|,{number})$"


#: A related table with more rows than this is not listed in the schema's enums.
ACCEPTED_VALUES_LISTED = 1000


def accepted_values(filter_: RelatedFilter, request) -> list[str] | None:
    """The values a related-record filter accepts, as strings (query parameters are text), or None when there are
    too many to list."""
    field = filter_.extra.get("to_field_name") or "pk"
    if field == get_user_model().USERNAME_FIELD and not sees_usernames(request):
        values: list[str] = []  # anyone else may only ask for null (see FigureFilterSet.is_valid)
    else:
        try:
            rows = list(filter_.queryset.order_by(field).values_list(field, flat=True)[: ACCEPTED_VALUES_LISTED + 1])
        except DatabaseError:  # no database at hand (`check --deploy` on a build machine): described, not listed
            return None
        if len(rows) > ACCEPTED_VALUES_LISTED:
            return None
        values = [str(value) for value in rows]
    if filter_.extra.get("null_label") is not None:
        values.append(filter_.null_value)
    return values or None


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema, adding the 400/401/403/404/409/412 responses and the ETag headers."""

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        action = getattr(self.view, "action", None)
        if action in {"update", "partial_update", "destroy"}:
            parameters.append(IF_MATCH)
        if action in {"retrieve", "create", "update", "partial_update"}:
            parameters.append(ETAG)
        return parameters

    def _get_filter_parameters(self):
        """Filters that name a related record list the values they accept (``enum``): the current slugs, ids or
        usernames, and ``null`` where it applies. A table with more than ``ACCEPTED_VALUES_LISTED`` rows is
        described, not listed. ``reviewed_by`` lists usernames only for a logged-in reader of the schema."""
        parameters = super()._get_filter_parameters()
        filterset_class = getattr(self.view, "filterset_class", None)
        if filterset_class is None:
            return parameters
        request = getattr(self.view, "request", None)
        for parameter in parameters:
            schema = parameter["schema"]
            items = schema["items"] if schema.get("type") == "array" else schema
            # A query parameter is text: never null (``null`` is a value of the filters that take it, listed below).
            schema.pop("nullable", None)
            items.pop("nullable", None)
            filter_ = filterset_class.base_filters.get(parameter["name"])
            values = accepted_values(filter_, request) if isinstance(filter_, RelatedFilter) else None
            if values is not None:
                items.clear()
                items.update({"type": "string", "enum": values})
            elif isinstance(filter_, MultiValueIntegerFilter):
                items.update({"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX})
            elif isinstance(filter_, MultiValueDecimalFilter):
                items.clear()
                items.update({"type": "string", "pattern": decimal_pattern(filter_)})
            elif isinstance(filter_, RangeOverlapFilter):
                items.clear()
                items.update({"type": "string", "pattern": interval_pattern(filter_)})
            elif isinstance(filter_, CountryFilter):  # a code in any case
                items.clear()
                codes = sorted(ISO_COUNTRY_CODES)
                items.update({"type": "string", "enum": codes + [code.lower() for code in codes]})
            elif items.get("type") == "string" and "enum" not in items and "format" not in items:
                items["pattern"] = NO_NUL  # PostgreSQL can neither store nor compare one: a 400
        return parameters

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return operation
        codes = ["414", "503"] if self.method in {"GET", "HEAD", "DELETE"} else ["413", "414", "503"]
        for code in codes:
            response = {"description": REQUEST_LIMITS[code], "content": {"application/json": {"schema": DETAIL_SCHEMA}}}
            if code == "503":
                response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}}
            operation["responses"].setdefault(code, response)
        return operation

    def get_auth(self):
        auth = super().get_auth()
        if self.method in {"GET", "HEAD", "OPTIONS"} and {} not in auth:
            auth.append({})  # reads are open to anyone
        return auth

    def get_response_serializers(self):
        serializer = super().get_response_serializers()
        if isinstance(serializer, dict):
            return serializer
        if self.method == "DELETE":
            responses = {"204": None}
        else:
            responses = {"201" if self._is_create_operation() else "200": serializer}
        responses["400"] = BAD_REQUEST
        if self.method not in {"GET", "HEAD", "OPTIONS"}:
            responses.update({"401": UNAUTHORIZED, "403": FORBIDDEN})
        if "{" in self.path:
            responses["404"] = NOT_FOUND
        if getattr(self.view, "action", None) == "destroy":
            responses["409"] = CONFLICT
        if getattr(self.view, "action", None) in {"update", "partial_update", "destroy"}:
            responses["412"] = PRECONDITION_FAILED
        return responses
