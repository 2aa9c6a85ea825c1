"""``/api/reconcile/``: the Reconciliation API (W3C Entity Reconciliation Community Group, version 0.2), for
OpenRefine and any other client of it. The matching itself is in ``articles.reconcile``.

- ``GET`` without ``queries``: the service manifest.
- ``GET ?queries={...}`` or ``POST`` with the form field ``queries`` (as OpenRefine sends it) or a JSON body
  (``{"queries": {...}}`` or the batch itself): the candidates for each query.
- ``callback`` (GET only): JSONP, as OpenRefine asks for the manifest of a service on another host.

Reads only, open to anyone, and without the session's CSRF check (nothing is written).
"""

import json
import re
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from articles.reconcile import MAX_LIMIT, MAX_QUERIES, MAX_QUERY_LENGTH, PROPERTIES, TYPES, ReconcileError, reconcile

from . import schema as api_schema
from .renderers import JSONRenderer, dumps

#: A JavaScript name or dotted path (``jQuery123_456``, ``cb.done``): nothing else is written before the JSON.
CALLBACK = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*")
CALLBACK_MAX_LENGTH = 200

MANIFEST_SCHEMA = {
    "type": "object",
    "description": "The service manifest (Reconciliation API 0.2).",
    "properties": {
        "versions": {"type": "array", "items": {"type": "string"}, "example": ["0.2"]},
        "name": {"type": "string"},
        "identifierSpace": {"type": "string", "format": "uri"},
        "schemaSpace": {"type": "string", "format": "uri"},
        "documentation": {"type": "string", "format": "uri"},
        "defaultTypes": {
            "type": "array",
            "items": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
        },
        "view": {"type": "object", "properties": {"url": {"type": "string"}}},
    },
    "required": ["versions", "name", "identifierSpace", "schemaSpace"],
}
CANDIDATE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "description": "companies/<slug> or people/<slug>: its path under /api/."},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "score": {"type": "number", "description": "0 to 100."},
        "match": {"type": "boolean", "description": "Whether this candidate is certainly the one meant."},
        "type": {
            "type": "array",
            "items": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
        },
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "value": {"oneOf": [{"type": "number"}, {"type": "boolean"}]}},
            },
        },
    },
    "required": ["id", "name", "score", "match", "type", "features"],
}
RESULTS_SCHEMA = {
    "type": "object",
    "description": "For each query's key, its candidates, best first.",
    "additionalProperties": {
        "type": "object",
        "properties": {"result": {"type": "array", "items": CANDIDATE_SCHEMA}},
        "required": ["result"],
    },
}
QUERIES_DESCRIPTION = (
    'A batch of queries as JSON: {"q0": {"query": "Bitmian", "type": "company", "limit": 3, "properties": '
    f'[{{"pid": "country", "v": "CN"}}]}}}}. Types: {", ".join(TYPES)} (both when left out). Properties: '
    + "; ".join(f"{t}: {', '.join(PROPERTIES[t])}" for t in TYPES)
    + f". At most {MAX_QUERIES} queries, and {MAX_LIMIT} candidates a query (a larger limit gives {MAX_LIMIT})."
)
_VALUE = {
    "oneOf": [
        {"type": "string"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
    ]
}


def _one_type(name: str) -> dict:
    return {
        "oneOf": [
            {"type": "string", "enum": [name]},
            {"type": "array", "items": {"type": "string", "enum": [name]}, "minItems": 1},
        ]
    }


def _properties_of(pids) -> dict:
    return {"type": "array", "items": {"properties": {"pid": {"enum": sorted(pids)}}}}


#: Both types: the type left out, empty, or both named.
_ANY_TYPE = {
    "oneOf": [
        {"type": "string", "enum": [""]},
        {"type": "array", "maxItems": 0},
        {
            "type": "array",
            "items": {"type": "string", "enum": list(TYPES)},
            "minItems": 2,
            "maxItems": 2,
            "uniqueItems": True,
        },
    ]
}
#: One query, as ``articles.reconcile.queries_parse`` accepts it: it names something (a query with a character
#: other than a space, or a property), and gives only its type's properties.
QUERY_SCHEMA = {
    "type": "object",
    "properties": {
        "query": {"type": "string", "maxLength": MAX_QUERY_LENGTH},
        "type": {"anyOf": [_ANY_TYPE, *(_one_type(t) for t in TYPES)]},
        "limit": {"type": "integer", "minimum": 1, "description": f"At most {MAX_LIMIT} candidates are given."},
        "type_strict": {"type": "string", "enum": ["any", "should", "all"]},
        "properties": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "pid": {"type": "string", "enum": sorted({pid for t in TYPES for pid in PROPERTIES[t]})},
                    "v": {"oneOf": [_VALUE, {"type": "array", "items": _VALUE, "minItems": 1}]},
                },
                "required": ["pid", "v"],
            },
        },
    },
    "additionalProperties": False,
    "allOf": [
        {
            "anyOf": [
                {"required": ["query"], "properties": {"query": {"pattern": "\\S"}}},
                {"required": ["properties"], "properties": {"properties": {"minItems": 1}}},
            ]
        },
        {
            "anyOf": [
                {"properties": {"type": _ANY_TYPE}},
                *(
                    {
                        "required": ["type"],
                        "properties": {"type": _one_type(t), "properties": _properties_of(PROPERTIES[t])},
                    }
                    for t in TYPES
                ),
            ]
        },
    ],
}
BATCH_SCHEMA = {
    "type": "object",
    "description": QUERIES_DESCRIPTION,
    "minProperties": 1,
    "maxProperties": MAX_QUERIES,
    "additionalProperties": QUERY_SCHEMA,
}
QUERIES_EXAMPLE = {"q0": {"query": "Bitmian", "type": "company", "limit": 3}, "q1": {"query": "Wu Jihan"}}


