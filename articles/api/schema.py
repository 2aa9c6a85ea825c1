"""OpenAPI documentation details that every operation shares: error responses, ETag and If-Match headers."""

from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

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
    FIELD_ERRORS_SCHEMA,
    description="Invalid input: an unknown or malformed query parameter (the body lists the accepted ones), "
    "or an invalid field in the body. Keys name the offending parameter or field.",
)
UNAUTHORIZED = OpenApiResponse(DETAIL_SCHEMA, description="Not authenticated: send `Authorization: Token <key>`.")
FORBIDDEN = OpenApiResponse(DETAIL_SCHEMA, description="Authenticated, but without the model permission.")
NOT_FOUND = OpenApiResponse(DETAIL_SCHEMA, description="No such record.")
CONFLICT = OpenApiResponse(DETAIL_SCHEMA, description="Other records still refer to this one.")
PRECONDITION_FAILED = OpenApiResponse(
    DETAIL_SCHEMA, description="The record changed since the ETag given in `If-Match`: reload it and retry."
)

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