class ReconcileSchema(api_schema.AutoSchema):
    """The batch of queries is JSON in a query parameter or a form field, which OpenAPI says with the parameter's
    ``content`` and the form's ``encoding`` (drf-spectacular writes neither)."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return operation
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "queries":
                del parameter["schema"]
                parameter["content"] = {"application/json": {"schema": BATCH_SCHEMA}}
        body = operation.get("requestBody")
        if body is not None:
            body["required"] = True
            body["content"]["application/x-www-form-urlencoded"]["encoding"] = {
                "queries": {"contentType": "application/json"}
            }
        return operation


class ReconcileView(APIView):
    """Reconciliation (OpenRefine, W3C Reconciliation API 0.2): which newsdb companies and people a list of
    names stands for. Without `queries`, the service manifest; with them, scored candidates for each name,
    garbled spellings included."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    renderer_classes = (JSONRenderer, BrowsableAPIRenderer)
    schema = ReconcileSchema()

    @extend_schema(
        operation_id="reconcile",
        summary="The service manifest, or candidates for a batch of queries",
        parameters=[
            # Its schema, the batch, is given as the parameter's JSON content by ReconcileSchema.
            OpenApiParameter("queries", OpenApiTypes.STR, description=QUERIES_DESCRIPTION),
            OpenApiParameter(
                "callback",
                {"type": "string", "pattern": f"^{CALLBACK.pattern}$", "maxLength": CALLBACK_MAX_LENGTH},
                description="JSONP: the answer wrapped in a call to this function (a JavaScript name or dotted path).",
            ),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                {"oneOf": [MANIFEST_SCHEMA, RESULTS_SCHEMA]},
                description="Without queries, the manifest; with them, the candidates for each.",
            ),
            (200, "application/javascript"): OpenApiResponse(
                {"type": "string", "example": '/**/cb({"versions": ["0.2"], ...});'},
                description="With callback (JSONP): the same answer as a call to the callback.",
            ),
            (400, "application/json"): api_schema.BAD_REQUEST,
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        self._check_parameters(request, {"queries", "callback", "format"})
        callback = request.query_params.get("callback")
        if callback is not None and (len(callback) > CALLBACK_MAX_LENGTH or not CALLBACK.fullmatch(callback)):
            raise ValidationError({"callback": ["A JavaScript function name, such as jsonp123 or cb.done."]})
        if "queries" in request.query_params:
            data = self._reconcile(_parse_json(request.query_params["queries"]))
        else:
            data = self.manifest(request)
        if callback:
            return HttpResponse(
                b"/**/" + callback.encode() + b"(" + dumps(data) + b");",
                content_type="application/javascript; charset=utf-8",
            )
        return Response(data)

    @extend_schema(
        operation_id="reconcile_batch",
        summary="Candidates for a batch of queries",
        request={
            # As OpenRefine sends it: the batch as JSON in a form field (ReconcileSchema adds its encoding).
            "application/x-www-form-urlencoded": {
                "type": "object",
                "properties": {"queries": {"type": "string", "description": QUERIES_DESCRIPTION}},
                "required": ["queries"],
            },
            "application/json": {
                "type": "object",
                "description": '{"queries": {...}}; the batch itself is accepted too. ' + QUERIES_DESCRIPTION,
                "properties": {"queries": BATCH_SCHEMA},
                "required": ["queries"],
                "example": {"queries": QUERIES_EXAMPLE},
            },
        },
        responses={200: OpenApiResponse(RESULTS_SCHEMA), 400: api_schema.BAD_REQUEST},
        examples=[OpenApiExample("A batch", value={"queries": QUERIES_EXAMPLE}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        self._check_parameters(request, {"format"})
        data = request.data
        if hasattr(data, "getlist"):  # a form
            if "queries" not in data:
                raise ValidationError({"queries": ["Required: the batch of queries as JSON."]})
            batch = _parse_json(data["queries"])
        elif isinstance(data, dict) and "queries" in data:
            batch = data["queries"]
            batch = _parse_json(batch) if isinstance(batch, str) else batch
        else:
            batch = data
        return Response(self._reconcile(batch))

    @staticmethod
    def _reconcile(batch: Any) -> dict:
        try:
            return reconcile(batch)
        except ReconcileError as exc:
            raise ValidationError({"queries": exc.problems}) from None

    @staticmethod
    def _check_parameters(request: Request, accepted: set[str]) -> None:
        unknown = [name for name in request.query_params if name not in accepted]
        if unknown:
            listing = ", ".join(sorted(accepted))
            raise ValidationError({name[:100]: [f"Unknown query parameter; accepted: {listing}."] for name in unknown})

    @staticmethod
    def manifest(request: Request) -> dict:
        api = request.build_absolute_uri(reverse("api-root"))
        return {
            "versions": ["0.2"],
            "name": "newsdb: companies and people in the crypto-mining hardware news",
            "identifierSpace": api,
            "schemaSpace": request.build_absolute_uri(reverse("api-schema")),
            "documentation": request.build_absolute_uri(reverse("api-docs")),
            "defaultTypes": [{"id": type_id, "name": name} for type_id, name in TYPES.items()],
            "view": {"url": api + "{{id}}/"},
        }


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValidationError({"queries": [f"Not valid JSON: {str(exc)[:200]}."]}) from None
